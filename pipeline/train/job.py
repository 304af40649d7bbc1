"""One training job: from the initial checkpoint and the prepared data to the metrics Parquet and final weights.

Outputs (both atomic): long-format metrics (one row per epoch x metric, plus diverged_step / diverged_loss rows
for a diverged run) with the run's identity and status on every row, and the final checkpoint (weights, run,
status, recipe). The resume state lives beside them under a name Snakemake does not own and is removed only
after both outputs are written.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import atomic, batches, checkpoints, cifar10, parquet, provenance
from pipeline.artifacts import ArtifactError, set_aside
from pipeline.train.data import DeviceData
from pipeline.train.device import pick_device
from pipeline.train.engine import Outcome, Recipe, train
from pipeline.train.runs import Run, plateaued
from pipeline.train.speed import Speed


def metrics_frame(run: Run, outcome: Outcome, trained_epochs: int | None = None) -> pl.DataFrame:
    """The long-format metrics of a run, its identity, status and trained epochs on every row (under the
    doubling rule the epochs it settled on; otherwise the run's own)."""
    rows = list(outcome.rows)
    if outcome.status == "diverged":
        epoch = outcome.detail["epoch"]
        rows += [
            {"epoch": epoch, "metric": "diverged_step", "value": float(outcome.detail["step"])},
            {"epoch": epoch, "metric": "diverged_loss", "value": float(outcome.detail["loss"])},
        ]
    frame = pl.DataFrame(rows, schema={"epoch": pl.Int32, "metric": pl.String, "value": pl.Float64})
    identity = {k: pl.lit(v) for k, v in dataclasses.asdict(run).items()}
    return frame.with_columns(
        run=pl.lit(run.name),
        status=pl.lit(outcome.status),
        trained_epochs=pl.lit(trained_epochs or run.epochs, pl.Int32),
        **identity,
    )


def finished_attempt(done: Path) -> dict | None:
    """What a finished attempt of the doubling rule kept, or None if there is none; an unreadable one is set aside
    (``*.unreadable``) and the attempt is trained again."""
    if not done.is_file():
        return None
    try:
        return checkpoints.read(done)
    except (ArtifactError, ValueError) as error:
        set_aside(done, error, "the attempt is trained again")
        return None


def train_doubling(
    run: Run, recipe: Recipe, model, data: DeviceData, state_dir: Path, plateau: dict, log=print, speed=None
):
    """App. B's rule: train ``run.epochs``; if learning has not plateaued (:func:`runs.plateaued`), train twice as
    many from the same initial weights (the schedule scales with the epochs), up to ``max_doublings`` times.

    Each finished attempt is kept in ``state_dir`` (atomically), so a killed job redoes no finished attempt and
    resumes the unfinished one. Returns (outcome of the last attempt, its epochs)."""
    initial = copy.deepcopy(model.state_dict())
    epochs = run.epochs
    for doubling in range(plateau["max_doublings"] + 1):
        attempt = dataclasses.replace(run, epochs=epochs, doubling=False)
        done = state_dir / f"{attempt.name}.done.pt"
        saved = finished_attempt(done)
        if saved is not None:
            outcome = Outcome(saved["rows"], saved["status"], saved["detail"], saved["state_dict"])
        else:
            model.load_state_dict(initial)
            outcome = train(attempt, recipe, model, data, state_dir / f"{attempt.name}.pt", log, speed)
            checkpoints.save(
                {
                    "rows": outcome.rows,
                    "status": outcome.status,
                    "detail": outcome.detail,
                    "state_dict": outcome.state_dict,
                },
                done,
            )
            atomic.remove(state_dir / f"{attempt.name}.pt")
        accuracy = [r["value"] for r in outcome.rows if r["metric"] == "test_acc"]
        settled = outcome.status != "completed" or plateaued(accuracy, plateau["window"], plateau["min_gain"])
        log(f"doubling rule: {epochs} epochs, {outcome.status}, {'settled' if settled else 'not plateaued'}")
        if settled or doubling == plateau["max_doublings"]:
            return outcome, epochs
        epochs *= 2
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class TrainJob:
    """One training run: its name's identity, the initial checkpoint and prepared data it starts from, its recipe
    and execution (``settings``: :func:`runs.run_recipe` and :meth:`runs.Execution.train_settings`), its outputs
    (``metrics``, ``weights``), where it keeps its resume state, and the profile."""

    run: Run
    checkpoint: str
    data_npz: str
    data_provenance: str
    settings: dict
    outputs: dict[str, str]
    state: str
    profile: str

    @classmethod
    def from_snakemake(cls, sm: Any) -> TrainJob:
        """From the train_run rule: the ``run`` wildcard, inputs checkpoint, data, provenance, params recipe,
        execution, state, profile."""
        return cls(
            Run.parse(sm.wildcards.run),
            sm.input.checkpoint,
            sm.input.data,
            sm.input.provenance,
            {**sm.params.recipe, **sm.params.execution.train_settings()},
            dict(sm.output.items()),
            sm.params.state,
            sm.params.profile,
        )


def run_job(job: TrainJob) -> Outcome:
    """Train ``job.run`` from its initial checkpoint and write its outputs ``metrics`` and ``weights``."""
    run, settings, outputs = job.run, job.settings, job.outputs
    state_path = Path(job.state)
    recipe = Recipe.from_params(settings, settings["weight_decay"])
    device = pick_device(settings["device"])
    model, state = checkpoints.load_model(job.checkpoint, device)
    if (state["variant_name"], state["depth"], state["seed"]) != (run.variant, run.depth, run.seed):
        raise ValueError(f"{job.checkpoint}: initial checkpoint of another run than {run.name}")
    data = DeviceData.from_cifar(
        batches.load_prepared(job.data_npz), device, settings["train_images"], settings["test_images"]
    )
    speed = Speed.from_params(settings)
    print(f"{run.name} on {device}: {data.train_x.shape[0]} training images, {run.epochs} epochs, {speed}")

    def log(line: str) -> None:
        print(line, flush=True)

    if run.doubling:
        state_dir = state_path.with_suffix("")
        state_dir.mkdir(parents=True, exist_ok=True)
        outcome, trained = train_doubling(run, recipe, model, data, state_dir, settings["plateau"], log, speed)
    else:
        outcome, trained = train(run, recipe, model, data, state_path, log, speed), run.epochs
    record = provenance.record(
        job.profile,
        {
            **dataclasses.asdict(recipe),
            "speed": dataclasses.asdict(speed),
            "train_images": settings["train_images"],
            "test_images": settings["test_images"],
            "device": str(device),
            "run": run.name,
            "seed": run.seed,
        },
        cifar10.load_provenance(job.data_provenance),
    )
    parquet.write(metrics_frame(run, outcome, trained), outputs["metrics"], record)
    final = {
        **state,
        "state_dict": {k: v.cpu() for k, v in outcome.state_dict.items()},
        "run": run.name,
        "status": outcome.status,
        "detail": outcome.detail,
        "recipe": dataclasses.asdict(recipe),
    }
    checkpoints.save(final, outputs["weights"])
    atomic.remove(state_path)
    if run.doubling:
        shutil.rmtree(state_path.with_suffix(""), ignore_errors=True)
    print(f"{run.name}: {outcome.status} {outcome.detail}")
    return outcome
