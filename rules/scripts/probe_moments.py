"""Snakemake adapter: the Figure 3 moment probe of one initial checkpoint."""

from pipeline.probes import moments
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    moments.run(ProbeJob.from_snakemake(sm))
