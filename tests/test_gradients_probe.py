"""The Table-1 statistics from contractions equal a brute-force per-image, per-position autograd computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_model

from pipeline import models
from pipeline.probes import gradients as gradient_probe


def _brute_force_summands(trace: gradient_probe.ConvTrace) -> torch.Tensor:
    """d[b, x, y] for every kernel parameter, one autograd call per image and output position: (B, H', W', *K)."""
    conv, inputs, grad_out = trace.conv, trace.inputs.double(), trace.grad_out.double()
    batch, _, height, width = grad_out.shape
    out = torch.empty(batch, height, width, *conv.weight.shape, dtype=torch.float64)
    for b in range(batch):
        for x in range(height):
            for y in range(width):
                weight = conv.weight.detach().double().clone().requires_grad_(True)
                response = F.conv2d(inputs[b : b + 1], weight, None, conv.stride, conv.padding)[0, :, x, y]
                (out[b, x, y],) = torch.autograd.grad((grad_out[b, :, x, y] * response).sum(), weight)
    return out


@pytest.mark.parametrize("where", ["none", "every"])
@pytest.mark.parametrize("layer", [2, 4, 7])  # stride 1 in stage 1, the stride-2 conv of stage 2, stage 3
def test_statistics_equal_brute_force(where, layer):
    torch.manual_seed(1)
    model = tiny_model(where).double()
    images, labels = torch.randn(3, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 3, 7])
    conv = models.layer_module(model, layer)
    trace = gradient_probe.trace(model, {layer: conv}, images, labels).convs[layer]
    # The captured output gradient is the real one: the contraction reproduces autograd's weight gradient.
    assert torch.allclose(gradient_probe.gradient(trace), conv.weight.grad.double(), rtol=1e-10, atol=1e-14)
    d = _brute_force_summands(trace)
    scale = d.shape[0] * d.shape[1] * d.shape[2]
    expected = {
        "a": d.abs().sum((0, 1, 2)),
        "b": d.sum((1, 2)).abs().sum(0),
        "c": d.sum(0).abs().sum((0, 1)),
        "d": d.sum((0, 1, 2)).abs(),
    }
    stats = gradient_probe.kernel_statistics(trace)
    for key in gradient_probe.STATS:
        assert torch.allclose(stats[key], expected[key] / scale, rtol=1e-5, atol=0), key
    # The inequalities that make Table 1 meaningful: (a) bounds (b) and (c), which bound (d).
    assert torch.all(stats["a"] >= stats["b"] - 1e-12) and torch.all(stats["a"] >= stats["c"] - 1e-12)
    assert torch.all(stats["b"] >= stats["d"] - 1e-12) and torch.all(stats["c"] >= stats["d"] - 1e-12)
    index = (1, 2, 0, 2)
    assert torch.allclose(
        gradient_probe.parameter_summands(trace, index).reshape(-1),
        d[(..., *index)].reshape(-1),
        rtol=1e-10,
        atol=1e-14,
    )


def test_logit_gradients_are_per_image_softmax_minus_onehot_over_batch():
    model = tiny_model("none").double()
    images, labels = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.tensor([1, 2, 3, 4])
    traced = gradient_probe.trace(model, {}, images, labels)
    expected = (torch.softmax(traced.logits, 1) - F.one_hot(labels, 10)) / 4
    assert torch.allclose(traced.logit_grad, expected)


@pytest.mark.parametrize("where", ["none", "every"])
def test_channel_gradient_is_the_bias_gradient_after_the_norm(where):
    model = tiny_model(where).double()
    images, labels = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.tensor([1, 2, 3, 4])
    traced = gradient_probe.trace(model, {}, images, labels)
    assert sorted(traced.channel_grad) == list(range(1, 8))
    for layer, slot in enumerate(model.conv_slots(), start=1):
        bias = slot.conv.bias if where == "none" else slot.norm.bias  # conv bias, or BN's beta
        assert torch.allclose(traced.channel_grad[layer], bias.grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("where", ["none", "every"])
def test_class_masked_gradients_sum_to_the_full_gradient(where):
    model = tiny_model(where).double()
    images, labels = torch.randn(5, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 4])
    weight = models.layer_module(model, 4).weight
    per_class = gradient_probe.class_masked_gradients(model, weight, images, labels)
    assert per_class.shape == (10, *weight.shape)
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    assert torch.allclose(per_class.sum(0), weight.grad, rtol=1e-9, atol=1e-12)
    # Each class's term is its own: keeping class 0 only is not the full gradient.
    assert not torch.allclose(per_class[0], weight.grad)


def test_typical_aligned_parameter_skips_near_dead_parameters():
    # (a) spans live and near-dead parameters; the near-dead ones have (d) = (a) exactly (a single summand).
    a = torch.tensor([1e-9, 2e-9, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    d = torch.tensor([1e-9, 2e-9, 0.1, 1.9, 2.8, 0.2, 4.9, 0.3])
    chosen = gradient_probe.typical_aligned_parameter({"a": a, "d": d}, 0.9)
    assert chosen == 4  # candidates with (a) >= median: 3 (a=2, since median is 2.0), 4, 6 -> the median (a) is 3.0
    # No candidate: the live parameter with the largest (d)/(a), never a dead one.
    assert gradient_probe.typical_aligned_parameter({"a": a, "d": 0.5 * d.clamp(max=0.2)}, 0.9) == 3
    # A layer no gradient reaches (a SkipInit branch at initialization) has no such parameter.
    assert gradient_probe.typical_aligned_parameter({"a": torch.zeros(4), "d": torch.zeros(4)}, 0.9) is None
