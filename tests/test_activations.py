"""The activation probes (Fig. 13, 14, 18) on a small network, and the analysis that decides their claims."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_model

from pipeline import models
from pipeline.analysis import activations as analysis
from pipeline.analysis import channels
from pipeline.probes import activations


@pytest.mark.parametrize("layer", range(2, 8))
def test_input_activation_is_the_relu_that_feeds_the_layer(layer):
    model = tiny_model("none").double()
    conv = models.layer_module(model, layer)
    relu = models.input_activation(model, layer)
    seen = {}
    handles = [
        relu.register_forward_hook(lambda _m, _a, out: seen.__setitem__("relu", out)),
        conv.register_forward_pre_hook(lambda _m, args: seen.__setitem__("conv", args[0])),
    ]
    model(torch.randn(2, 3, 8, 8, dtype=torch.float64))
    for handle in handles:
        handle.remove()
    assert seen["relu"] is seen["conv"]
    with pytest.raises(ValueError, match="stem or the classifier"):
        models.input_activation(model, 1)


def test_kernel_channels_follow_the_weight_layout():
    weight = torch.arange(5 * 3 * 2 * 2).reshape(5, 3, 2, 2)
    cols = models.kernel_channels(weight.shape)
    for p in (0, 7, 23, 59):
        co, ci = cols["out_channel"][p], cols["in_channel"][p]
        assert int(weight.flatten()[p]) in weight[co, ci].flatten().tolist()


@pytest.mark.parametrize("where", ["none", "every"])
def test_mean_gradients_average_per_batch_gradients_and_channel_means(where):
    torch.manual_seed(0)
    model = tiny_model(where).double()
    drawn = [(torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 3])) for _ in range(3)]
    layer = 5
    frame = activations.mean_gradients(model, drawn, layer)
    weight = models.layer_module(model, layer).weight
    grads, means = [], []
    relu = models.input_activation(model, layer)
    handle = relu.register_forward_pre_hook(lambda _m, args: means.append(args[0].detach().mean((0, 2, 3))))
    for images, labels in drawn:
        (g,) = torch.autograd.grad(F.cross_entropy(model(images), labels), weight)
        grads.append(g)
    handle.remove()
    expected = torch.stack(grads).mean(0).flatten()
    assert np.allclose(frame["gradient"].to_numpy(), expected.numpy(), rtol=1e-10, atol=1e-14)
    mean = torch.stack(means).mean(0)
    assert np.allclose(frame["channel_mean"].to_numpy(), mean[frame["in_channel"].to_list()].numpy(), atol=1e-12)
    if where == "every":  # BN before the ReLU centers each channel on each batch: x = 0 by construction
        assert frame["channel_mean"].abs().max() < 1e-10


def test_histograms_count_every_value_once_with_exact_moments():
    model = tiny_model("none").double()
    images = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    hist = activations.histograms(model, images, [2, 6], bins=16)
    outputs = {}
    slots = model.conv_slots()
    handles = [
        slots[k - 1].norm.register_forward_pre_hook(lambda _m, a, k=k: outputs.__setitem__(k, a[0])) for k in (2, 6)
    ]
    model(images)
    for handle in handles:
        handle.remove()
    for layer, tensor in outputs.items():
        part = hist.filter(pl.col("layer") == layer)
        per_channel = part.group_by("channel").agg(n=pl.col("count").sum(), mean=pl.col("mean").first())
        assert set(per_channel["n"]) == {tensor.shape[0] * tensor.shape[2] * tensor.shape[3]}
        expected = tensor.mean((0, 2, 3)).detach().numpy()
        assert np.allclose(per_channel.sort("channel")["mean"].to_numpy(), expected, atol=1e-12)


def _fine_histogram(values: np.ndarray, bins: int = 256) -> tuple[np.ndarray, float]:
    counts, edges = np.histogram(values, bins)
    return counts, float(edges[1] - edges[0])


def test_mode_count_tells_unimodal_from_bimodal():
    rng = np.random.default_rng(0)
    cases = {
        "normal": (rng.normal(size=50_000), 1),
        "skewed": (rng.exponential(size=50_000), 1),
        "two bumps": (np.concatenate([rng.normal(0, 1, 25_000), rng.normal(5, 1, 25_000)]), 2),
        "three bumps": (np.concatenate([rng.normal(m, 0.5, 20_000) for m in (0, 4, 8)]), 3),
    }
    for name, (values, modes) in cases.items():
        counts, width = _fine_histogram(values)
        assert analysis.count_modes(analysis.smoothed(counts, width, values.std()), 0.05, 0.1) == modes, name


def _hist_frame(variant: str, layer: int, samples: list[np.ndarray]) -> pl.DataFrame:
    frames = []
    for channel, values in enumerate(samples):
        counts, edges = np.histogram(values, 128)
        frames.append(
            pl.DataFrame(
                {
                    "variant": variant,
                    "layer": layer,
                    "channel": channel,
                    "bin": range(128),
                    "left": edges[:-1],
                    "right": edges[1:],
                    "count": counts,
                    "mean": values.mean(),
                    "std": values.std(),
                }
            )
        )
    return pl.concat(frames)


def test_fig13_14_claims_follow_the_shapes():
    rng = np.random.default_rng(1)
    bimodal = np.concatenate([rng.normal(3, 1, 10_000), rng.normal(9, 1, 10_000)])
    hist = pl.concat(
        [
            _hist_frame("none", 9, [rng.normal(1, 1, 20_000) for _ in range(4)]),
            _hist_frame("none", 83, [bimodal, bimodal, rng.normal(4, 1, 20_000), rng.normal(-3, 1, 20_000)]),
            _hist_frame("bn", 9, [rng.normal(0.1, 1, 20_000) for _ in range(4)]),
            _hist_frame("bn", 83, [rng.normal(0.2, 1, 20_000) for _ in range(4)]),
        ]
    )
    rules = {
        "min_none_multimodal_rise": 0.05,
        "min_none_center": 0.5,
        "max_bn_multimodal": 0.05,
        "max_bn_center_ratio": 0.5,
    }
    summary = analysis.layer_shapes(analysis.channel_shapes(hist, 0.05, 0.1))
    checks = analysis.claims(summary, "bn", "none", rules)
    assert checks["fig13"][0].value == pytest.approx(0.5)  # 2 of 4 channels bimodal at 83, none at 9
    assert all(c.agrees for target in checks.values() for c in target)
    shown = analysis.representative(hist, 2, 8)
    assert set(shown["channel"]) == {0, 2} and (shown["density"] >= 0).all()
    width = shown["right"] - shown["left"]
    totals = (
        shown.with_columns(mass=pl.col("density") * width)
        .group_by("variant", "layer", "channel")
        .agg(pl.col("mass").sum())
    )
    assert np.allclose(totals["mass"].to_numpy(), 1.0)
    # A bn that is as bimodal as none disagrees.
    flipped = analysis.claims(
        summary.with_columns(pl.lit("none").alias("variant")).vstack(
            summary.filter(pl.col("variant") == "none").with_columns(pl.lit("bn").alias("variant"))
        ),
        "bn",
        "none",
        rules,
    )
    assert not all(c.agrees for c in flipped["fig14"])


def test_rank_one_structure_and_spread():
    rng = np.random.default_rng(2)
    rows, cols = np.logspace(-4, 0, 12), np.logspace(-3, 0, 9)
    outer = np.outer(rows, cols)
    noise = rng.uniform(0.5, 2.0, size=(12, 9))

    def frame(variant, values):
        ci, co = np.meshgrid(range(values.shape[0]), range(values.shape[1]), indexing="ij")
        return pl.DataFrame(
            {"variant": variant, "in_channel": ci.ravel(), "out_channel": co.ravel(), "value": values.ravel()}
        )

    assert channels.rank_one_r2(frame("none", outer)) == pytest.approx(1.0)
    assert channels.rank_one_r2(frame("bn", noise)) < 0.5
    matrix = pl.concat([frame("none", outer), frame("bn", noise)])
    rules = {"min_none_spread": 10.0, "max_bn_spread": 10.0, "min_none_r2": 0.8}
    checks = channels.fig7_claims(matrix, 45, "bn", "none", rules)
    assert [c.agrees for c in checks] == [True] * 5
    assert channels.spread(pl.Series([0.0, 0.0, 1.0, 2.0] * 5)) == float("inf")
