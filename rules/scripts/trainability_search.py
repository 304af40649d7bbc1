"""Snakemake adapter: the trainability search of one initial checkpoint (variant, depth, seed), Tables 2 and 3."""

from pipeline.runtime import logged
from pipeline.train.trainability_job import run_job
from pipeline.updates.job import UpdateJob

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    run_job(UpdateJob.from_snakemake(sm), sm.params.search, sm.params.extra_lrs, sm.output[0], sm.params.state)
