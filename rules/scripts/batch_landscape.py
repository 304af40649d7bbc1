"""Snakemake adapter: the loss of early mini-batches along their own gradient, one network (Fig. 24)."""

from pipeline.runtime import logged
from pipeline.updates import job as update_job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    job = update_job.UpdateJob.from_snakemake(sm)
    update_job.batch_landscape(job, float(sm.wildcards.lr), dict(sm.params.settings), sm.output[0])
