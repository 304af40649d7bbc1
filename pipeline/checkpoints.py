"""Seeded initial checkpoints: the weights every probe and training run of a (variant, depth, seed) starts from.

A checkpoint carries the configuration that built it (variant entry, model section, depth, seed), so
:func:`load_model` rebuilds the network without params.yaml. The weights are drawn on the CPU from a dedicated
generator seeded with ``seed``: the same seed gives the same weights on every run and machine. Variants that
differ only in normalization draw identical conv and linear weights for the same seed (norm layers consume no
random numbers), so bn and none are compared on the same initial weights.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from pipeline import models
from pipeline.artifacts import reading
from pipeline.atomic import atomic_path

FORMAT = 1
# What torch.load raises on a truncated or altered file (zip reader, unpickler, a tensor's storage cut short); a
# failing disk (OSError) is not a damaged file, and stays the system's error.
READ_ERRORS = (RuntimeError, EOFError, ValueError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile)


def initial_state(name: str, variant: dict, model_params: dict, depth: int, seed: int) -> dict:
    """The checkpoint dictionary of the seeded initial network."""
    model = models.build(variant, model_params, depth)
    models.initialize(model, model_params["init"], torch.Generator().manual_seed(seed))
    return {
        "format": FORMAT,
        "variant_name": name,
        "variant": variant,
        "model": model_params,
        "depth": depth,
        "seed": seed,
        "state_dict": model.state_dict(),
    }


def initial_model(name: str, params: dict, depth: int, seed: int, device: torch.device | str) -> models.ResNet:
    """The seeded initial network of variant ``name`` at the params' settings, on ``device``: what its initial
    checkpoint holds, without the file (benchmarks)."""
    state = initial_state(name, params["variants"][name], params["model"], depth, seed)
    model = models.build(state["variant"], state["model"], depth)
    model.load_state_dict(state["state_dict"])
    return model.to(device)


def save(state: dict, path: str | Path) -> None:
    """Atomically write a checkpoint (temporary file + rename), byte-identical for identical states.

    ``torch.save`` to a path names the zip's inner folder after the file, so the random temporary name would
    change the bytes (and the DVC hash); saving through a buffer keeps the neutral name.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def read(path: str | Path, device: torch.device | str = "cpu") -> dict:
    """A dictionary saved by :func:`save` (a checkpoint, a training state): a damaged file is one line naming it
    (:class:`pipeline.artifacts.ArtifactError`), not the zip reader's error."""
    with reading(path, "checkpoint", READ_ERRORS):  # read on the CPU: a device's errors are not the file's
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a checkpoint dictionary")
    return _on(state, torch.device(device))


def _on(value, device: torch.device):
    """``value`` with every tensor in it (through dicts, lists and tuples) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _on(v, device) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_on(v, device) for v in value)
    return value


def load(path: str | Path, device: torch.device | str = "cpu") -> dict:
    """An initial checkpoint of this format."""
    state = read(path, device)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, expected {FORMAT}")
    return state


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[models.ResNet, dict]:
    """Rebuild the network stored in a checkpoint; returns (model on ``device``, checkpoint dictionary)."""
    state = load(path, device)
    model = models.build(state["variant"], state["model"], state["depth"])
    model.load_state_dict(state["state_dict"])
    return model.to(device), state
