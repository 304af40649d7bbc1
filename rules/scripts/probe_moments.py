"""Snakemake adapter: Figure 3's probe, the channel moments at every norm position at initialization."""

from pipeline.probes import moments
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    moments.run(ProbeJob.from_snakemake(sm), sm.output[0])
