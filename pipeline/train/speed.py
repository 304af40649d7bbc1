"""How training steps execute: memory format, optimizer kernels, host synchronization, compilation, precision.

None of the speed settings changes the recipe, the data order or the augmentation; they rearrange the same
arithmetic (a test holds the fast path's per-step losses to the reference path's within a stated tolerance):

- ``channels_last``: weights and inputs in NHWC, the layout GPU convolution kernels (and oneDNN on CPUs) prefer;
- ``optimizer``: SGD's per-parameter ``loop``, the multi-tensor ``foreach`` kernels, or the ``fused`` kernel;
- ``sync_free``: no host synchronization inside an epoch. The reference path reads every mini-batch loss on the
  host to stop at divergence before the next update; the sync-free path keeps the losses on the device and finds
  the first diverging step once, at the end of the epoch. It reports the same step and loss (the steps after it
  are computed but never used: a diverged run's weights are not a result);
- ``compile``: ``torch.compile`` of the network; mode ``reduce-overhead`` also captures CUDA graphs.

``precision`` changes the numbers themselves, so it is its own parameter (``train.precision``), fp32 by default as
in the paper. fp32 means fp32: PyTorch lets cuDNN convolutions use TF32 by default on Ampere and newer GPUs, so
fp32 turns TF32 off for convolutions and matrix products; tf32 turns it on; bf16 runs forward and backward under
autocast (bf16 activations; fp32 weights, optimizer and loss).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

PRECISIONS = ("fp32", "tf32", "bf16")


@dataclass(frozen=True)
class Speed:
    """The ``train.speed`` settings and ``train.precision`` of params.yaml."""

    channels_last: bool = False
    optimizer: str = "loop"  # loop | foreach | fused
    sync_free: bool = False
    compile: str = "none"  # none | default | reduce-overhead
    precision: str = "fp32"

    @classmethod
    def from_params(cls, train: dict) -> Speed:
        speed = train["speed"]
        return cls(speed["channels_last"], speed["optimizer"], speed["sync_free"], speed["compile"], train["precision"])

    @classmethod
    def reference(cls) -> Speed:
        """The plain path: contiguous tensors, SGD's per-parameter loop, a host read of every loss, eager fp32."""
        return cls()

    def prepare(self, model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """Put ``model`` in this memory format and return the callable that runs it (compiled or not)."""
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if self.compile == "none":
            return model
        return torch.compile(model, mode=None if self.compile == "default" else self.compile)

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """A mini-batch in this memory format."""
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def sgd_kernels(self) -> dict:
        """The SGD keyword arguments that pick the kernel."""
        return {"foreach": self.optimizer == "foreach", "fused": self.optimizer == "fused" or None}

    @contextlib.contextmanager
    def numerics(self) -> Iterator[None]:
        """TF32 switched on or off for this precision (forward and backward), restored afterwards."""
        flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        tf32 = self.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags

    def autocast(self, device: torch.device) -> torch.autocast:
        """bf16 autocast for one forward pass, where asked. Entered per mini-batch, never around several steps:
        autocast caches the bf16 copies of the weights until it exits, so a longer region would keep computing
        with the weights of its first step."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
