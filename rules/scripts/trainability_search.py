"""Snakemake adapter: one trainability search (a row of Table 2 or 3), resumable."""

from pipeline.runtime import logged
from pipeline.train import trainability_job
from pipeline.train.step_job import StepJob

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    trainability_job.run(StepJob.from_snakemake(sm))
