"""The jobs of Fig. 5, 6 and 24 (each a :class:`pipeline.train.step_job.StepJob`): load an initial checkpoint and
the data as training does, follow single updates (:mod:`pipeline.updates.steps`), write long-format Parquet with
provenance."""

from __future__ import annotations

from dataclasses import asdict

import polars as pl

from pipeline.train.step_job import StepJob
from pipeline.updates import steps


def run_diverging_update(job: StepJob) -> dict:
    """Fig. 5 and 6: write the outputs ``path`` and ``moments`` of the update that makes the network diverge at
    ``job.settings`` (``updates.fig5`` with its ``lr`` and ``stem_is_layer_1``); the step and replay error go on
    every row of the path (columns step, diverged_loss, end_error)."""
    model, state, data, recipe = job.setup()
    settings = {k: v for k, v in job.settings.items() if k != "stem_is_layer_1"}
    stem_is_layer_1 = job.settings["stem_is_layer_1"]
    path, moments, info = steps.diverging_path(model, data, recipe, settings, state["seed"], stem_is_layer_1)
    print(
        f"diverging update: step {info['step']} (0-based), next loss {info['diverged_loss']:.4g}, "
        f"replay end error {info['end_error']:.3g}"
    )
    recorded = {**settings, **asdict(recipe)}
    job.write(path.with_columns(**{k: pl.lit(v) for k, v in info.items()}), job.outputs["path"], state, recorded)
    job.write(moments, job.outputs["moments"], state, recorded)
    return info


def run_batch_landscape(job: StepJob) -> None:
    """Fig. 24 for one network at its rate (``job.settings``: ``updates.fig24`` and ``lr``): write the output
    ``landscape``, the loss along each listed batch's gradient."""
    model, state, data, recipe = job.setup()
    lr = job.settings["lr"]
    frame = steps.batch_landscape(model, data, recipe, lr, job.settings, state["seed"])
    record = {**job.settings, **asdict(recipe)}
    job.write(frame.with_columns(lr=pl.lit(lr)), job.outputs["landscape"], state, record)
