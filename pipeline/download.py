"""Download the canonical CIFAR-10 with torchvision (needs internet): the one path that imports torchvision, kept
apart from pipeline/cifar10.py, which Snakemake imports when it loads the workflow."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torchvision.datasets

from pipeline import cifar10


def download(dest: str | Path) -> Path:
    """Download and md5-verify the canonical CIFAR-10 into ``dest``/cifar-10-batches-py (needs internet).

    The download goes to a temporary folder that is renamed into place only once torchvision has verified it.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        try:
            torchvision.datasets.CIFAR10(tmp, train=True, download=True)
        except (OSError, RuntimeError) as exc:
            raise cifar10.CifarError(
                f"{dest}: cannot download CIFAR-10 ({exc}). Offline? Point the pipeline at a local copy: "
                "cifar10_root in params.yaml, or --config cifar10_root=PATH"
            ) from exc
        target = cifar10.source_folder(dest)
        shutil.rmtree(target, ignore_errors=True)
        Path(tmp, cifar10.FOLDER).rename(target)
    return target
