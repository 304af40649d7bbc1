"""The training data on the training device, augmented there in batch (no per-image CPU loader).

The uint8 images move to the device once. Each epoch draws a permutation and, per mini-batch, a random crop of
the 4-pixel zero-padded image and a random horizontal flip (the paper's augmentation, as torchvision's
``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip`` do it: padding with black pixels before normalization).
Every random draw of epoch e comes from a generator seeded with (seed, e), so an epoch is the same whether the
run was interrupted before it or not: resuming needs no saved random state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pipeline.batches import Cifar10, normalize


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """The generator of every random draw of one epoch of one run."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


def augment(images: torch.Tensor, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random crop of the zero-padded uint8 images (B, C, H, W) and, if ``flip``, a random horizontal flip."""
    batch, _, height, width = images.shape
    if pad:
        padded = F.pad(images, (pad, pad, pad, pad))
        device = images.device
        dy = torch.randint(0, 2 * pad + 1, (batch,), device=device, generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (batch,), device=device, generator=generator)
        rows = (torch.arange(height, device=device)[None, :] + dy[:, None])[:, None, :, None]
        cols = (torch.arange(width, device=device)[None, :] + dx[:, None])[:, None, None, :]
        images = padded[
            torch.arange(batch, device=device)[:, None, None, None],
            torch.arange(3, device=device)[None, :, None, None],
            rows,
            cols,
        ]
    if flip:
        mirrored = torch.rand(batch, device=images.device, generator=generator) < 0.5
        images = torch.where(mirrored[:, None, None, None], images.flip(3), images)
    return images


@dataclass
class DeviceData:
    """The training and test sets as uint8 tensors on the training device, with the normalization statistics."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def from_cifar(
        cls, data: Cifar10, device: torch.device, train_images: int | None = None, test_images: int | None = None
    ) -> DeviceData:
        """Move the data set to ``device``; ``train_images`` / ``test_images`` keep the first n (smoke runs)."""
        cut = slice(None, train_images)
        test_cut = slice(None, test_images)
        return cls(
            data.train_x[cut].to(device),
            data.train_y[cut].to(device),
            data.test_x[test_cut].to(device),
            data.test_y[test_cut].to(device),
            data.mean,
            data.std,
        )

    def train_batches(
        self, batch_size: int, pad: int, flip: bool, generator: torch.Generator
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of augmented, normalized mini-batches in a random order (the last one may be smaller)."""
        order = torch.randperm(self.train_x.shape[0], device=self.train_x.device, generator=generator)
        for chunk in order.split(batch_size):
            images = augment(self.train_x[chunk], pad, flip, generator)
            yield normalize(images, self.mean, self.std), self.train_y[chunk]

    def test_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The test set in order, normalized, without augmentation."""
        for start in range(0, self.test_x.shape[0], batch_size):
            images = self.test_x[start : start + batch_size]
            yield normalize(images, self.mean, self.std), self.test_y[start : start + batch_size]

    def batches_per_epoch(self, batch_size: int) -> int:
        return -(-self.train_x.shape[0] // batch_size)

    def batch_sizes(self, batch_size: int) -> torch.Tensor:
        """The size of each mini-batch of an epoch (float64, on the CPU; the last one may be smaller), to weigh
        per-step mean losses into the epoch's mean over images."""
        steps = self.batches_per_epoch(batch_size)
        sizes = torch.full((steps,), float(batch_size), dtype=torch.float64)
        sizes[-1] = self.train_x.shape[0] - batch_size * (steps - 1)
        return sizes
