"""Normalization layers for every variant of the paper, built by one factory.

Equation (1) of the paper, per channel c over (batch, x, y):
    OUTPUT = gamma_c * (INPUT - mu_c) / sqrt(sigma_c^2 + eps) + beta_c
A variant keeps a subset of its four parts (Table 2): ``mu`` subtracts the batch mean, ``sigma`` divides by the
batch standard deviation (the variance is always taken about the mean, as BN measures it), ``gamma`` and
``beta`` are the learned affine. ``alternate`` (Appendix J) computes the moments on every other training batch
and reuses the latest ones, as constants, on the batches in between.

Full BN without alternation is PyTorch's ``nn.BatchNorm2d`` (fast cuDNN kernels); a test checks that
:class:`PartialBatchNorm2d` with all four parts computes the same thing.

Beyond the paper, a variant's ``norm`` takes the moments over other axes: ``group`` (Wu and He 2018) per image over
each group of ``groups`` channels and the positions, ``layer`` per image over all channels and positions (GroupNorm
with one group, as Wu and He compare them), both with eq. (1)'s per-channel affine and no batch statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.norm_spec import PARTS, NormSpec


class PartialBatchNorm2d(nn.Module):
    """Batch normalization with any subset of eq. (1)'s parts, optionally with alternating moments.

    Running statistics are kept like ``nn.BatchNorm2d`` (unbiased variance, momentum update) and used in
    evaluation mode.
    """

    def __init__(
        self, num_features: int, parts=PARTS, eps: float = 1e-5, momentum: float = 0.1, alternate: bool = False
    ):
        super().__init__()
        self.parts = frozenset(parts)
        self.eps, self.momentum, self.alternate = eps, momentum, alternate
        self.weight = nn.Parameter(torch.ones(num_features)) if "gamma" in self.parts else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if "beta" in self.parts else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        # Alternation state is a buffer so that a checkpoint (and a resumed run) carries it.
        self.register_buffer("batches_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("latest_mean", torch.zeros(num_features))
        self.register_buffer("latest_var", torch.ones(num_features))

    def extra_repr(self) -> str:
        parts = ",".join(p for p in PARTS if p in self.parts)
        return f"{self.running_mean.numel()}, parts={parts}, eps={self.eps}, alternate={self.alternate}"

    def _moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return self.running_mean, self.running_var
        reuse = self.alternate and bool(self.batches_seen % 2)
        self.batches_seen += 1
        if reuse:
            return self.latest_mean, self.latest_var
        # Two passes of sums: on a CPU core 2-3x faster than torch.var_mean over (batch, x, y), as accurate (the
        # variance is summed about the mean). With mu alone the variance only feeds the running statistics.
        n = x.numel() / x.shape[1]
        mean = x.sum(dim=(0, 2, 3)) / n
        with torch.set_grad_enabled(torch.is_grad_enabled() and "sigma" in self.parts):
            var = (x - mean.view(1, -1, 1, 1)).square().sum(dim=(0, 2, 3)) / n
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
            self.latest_mean.copy_(mean)
            self.latest_var.copy_(var)
        return mean, var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if {"mu", "sigma"} <= self.parts and not self.alternate:
            # both moments of this batch: PyTorch's batch-norm kernel computes eq. (1) with any affine subset
            # (a missing gamma is 1, a missing beta 0) and the same running statistics: on a CPU core a training
            # step of ResNet-56 takes what bn's does, 1.6-1.8x less than the elementwise path below
            # (benchmarks/norm_speed.py)
            self.batches_seen += int(self.training)
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps
            )
        mean, var = self._moments(x)
        if "mu" in self.parts:
            x = x - mean.view(1, -1, 1, 1)
        if "sigma" in self.parts:
            x = x * torch.rsqrt(var.view(1, -1, 1, 1) + self.eps)
        if self.weight is not None:
            x = x * self.weight.view(1, -1, 1, 1)
        if self.bias is not None:
            x = x + self.bias.view(1, -1, 1, 1)
        return x


def norm_factory(spec: NormSpec, eps: float, momentum: float) -> Callable[[int], nn.Module]:
    """A function channels -> normalization module for the spec (full BN is ``nn.BatchNorm2d``; group and layer
    norms are ``nn.GroupNorm``, layer norm with one group)."""
    if spec.kind == "group":
        return lambda channels: nn.GroupNorm(spec.groups, channels, eps=eps)
    if spec.kind == "layer":
        return lambda channels: nn.GroupNorm(1, channels, eps=eps)
    if spec.parts == frozenset(PARTS) and not spec.alternate:
        return lambda channels: nn.BatchNorm2d(channels, eps=eps, momentum=momentum)
    return lambda channels: PartialBatchNorm2d(channels, spec.parts, eps, momentum, spec.alternate)
