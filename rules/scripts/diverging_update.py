"""Snakemake adapter: the diverging update of Fig. 5 and 6."""

from pipeline.runtime import logged
from pipeline.train.step_job import StepJob
from pipeline.updates import job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    job.run_diverging_update(StepJob.from_snakemake(sm))
