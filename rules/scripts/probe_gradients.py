"""Snakemake adapter: gradients at initialization (Table 1 statistics, Fig. 2, 4, 7, 19-23) of one checkpoint."""

from pipeline.jobs import logged
from pipeline.probes import summands
from pipeline.probes.job import ProbeJob

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    summands.run(
        ProbeJob.from_snakemake(sm),
        {kind: sm.output[kind] for kind in summands.OUTPUTS},
    )
