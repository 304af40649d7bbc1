"""Shared fixtures: a small synthetic CIFAR-10 in the real on-disk layout, and the repository's parameters."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline import cifar10, config

REPO = Path(__file__).resolve().parent.parent
IMAGES_PER_BATCH = 40


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
    (folder / cifar10.META_FILE).write_bytes(pickle.dumps({b"label_names": [b"c"] * 10}, protocol=2))
    return root


@pytest.fixture
def fake_cifar(tmp_path: Path) -> Path:
    """A folder holding a synthetic cifar-10-batches-py/ (5 x 40 train, 40 test images)."""
    return write_fake_cifar(tmp_path / "cifar")


@pytest.fixture(scope="session")
def params() -> dict:
    """The repository's params.yaml at the cpu profile."""
    return config.load(REPO / "params.yaml", {"profile": "cpu"})
