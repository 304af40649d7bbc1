"""Snakemake adapter: the activation probe (Fig. 13, 14, 18) of one initial checkpoint."""

from pipeline.probes import activations
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    activations.run(ProbeJob.from_snakemake(sm))
