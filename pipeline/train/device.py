"""Which torch device a training-like job runs on (``train.device``). Imports torch only, so the GPU check can
pick its device on a machine without polars."""

from __future__ import annotations

import torch


def pick_device(requested: str) -> torch.device:
    """'auto' is CUDA when there is a GPU, else the CPU; 'cuda' without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("params.yaml: key 'train.device' is 'cuda' but torch sees no GPU")
    return torch.device(requested)
