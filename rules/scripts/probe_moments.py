"""Snakemake adapter: Figure 3's probe, the channel moments at every norm position at initialization."""

from pipeline.jobs import logged
from pipeline.probes import moments

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    moments.run(
        sm.input.checkpoint,
        sm.input.data,
        sm.input.provenance,
        dict(sm.params.probes),
        sm.params.stem_is_layer_1,
        sm.params.profile,
        sm.output[0],
    )
