"""Snakemake adapter: the gradient probe (Table 1, Fig. 2, 4, 7, 19-23) of one initial checkpoint."""

from pipeline.probes import gradients
from pipeline.probes.job import ProbeJob
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    gradients.run(ProbeJob.from_snakemake(sm))
