"""Snakemake adapter: gradients at initialization (Table 1 statistics, Fig. 2, 4, 7, 19-23) of one checkpoint."""

from pipeline.probes import gradients as gradient_probe
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    gradient_probe.run(
        ProbeJob.from_snakemake(sm),
        {kind: sm.output[kind] for kind in gradient_probe.OUTPUTS},
    )
