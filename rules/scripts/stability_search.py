"""Snakemake adapter: the largest stable learning rate of one initial checkpoint (variant, depth, seed)."""

from pipeline.runtime import logged
from pipeline.train.stability_job import run_job
from pipeline.updates.job import UpdateJob

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    run_job(UpdateJob.from_snakemake(sm), sm.params.search["lrs"], sm.params.search["steps"], sm.output[0])
