"""Curves over seeds, Table 2's best rate, Table 3's highest rate and the training claims, on synthetic metrics."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import config, targets
from pipeline.analysis import training
from pipeline.train import runs

REPO = Path(__file__).resolve().parent.parent


def _metrics(run: runs.Run, test_acc: list[float], train_acc: list[float], status: str = "completed"):
    rows = []
    for epoch, (te, tr) in enumerate(zip(test_acc, train_acc, strict=True), start=1):
        rows += [
            {"epoch": epoch, "metric": "test_acc", "value": te},
            {"epoch": epoch, "metric": "train_acc", "value": tr},
        ]
    return pl.DataFrame(rows).with_columns(
        run=pl.lit(run.name), status=pl.lit(status), variant=pl.lit(run.variant), lr=pl.lit(run.lr)
    )


def test_curves_average_over_seeds_with_a_band():
    a, b = runs.Run("bn", 8, 0.1, 2, 0), runs.Run("bn", 8, 0.1, 2, 1)
    metrics = pl.concat([_metrics(a, [0.5, 0.7], [0.6, 0.8]), _metrics(b, [0.3, 0.5], [0.4, 0.6])])
    stats = training.curve_stats(metrics, [[a, b]])
    last = stats.filter(pl.col("metric") == "test_acc", pl.col("epoch") == 2).row(0, named=True)
    assert last["mean"] == pytest.approx(0.6) and last["std"] == pytest.approx(0.1) and last["seeds"] == 2
    assert last["lower"] == pytest.approx(0.5)


def _fig1(params: dict, finals: dict[str, tuple[list[float], list[float]]]):
    """fig1's curves (two seeds) with the given final (test, train) accuracies per variant and rate."""
    (_, curves), *_ = runs.curve_panels("fig1", params)
    frames = []
    for curve in curves:
        test, train = finals[f"{curve[0].variant}@{runs.decimal(curve[0].lr)}"]
        frames += [_metrics(r, [te], [tr]) for r, te, tr in zip(curve, test, train, strict=True)]
    return training.run_summary(pl.concat(frames)), curves


def test_fig1_claims_are_margins_with_a_paired_spread_over_seeds():
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "train": {"seeds": [0, 1]}})
    summary, curves = _fig1(
        params,
        {
            "bn@0.1": ([0.80, 0.84], [0.90, 0.92]),
            "bn@0.003": ([0.70, 0.72], [0.80, 0.80]),
            "bn@0.0001": ([0.60, 0.62], [0.95, 0.97]),
            "none@0.0001": ([0.59, 0.63], [0.70, 0.72]),
        },
    )
    checks = training.curve_claims("fig1", summary, [("", curves)], params["figures"]["fig1"], "smoke")
    by_claim = {c.claim: c for c in checks}
    best = by_claim["bn at its highest rate has the best test accuracy"]
    assert best.value == pytest.approx(0.82 - 0.71) and best.spread == pytest.approx(0.01) and best.agrees
    slow = by_claim["bn at the unnormalized rate and schedule is no better than none"]
    assert slow.value == pytest.approx(0.0) and slow.spread == pytest.approx(0.01) and slow.agrees
    overfit = by_claim["... and overfits (larger train - test gap)"]
    assert overfit.value == pytest.approx(0.35 - 0.10) and overfit.agrees
    share = by_claim["the higher rate mediates the majority of BN's benefit"]
    assert share.value == pytest.approx(1.0) and share.limit == params["figures"]["fig1"]["min_rate_share"]
    between = by_claim["bn at 0.003 lands in between"]
    assert between.value == pytest.approx(0.10) and between.agrees


def test_fig15_and_16_place_bn_top_between_none_and_full_bn():
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "train": {"seeds": [0, 1]}})
    panels = runs.curve_panels(targets.TARGETS["fig16"].runs, params)
    accuracy = {"bn_top": [0.7, 0.8], "bn": [0.8, 0.9], "none": [0.4, 0.5]}
    frames = [_metrics(r, [a], [a]) for c in panels[0][1] for r, a in zip(c, accuracy[c[0].variant], strict=True)]
    summary = training.run_summary(pl.concat(frames))
    rules = {**params["figures"]["fig16"], "min_position": 0.5}
    (check,) = training.curve_claims("fig16", summary, panels, rules, "smoke")
    assert check.value == pytest.approx(0.75) and check.spread == pytest.approx(0.0) and check.agrees
    paper = {**rules, "paper_test_acc": 0.901}
    assert len(training.curve_claims("fig16", summary, panels, paper, "paper")) == 2  # + the absolute number


def _grids(rows, status_of, accuracy_of):
    frames = []
    for name, grid, _ in rows:
        for run in grid:
            frames.append(_metrics(run, [accuracy_of(name, run.lr)], [0.9], status_of(name, run.lr)))
    return training.run_summary(pl.concat(frames, how="diagonal"))


def test_table2_best_rates_skip_diverged_runs_and_the_claims_read_the_ordering():
    params = config.load(REPO / "params.yaml", {"profile": "smoke"})
    rows = runs.grid_rows("table2", params)
    summary = _grids(
        rows,
        lambda name, lr: "diverged" if name in ("none", "s") and lr == 0.1 else "completed",
        lambda name, lr: 0.6 if lr == 0.1 else 0.4,
    )
    table, result, checks = training.table_claims("table2", summary, rows, params["figures"]["table2"], "smoke")
    assert dict(zip(result["row"], result["best_lr"], strict=True)) == {
        "bn": 0.1,
        "mu_s": 0.1,
        "s": 0.0001,
        "none": 0.0001,
    }
    by_claim = {c.claim: c for c in checks}
    assert by_claim["the highest rates that don't diverge give the best results"].value == 0
    assert by_claim["normalization enables larger rates"].value == pytest.approx(0.0)  # s ties none: disagrees
    assert not by_claim["normalization enables larger rates"].agrees
    assert by_claim["both the mean and the variance normalization matter"].value == pytest.approx(3.0)
    assert "| none | 8 | 0.1 | 1 | diverged |" in training.table_markdown("table2", table, result, "smoke")
    paper = {**params["figures"]["table2"], "match_paper": True}
    matched = training.table_claims("table2", summary, rows, paper, "smoke")[2]
    assert len(matched) == len(checks) + len(rows)  # one "as in the paper" check per row


def test_table3_orders_rows_by_their_highest_rate_and_reads_the_stability_row():
    params = config.load(REPO / "params.yaml", {"profile": "smoke"})
    rows = runs.grid_rows("table3", params)

    def status(name, lr):
        if name == "bn stability":
            return "diverged" if lr == 10.0 else "completed"
        failing = {
            "14 layer ResNet": [0.1],
            "unnormalized, cold start": [0.1, 0.001],
            "alternating normalization": [0.1],
        }
        return "chance" if lr in failing.get(name, []) else "completed"

    summary = _grids(rows, status, lambda name, lr: 0.5)
    _, result, checks = training.table_claims("table3", summary, rows, params["figures"]["table3"], "smoke")
    highest = dict(zip(result["row"], result["highest_lr"], strict=True))
    assert highest["14 layer ResNet"] == 0.001 and highest["unnormalized, cold start"] is None
    assert [c.agrees for c in checks] == [True, True, True, True, True]
    assert checks[0].value == pytest.approx(2.0)  # 8 layers: 0.1, 14 layers: 0.001
