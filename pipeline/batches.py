"""The prepared CIFAR-10 as tensors: uint8 images stay uint8 until they reach their device, then normalized there.

Probes draw seeded mini-batches without augmentation (:func:`probe_batches`); training adds augmentation in
batch on the device.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipeline.artifacts import reading


@dataclass(frozen=True)
class Cifar10:
    """The prepared data set, as tensors on the CPU (uint8 images, int64 labels, per-channel statistics)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: torch.Tensor  # (3,), in [0, 1] units, of the training images
    std: torch.Tensor


def load_prepared(npz_path: str | Path) -> Cifar10:
    """Read the prepared data set written by :func:`pipeline.cifar10.prepare`; a damaged file is one line naming
    it (an ``ArtifactError``)."""
    errors = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)
    with reading(npz_path, "prepared data set", errors), np.load(npz_path) as arrays:
        return Cifar10(**{k: torch.from_numpy(arrays[k]) for k in Cifar10.__dataclass_fields__})


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 3, H, W) to float32, per-channel standardized with the training-set statistics."""
    scale = (255.0 * std).to(images.device, torch.float32).view(1, 3, 1, 1)
    shift = (255.0 * mean).to(images.device, torch.float32).view(1, 3, 1, 1)
    return (images.to(torch.float32) - shift) / scale


def probe_batches(
    data: Cifar10, batch_size: int, batches: int, seed: int, device: torch.device | str = "cpu"
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``batches`` normalized training mini-batches, drawn without replacement with a seeded permutation.

    Without augmentation: probes measure the network at initialization on the data, not on random crops.
    """
    needed = batch_size * batches
    if needed > data.train_x.shape[0]:
        raise ValueError(f"{batches} batches of {batch_size} need {needed} images; the set has {data.train_x.shape[0]}")
    order = torch.randperm(data.train_x.shape[0], generator=torch.Generator().manual_seed(seed))[:needed]
    for chunk in order.split(batch_size):
        images = data.train_x[chunk].to(device)
        yield normalize(images, data.mean, data.std), data.train_y[chunk].to(device)
