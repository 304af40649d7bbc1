"""Snakemake adapter: train one run (its identity is the {run} wildcard), resuming from its state if present."""

from pipeline.runtime import logged
from pipeline.train.job import run_job
from pipeline.train.runs import Run

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    run_job(
        Run.parse(sm.wildcards.run),
        {**sm.params.recipe, **sm.params.execution.train_settings()},
        sm.params.profile,
        sm.input.checkpoint,
        sm.input.data,
        sm.input.provenance,
        {"metrics": sm.output.metrics, "weights": sm.output.weights},
        sm.params.state,
    )
