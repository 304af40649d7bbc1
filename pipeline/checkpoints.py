"""Seeded initial checkpoints: the weights every probe and training run of a (variant, depth, seed) starts from.

A checkpoint carries the configuration that built it (variant entry, model section, depth, seed), so
:func:`load_model` rebuilds the network without params.yaml. The weights are drawn on the CPU from a dedicated
generator seeded with ``seed``: the same seed gives the same weights on every run and machine. Variants that
differ only in normalization draw identical conv and linear weights for the same seed (norm layers consume no
random numbers), so bn and none are compared on the same initial weights.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from pipeline import models
from pipeline.atomic import atomic_path

FORMAT = 1


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


def load(path: str | Path, device: torch.device | str = "cpu") -> dict:
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, expected {FORMAT}")
    return state


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[models.ResNet, dict]:
    """Rebuild the network stored in a checkpoint; returns (model on ``device``, checkpoint dictionary)."""
    state = load(path, device)
    model = models.build(state["variant"], state["model"], state["depth"])
    model.load_state_dict(state["state_dict"])
    return model.to(device), state
