"""Figure 3's probe: the moments it records, their per-layer summary, and the claim's decision rule."""

from __future__ import annotations

import math

import polars as pl
import pytest
import torch
from torch import nn

from pipeline import models
from pipeline.analysis import moments as analysis
from pipeline.probes import moments
from tests.conftest import moment_summary


@pytest.mark.parametrize("variant", ["bn", "none", "mu"])
def test_recorded_moments_are_those_of_every_conv_output(params, variant):
    model = models.initialize(
        models.build(params["variants"][variant], params["model"], 8),
        "xavier_uniform",
        torch.Generator().manual_seed(0),
    )
    batches = [(torch.randn(6, 3, 32, 32), torch.zeros(6, dtype=torch.long)) for _ in range(2)]
    # Independent path: forward hooks on the convs themselves, fresh copy of the model (BN running stats move).
    reference = {}
    twin = models.build(params["variants"][variant], params["model"], 8)
    twin.load_state_dict(model.state_dict())
    twin.train()
    convs = [m for m in twin.modules() if isinstance(m, nn.Conv2d)]
    for index, conv in enumerate(convs):
        conv.register_forward_hook(lambda _m, _i, out, index=index: reference.setdefault(index, []).append(out))
    with torch.no_grad():
        for images, _ in batches:
            twin(images)
    recorded = moments.channel_moments(model, batches)
    assert sorted(recorded["layer"].unique()) == list(range(1, len(convs) + 1))
    for index, outputs in reference.items():
        for b, out in enumerate(outputs):
            var, mean = torch.var_mean(out.double(), dim=(0, 2, 3), correction=0)
            rows = recorded.filter(pl.col("layer") == index + 1, pl.col("batch") == b).sort("channel")
            assert torch.allclose(
                torch.tensor(rows.filter(pl.col("stat") == "mean")["value"].to_list(), dtype=torch.float64), mean
            )
            assert torch.allclose(
                torch.tensor(rows.filter(pl.col("stat") == "var")["value"].to_list(), dtype=torch.float64), var
            )
    assert all(not h for m in model.modules() for h in (m._forward_pre_hooks,))  # hooks removed


def test_layer_summary_averages_batches_then_reduces_channels():
    raw = pl.DataFrame(
        {
            "variant": ["a"] * 8,
            "layer": [1] * 8,
            "channel": [0, 0, 1, 1, 0, 0, 1, 1],
            "batch": [0, 1, 0, 1, 0, 1, 0, 1],
            "stat": ["mean"] * 4 + ["var"] * 4,
            "value": [1.0, 3.0, -4.0, -2.0, 2.0, 4.0, 5.0, 5.0],
        }
    )
    summary = analysis.layer_summary(raw)
    mean_row = summary.filter(pl.col("stat") == "mean").row(0, named=True)
    var_row = summary.filter(pl.col("stat") == "var").row(0, named=True)
    assert (mean_row["mean"], mean_row["std"]) == (2.5, 0.5)  # |2| and |-3|
    assert (var_row["mean"], var_row["std"], var_row["channels"]) == (4.0, 1.0, 2)


def test_fitted_decades_recovers_an_exponential_and_ignores_alternation():
    layers = list(range(2, 110))
    exact = [10 ** (0.05 * k) for k in layers]
    assert analysis.fitted_decades(layers, exact) == pytest.approx(0.05 * 107)
    zigzag = [v * (3 if k % 2 else 1) for k, v in zip(layers, exact, strict=True)]
    assert analysis.fitted_decades(layers, zigzag) == pytest.approx(0.05 * 107, abs=0.05)


def test_claims_agree_only_when_the_data_says_so():
    good = analysis.claims(moment_summary(4.0, 0.3), "bn", "none", 2.0, 1.0)
    assert len(good) == 4 and all(c.agrees for c in good)
    assert {round(c.value, 6) for c in good} == {4.0, 0.3}  # the stem (1e-9 here) does not count
    flat = analysis.claims(moment_summary(0.5, 0.3), "bn", "none", 2.0, 1.0)
    assert [c.agrees for c in flat if c.quantity.startswith("none")] == [False, False]
    growing_bn = analysis.claims(moment_summary(4.0, 2.0), "bn", "none", 2.0, 1.0)
    assert [c.agrees for c in growing_bn if c.quantity.startswith("bn")] == [False, False]
    assert all(math.isfinite(c.value) and c.target == "fig3" for c in good + flat)
