"""Snakemake adapter: the largest stable learning rate of one initial checkpoint (variant, depth, seed)."""

from pipeline.jobs import logged
from pipeline.train.stability_job import run_job

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    run_job(
        sm.input.checkpoint,
        sm.input.data,
        sm.input.provenance,
        {**sm.params.recipe, **sm.params.execution.train_settings()},
        sm.params.search["lrs"],
        sm.params.search["steps"],
        sm.params.profile,
        sm.output[0],
    )
