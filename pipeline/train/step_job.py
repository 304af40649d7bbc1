"""What every job that takes steps of the paper's recipe from one initial checkpoint starts from: the single
updates (pipeline/updates/job.py), the stability searches and the trainability searches.

One dataclass built from the Snakemake object: the checkpoint, the prepared data (the full training set: these
jobs take the first steps of the paper's recipe, whatever a reduced profile trains its runs on), the step recipe
and how steps execute, the job's own settings, its outputs and the profile. Each kind of job is one function that
takes it: ``stability_job.run``, ``trainability_job.run``, ``updates.job.run_diverging_update`` and
``run_batch_landscape``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import batches, checkpoints, provenance
from pipeline.train.data import DeviceData
from pipeline.train.device import pick_device
from pipeline.train.engine import Recipe


@dataclass(frozen=True)
class StepJob:
    """One initial checkpoint, the prepared data, the training recipe and execution, the job's settings (its
    rule's ``settings`` parameter, plus ``lr`` when the rule's file name carries the rate), outputs by name, the
    profile, and where a resumable job keeps its state (``None``: it keeps none)."""

    checkpoint: str
    data_npz: str
    data_provenance: str
    train: dict  # the step recipe (weight decay included) and the execution (device, speed)
    settings: dict
    outputs: dict[str, str]
    profile: str
    state: str | None = None

    @classmethod
    def from_snakemake(cls, sm: Any) -> StepJob:
        """From a step rule: inputs checkpoint, data, provenance; params recipe, execution, settings, profile (and
        state where the job resumes); the rate from the ``lr`` wildcard where the file name has one."""
        settings = dict(sm.params.settings)
        if hasattr(sm.wildcards, "lr"):  # (`in` would test the values of a Namedlist)
            settings["lr"] = float(sm.wildcards.lr)  # the file name's rate is the job's rate
        return cls(
            sm.input.checkpoint,
            sm.input.data,
            sm.input.provenance,
            {**sm.params.recipe, **sm.params.execution.train_settings()},
            settings,
            dict(sm.output.items()),
            sm.params.profile,
            getattr(sm.params, "state", None),
        )

    def setup(self, test_images: int | None = None):
        """(model, its checkpoint dictionary, data on the device, recipe); the test set cut to its first
        ``test_images`` (None: all)."""
        device = pick_device(self.train["device"])
        model, state = checkpoints.load_model(self.checkpoint, device)
        data = DeviceData.from_cifar(batches.load_prepared(self.data_npz), device, test_images=test_images)
        return model, state, data, Recipe.from_params(self.train, self.train["weight_decay"])

    def write(self, frame: pl.DataFrame, path: str | Path, state: dict, settings: dict) -> None:
        """Write ``frame`` with the checkpoint's identity columns and a provenance record of ``settings``."""
        provenance.write_checkpoint_measurement(frame, path, self.profile, settings, state, self.data_provenance)
