"""Shared fixtures: a small synthetic CIFAR-10 in the real on-disk layout, and the repository's parameters."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from pipeline import cifar10, config, models
from pipeline.batches import Cifar10
from pipeline.norms import NormSpec
from pipeline.train.engine import Recipe

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # this environment's snakemake, dvc, python
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
IMAGES_PER_BATCH = 40
LAYERS = ("workflow", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that is not marked workflow or system is a unit test (`pytest -m unit`, the inner loop)."""
    for item in items:
        if not any(item.get_closest_marker(layer) for layer in LAYERS):
            item.add_marker(pytest.mark.unit)


RECIPE = Recipe(0.9, 5e-4, 16, (0.5, 0.75), 0.1, 1000.0, 0.01, 4, True)  # the paper's recipe at batch 16


def write_fake_cifar(root: Path, images_per_batch: int = IMAGES_PER_BATCH, seed: int = 0) -> Path:
    """Write cifar-10-batches-py/ with random uint8 images, in the pickle format torchvision downloads."""
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name in (*cifar10.TRAIN_FILES, cifar10.TEST_FILE):
        batch = {
            b"batch_label": name.encode(),
            b"labels": rng.integers(0, 10, images_per_batch).tolist(),
            b"data": rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8),
            b"filenames": [f"{i}.png".encode() for i in range(images_per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [name.encode() for name in cifar10.LABEL_NAMES]}
    (folder / cifar10.META_FILE).write_bytes(pickle.dumps(meta, protocol=2))
    return root


def tiny_model(where: str = "every", seed: int = 0) -> models.ResNet:
    """A ResNet-8 with widths 4/6/8, full BN ("every") or none, seeded Xavier weights (float32)."""
    spec = NormSpec(where, frozenset() if where == "none" else frozenset({"gamma", "beta", "mu", "sigma"}))
    model = models.ResNet(8, spec, widths=(4, 6, 8))
    return models.initialize(model, "xavier_uniform", torch.Generator().manual_seed(seed))


def fake_data(train_images: int = 64, test_images: int = 32, seed: int = 0) -> Cifar10:
    """A random in-memory data set in the prepared layout (uint8 images, CIFAR-like statistics)."""
    g = torch.Generator().manual_seed(seed)
    return Cifar10(
        torch.randint(0, 256, (train_images, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (train_images,), generator=g),
        torch.randint(0, 256, (test_images, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (test_images,), generator=g),
        torch.tensor([0.49, 0.48, 0.45]),
        torch.tensor([0.25, 0.24, 0.26]),
    )


def moment_summary(growth_none: float, growth_bn: float) -> pl.DataFrame:
    """A synthetic Fig. 3 layer summary of ResNet-110: each variant's channel moments rise by the given decades."""
    rows = []
    for variant, growth in (("bn", growth_bn), ("none", growth_none)):
        for stat in ("mean", "var"):
            for layer in range(1, 110):
                rows.append(
                    {
                        "variant": variant,
                        "layer": layer,
                        "stat": stat,
                        "std": 0.0,
                        "channels": 16,
                        "mean": 10 ** (growth * (layer - 2) / 107) if layer > 1 else 1e-9,
                    }
                )
    return pl.DataFrame(rows)


@pytest.fixture
def fake_cifar(tmp_path: Path) -> Path:
    """A folder holding a synthetic cifar-10-batches-py/ (5 x 40 train, 40 test images)."""
    return write_fake_cifar(tmp_path / "cifar")


@pytest.fixture(scope="session")
def params() -> dict:
    """The repository's params.yaml at the cpu profile."""
    return config.load(REPO / "params.yaml", {"profile": "cpu"})
