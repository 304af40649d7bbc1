"""The jobs of Fig. 5, 6 and 24: load an initial checkpoint and the data as training does, follow single updates
(:mod:`pipeline.updates.steps`), write long-format Parquet with provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from pipeline import batches, checkpoints, provenance
from pipeline.train.data import DeviceData
from pipeline.train.device import pick_device
from pipeline.train.engine import Recipe
from pipeline.updates import steps


@dataclass(frozen=True)
class UpdateJob:
    """One initial checkpoint, the prepared data (the full training set: single updates and stability searches
    take the first steps of the paper's recipe, whatever a reduced profile trains its runs on), the training
    recipe and the profile."""

    checkpoint: str
    data_npz: str
    data_provenance: str
    train: dict  # the step recipe (weight decay included) and the execution (device, speed)
    profile: str

    @classmethod
    def from_snakemake(cls, sm) -> UpdateJob:
        """From an update rule's inputs (checkpoint, data, provenance) and params (recipe, execution, profile)."""
        return cls(
            sm.input.checkpoint,
            sm.input.data,
            sm.input.provenance,
            {**sm.params.recipe, **sm.params.execution.train_settings()},
            sm.params.profile,
        )

    def setup(self, test_images: int | None = None):
        """(model, its checkpoint dictionary, data on the device, recipe); the test set cut to its first
        ``test_images`` (None: all)."""
        device = pick_device(self.train["device"])
        model, state = checkpoints.load_model(self.checkpoint, device)
        data = DeviceData.from_cifar(batches.load_prepared(self.data_npz), device, test_images=test_images)
        return model, state, data, Recipe.from_params(self.train, self.train["weight_decay"])

    def write(self, frame: pl.DataFrame, path: str, state: dict, settings: dict) -> None:
        """Write ``frame`` with the checkpoint's identity columns and a provenance record of ``settings``."""
        provenance.write_checkpoint_measurement(frame, path, self.profile, settings, state, self.data_provenance)


def diverging(job: UpdateJob, settings: dict, stem_is_layer_1: bool, outputs: dict[str, str]) -> dict:
    """Fig. 5 and 6: write ``outputs['path']`` and ``outputs['moments']``; the step and replay error go on
    every row of the path (columns step, diverged_loss, end_error)."""
    model, state, data, recipe = job.setup()
    path, moments, info = steps.diverging_path(model, data, recipe, settings, state["seed"], stem_is_layer_1)
    print(
        f"diverging update: step {info['step']} (0-based), next loss {info['diverged_loss']:.4g}, "
        f"replay end error {info['end_error']:.3g}"
    )
    recorded = {**settings, **asdict(recipe)}
    job.write(path.with_columns(**{k: pl.lit(v) for k, v in info.items()}), outputs["path"], state, recorded)
    job.write(moments, outputs["moments"], state, recorded)
    return info


def batch_landscape(job: UpdateJob, lr: float, settings: dict, output: str) -> None:
    """Fig. 24 for one network at its rate ``lr``: write the loss along each listed batch's gradient."""
    model, state, data, recipe = job.setup()
    frame = steps.batch_landscape(model, data, recipe, lr, settings, state["seed"])
    job.write(frame.with_columns(lr=pl.lit(lr)), output, state, {**settings, "lr": lr, **asdict(recipe)})
