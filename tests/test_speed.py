"""The fast training path computes what the reference path computes: same per-step losses (to a stated
tolerance), same divergence step, and precision switches that are restored afterwards."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import RECIPE, fake_data, tiny_model

from pipeline.train.data import DeviceData
from pipeline.train.engine import make_optimizer, train_epoch
from pipeline.train.speed import Speed

FAST = Speed(channels_last=True, optimizer="foreach", sync_free=True)
# Stated tolerance: NHWC convolutions and multi-tensor SGD sum in another order, so losses may differ in the
# last bits; over 2 epochs of a small net they stay within 1e-5 relative.
RTOL = 1e-5


def _epochs(speed: Speed, where: str, lr: float, epochs: int = 2) -> list[dict]:
    torch.manual_seed(0)
    model = tiny_model(where)
    data = DeviceData.from_cifar(fake_data(96), torch.device("cpu"))
    forward = speed.prepare(model)
    optimizer = make_optimizer(model, RECIPE, lr, speed.sgd_kernels())
    results = []
    for epoch in range(epochs):
        results.append(train_epoch(model, optimizer, data, RECIPE, 0, epoch, lr, speed, forward))
        if "diverged" in results[-1]:
            break
    return results


@pytest.mark.parametrize("where", ["every", "none"])
@pytest.mark.parametrize(
    "speed",
    [FAST, dataclasses.replace(FAST, channels_last=False), dataclasses.replace(FAST, optimizer="loop")],
    ids=["fast", "contiguous", "loop"],
)
def test_fast_path_gives_the_reference_losses(where, speed):
    reference = _epochs(Speed.reference(), where, 0.05)
    fast = _epochs(speed, where, 0.05)
    for ref, got in zip(reference, fast, strict=True):
        assert got["step_losses"] == pytest.approx(ref["step_losses"], rel=RTOL)
        assert got["train_acc"] == ref["train_acc"]
        assert got["train_loss"] == pytest.approx(ref["train_loss"], rel=RTOL)


def test_sync_free_finds_the_same_diverging_step_and_loss():
    reference = _epochs(Speed.reference(), "none", 1e6, epochs=3)[-1]
    fast = _epochs(FAST, "none", 1e6, epochs=3)[-1]
    assert "diverged" in reference and reference["diverged"] >= 1
    assert fast["diverged"] == reference["diverged"] and fast["loss"] == pytest.approx(reference["loss"], rel=RTOL)


def test_bf16_learns_like_fp32_and_precision_switches_are_restored():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    bf16 = dataclasses.replace(FAST, precision="bf16")
    fp32_losses = [v for e in _epochs(FAST, "every", 0.05) for v in e["step_losses"]]
    bf16_losses = [v for e in _epochs(bf16, "every", 0.05) for v in e["step_losses"]]
    assert bf16_losses != fp32_losses  # bf16 really changes the arithmetic ...
    assert bf16_losses == pytest.approx(fp32_losses, rel=0.05)  # ... by about its 8-bit mantissa, not more
    # ... and the forward pass sees every update (autocast caches bf16 weights for as long as it is entered)
    frozen = [v for e in _epochs(bf16, "every", 0.0) for v in e["step_losses"]]
    assert abs(frozen[-1] - bf16_losses[-1]) > 10 * abs(fp32_losses[-1] - bf16_losses[-1])
    with dataclasses.replace(FAST, precision="tf32").numerics():
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    with FAST.numerics():
        assert not torch.backends.cudnn.allow_tf32  # fp32 means no TF32 convolutions either
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before


def test_speed_reads_its_params(params):
    speed = Speed.from_params(params["train"])
    assert speed.precision == "fp32" and speed.sgd_kernels() == {"foreach": speed.optimizer == "foreach", "fused": None}


def test_compiled_network_gives_the_reference_losses():
    """torch.compile (inductor, on the CPU here; mode reduce-overhead adds CUDA graphs on a GPU, not run here)."""
    reference = _epochs(Speed.reference(), "every", 0.05)
    compiled = _epochs(dataclasses.replace(FAST, compile="default"), "every", 0.05)
    for ref, got in zip(reference, compiled, strict=True):
        assert got["step_losses"] == pytest.approx(ref["step_losses"], rel=RTOL)
