"""Snakemake adapter: one stability search (the largest stable rate of one initial checkpoint)."""

from pipeline.runtime import logged
from pipeline.train import stability_job
from pipeline.train.step_job import StepJob

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    stability_job.run(StepJob.from_snakemake(sm))
