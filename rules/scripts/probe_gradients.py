"""Snakemake adapter: the kernel-gradient summand statistics of one initial checkpoint (Table 1, Fig. 2, 23)."""

from pipeline.jobs import logged
from pipeline.probes import summands

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    summands.run(
        sm.input.checkpoint,
        sm.input.data,
        sm.input.provenance,
        dict(sm.params.probes),
        sm.params.stem_is_layer_1,
        sm.params.profile,
        sm.output.table,
        sm.output.params,
    )
