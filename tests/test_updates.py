"""Single updates (Fig. 5, 6, 24): the replayed update is the optimizer's, and the analysis reads the curves."""

from __future__ import annotations

import dataclasses
import math

import polars as pl
import pytest
import torch
from conftest import fake_data, tiny_model
from test_train import RECIPE

from pipeline import claims
from pipeline.analysis import updates
from pipeline.plots import updates as plots
from pipeline.train import engine
from pipeline.train.data import DeviceData
from pipeline.updates import steps

CLAIM_COLUMNS = claims.SCHEMA
PROVENANCE = {
    "profile": "test",
    "code_version": "abc",
    "params": {"variant": "none", "depth": 8, "seed": 0, "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
}


@pytest.mark.parametrize("where", ["none", "every"])
def test_the_replayed_update_ends_where_the_optimizer_went(where):
    torch.manual_seed(0)
    data = DeviceData.from_cifar(fake_data(64), torch.device("cpu"))
    model = tiny_model(where)
    first = float(steps.batch_loss(model, *next(engine.training_steps(data, RECIPE, 0))).detach())
    # A huge rate makes the second mini-batch's loss explode: the responsible update is step 0 (no momentum yet)
    # or later (with momentum); either way theta(1) must be the optimizer's parameters.
    recipe = dataclasses.replace(RECIPE, divergence_loss=first * 1.5)
    update = steps.find_diverging_update(model, data, recipe, 50.0, 0, 50)
    assert update.diverged_loss > recipe.divergence_loss or not math.isfinite(update.diverged_loss)
    steps.along(model, update.params, update.direction, 50.0)
    for p, a in zip(model.parameters(), update.after, strict=True):
        assert torch.allclose(p, a, rtol=1e-6, atol=1e-7)


def test_momentum_is_part_of_the_replayed_direction():
    data = DeviceData.from_cifar(fake_data(64), torch.device("cpu"))
    model = tiny_model("every")
    optimizer = steps.make_optimizer(model, RECIPE, 0.01)
    batches = engine.training_steps(data, RECIPE, 0)
    for _ in range(2):  # two real steps: the momentum buffer is filled
        images, labels = next(batches)
        optimizer.zero_grad()
        steps.batch_loss(model, images, labels).backward()
        optimizer.step()
    images, labels = next(batches)
    params = list(model.parameters())
    theta = [p.detach().clone() for p in params]
    buffers = [optimizer.state[p]["momentum_buffer"].clone() for p in params]
    optimizer.zero_grad()
    steps.batch_loss(model, images, labels).backward()
    optimizer.step()
    after = [p.detach().clone() for p in params]
    direction = steps.update_direction(model, theta, buffers, images, labels, RECIPE)
    steps.along(model, theta, direction, 0.01)
    for p, a in zip(model.parameters(), after, strict=True):
        assert torch.allclose(p, a, rtol=1e-6, atol=1e-7)


def test_no_divergence_and_divergence_before_any_update_are_clear_errors():
    data = DeviceData.from_cifar(fake_data(64), torch.device("cpu"))
    with pytest.raises(ValueError, match="no mini-batch loss above"):
        steps.find_diverging_update(tiny_model(), data, RECIPE, 1e-6, 0, 3)
    with pytest.raises(ValueError, match="no update to blame"):
        steps.find_diverging_update(tiny_model(), data, dataclasses.replace(RECIPE, divergence_loss=0.1), 0.1, 0, 3)


def test_crossing_and_claims_of_fig5():
    t = [0.0, 0.25, 0.5, 0.75, 1.0]
    path = pl.DataFrame({"t": t, "loss": [10.0, 20.0, 100.0, 1e4, 1e8], "linear": [10.0, 9.0, 8.0, 7.0, 6.0]})
    assert updates.crossing(path, 1e3) == pytest.approx(0.625)
    assert math.isnan(updates.crossing(path, 1e9))
    checks = updates.fig5_claims(path.with_columns(step=pl.lit(3)), 1e3, {"min_cross_t": 0.5})
    assert [c.agrees for c in checks] == [True, True]


def test_fig5_close_up_draws_the_first_order_prediction_as_a_straight_line_to_zero():
    t = [0.0, 0.1, 0.2, 0.3, 1.0]
    path = pl.DataFrame({"t": t, "loss": [10.0, 4.0, 8.0, 12.0, 1e8], "linear": [10.0, 5.0, 0.0, -5.0, -40.0]})
    assert plots.origin_window(path) == pytest.approx(0.3)  # the loss is back above L(0) there
    line = plots.first_order_line(path, plots.origin_window(path))
    assert line["t"].max() == pytest.approx(0.2) and line["linear"].min() == pytest.approx(0.0, abs=1e-12)
    slopes = line["linear"].diff().drop_nulls() / line["t"].diff().drop_nulls()
    assert (slopes - (-50.0)).abs().max() < 1e-6  # straight: L(0) - t x 50
    spec = plots.fig5(
        path.with_columns(step=pl.lit(0), diverged_loss=pl.lit(1e9), end_error=pl.lit(0.0)),
        1e3,
        pl.DataFrame(schema=CLAIM_COLUMNS),
        PROVENANCE,
    ).to_dict()
    whole, zoom = spec["hconcat"]
    assert zoom["layer"][0]["encoding"]["y"]["scale"] == {"domainMin": 0}  # linear axes near the origin
    assert whole["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"


def test_layer_growth_separates_top_from_bottom():
    rows = []
    for layer in range(1, 9):
        for t in (0.0, 1.0):
            value = 1.0 if t == 0 or layer <= 4 else 10.0**layer
            rows += [{"layer": layer, "channel": c, "stat": "var", "t": t, "value": value} for c in range(3)]
    growth = updates.layer_growth(pl.DataFrame(rows))
    (check,) = updates.fig6_claims(growth, {"min_decades": 1.0})
    assert check.value == pytest.approx(7.5) and check.agrees  # top quarter (7, 8) grew 7.5 decades, bottom 0


def test_largest_lowering_step_and_fig24_claims():
    etas = [0.0, 1e-3, 1e-2, 1e-1, 1.0]
    frame = pl.DataFrame(
        {
            "variant": ["bn"] * 5 + ["none"] * 5,
            "batch": [1] * 10,
            "eta": etas * 2,
            "loss": [2.0, 1.9, 1.5, 1.2, 3.0, 2.0, 1.9, 2.5, 1.0, 90.0],  # none dips again past a rise: not counted
        }
    )
    steps = updates.largest_lowering_step(frame)
    assert dict(zip(steps["variant"], steps["largest"], strict=True)) == {"bn": 0.1, "none": 1e-3}
    (check,) = updates.fig24_claims(steps, "bn", "none", {"min_step_ratio": 10.0})
    assert check.value == pytest.approx(100.0) and check.agrees
