"""What every initialization probe starts from and how it writes: one checkpoint, the prepared data, provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import batches, checkpoints, provenance
from pipeline.models import ResNet


@dataclass(frozen=True)
class ProbeJob:
    """A probe of one saved initial checkpoint (variant, depth, seed) on the prepared data set."""

    checkpoint: str
    data_npz: str
    data_provenance: str
    params: dict  # the ``probes`` section of params.yaml
    stem_is_layer_1: bool
    outputs: dict[str, str]  # by name: ``moments``, or each kind of :data:`OUTPUTS` of the probe
    profile: str

    @classmethod
    def from_snakemake(cls, sm: Any) -> ProbeJob:
        """From a probe rule's inputs (checkpoint, data, provenance), params (probes, stem_is_layer_1, profile) and
        named outputs."""
        return cls(
            sm.input.checkpoint,
            sm.input.data,
            sm.input.provenance,
            dict(sm.params.probes),
            sm.params.stem_is_layer_1,
            dict(sm.output.items()),
            sm.params.profile,
        )

    def load(self) -> tuple[ResNet, dict, batches.Cifar10]:
        """(the initial network, its checkpoint dictionary, the prepared data set)."""
        model, state = checkpoints.load_model(self.checkpoint)
        return model, state, batches.load_prepared(self.data_npz)

    def write(self, frame: pl.DataFrame, path: str | Path, state: dict) -> None:
        """Write ``frame`` with the checkpoint's identity columns and the provenance record of this probe."""
        provenance.write_checkpoint_measurement(frame, path, self.profile, self.params, state, self.data_provenance)
