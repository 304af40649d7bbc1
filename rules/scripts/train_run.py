"""Snakemake adapter: one training run (resumable), from its initial checkpoint to its metrics and weights."""

from pipeline.runtime import logged
from pipeline.train.job import TrainJob, run_job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    run_job(TrainJob.from_snakemake(sm))
