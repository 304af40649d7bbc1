"""Snakemake adapter: gradients at initialization (Table 1 statistics, Fig. 2, 4, 19, 23) of one checkpoint."""

from pipeline.jobs import logged
from pipeline.probes import summands

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    outputs = {kind: sm.output[kind] for kind in ("table", "params", "logits", "channels")}
    summands.run(
        sm.input.checkpoint,
        sm.input.data,
        sm.input.provenance,
        dict(sm.params.probes),
        sm.params.stem_is_layer_1,
        sm.params.profile,
        outputs,
    )
