"""Snakemake adapter: the loss of early mini-batches along their own gradient (Fig. 24), one network."""

from pipeline.runtime import logged
from pipeline.train.step_job import StepJob
from pipeline.updates import job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    job.run_batch_landscape(StepJob.from_snakemake(sm))
