"""Curves over seeds, Table 2's best rate, Table 3's highest rate and the training claims, on synthetic metrics."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import config
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
    assert last["lower"] == pytest.approx(0.5) and training.final(stats, "train_acc") == {
        training.label(a): pytest.approx(0.7)
    }


def test_best_and_highest_rates_skip_diverged_and_chance_runs():
    params = config.load(REPO / "params.yaml", {"profile": "smoke"})
    rows, paper = training.table2_rows(params)
    frames = []
    accuracy = {0.1: 0.6, 0.0001: 0.4}
    for name, grid in rows:
        for run in grid:
            status = "diverged" if (name == "none" and run.lr == 0.1) else "completed"
            frames.append(_metrics(run, [accuracy[run.lr]], [accuracy[run.lr]], status))
    summary = training.run_summary(pl.concat(frames, how="diagonal"))
    table = training.grid_table(summary, rows, paper)
    best = {r["row"]: r["best_lr"] for r in training.best_rates(table).iter_rows(named=True)}
    assert best == {"bn": 0.1, "mu_s": 0.1, "none": 0.0001}  # none's 0.1 diverged: it cannot win
    checks = training.rate_claims(training.best_rates(table), "best_lr", "table2", "as in the paper", "test")
    assert [c.agrees for c in checks] == [True, True, True]
    highest = training.highest_rates(table)
    assert dict(zip(highest["row"], highest["highest_lr"], strict=True))["none"] == 0.0001
    md = training.markdown(table, training.best_rates(table), "best_lr", "Table 2", "note")
    assert "| none | 0.1 | 1 | diverged |" in md


def test_stability_claims_read_the_status():
    bn = [runs.Run("bn", 8, 3.0, 1, 0), runs.Run("bn", 8, 10.0, 1, 0)]
    diverged = pl.DataFrame({"epoch": [1], "metric": ["diverged_step"], "value": [3.0]}).with_columns(
        run=pl.lit(bn[1].name), status=pl.lit("diverged"), variant=pl.lit("bn"), lr=pl.lit(10.0)
    )
    frames = [_metrics(bn[0], [0.5], [0.5]), diverged]
    summary = training.run_summary(pl.concat(frames, how="diagonal_relaxed"))
    table = training.grid_table(summary, [("bn stability", bn)], [None])
    assert [c.agrees for c in training.stability_claims(table, "test")] == [True, True]
