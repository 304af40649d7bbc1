"""Snakemake adapter: the softmax probe (Fig. 4's statistic) of one initial checkpoint."""

from pipeline.probes import logits
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    logits.run(ProbeJob.from_snakemake(sm))
