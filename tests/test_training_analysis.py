"""Curves over seeds and the training figures' claims, on synthetic metrics on both sides of each rule."""

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
    checks = training.curve_claims("fig1", summary, [("", curves)], params["figures"]["fig1"])
    by_claim = {c.claim: c for c in checks}
    best = by_claim["bn at its highest rate has the best test accuracy"]
    assert best.value == pytest.approx(0.82 - 0.71) and best.spread == pytest.approx(0.01) and best.agrees
    slow = by_claim["bn at the unnormalized rate and schedule is no better than none"]
    assert slow.value == pytest.approx(0.0) and slow.spread == pytest.approx(0.01) and slow.agrees
    # the caption: the train-test gap of bn at the lower rate (0.35) is larger than at 0.1 (0.09)
    overfit = by_claim["at the lower rate bn overfits more (a larger train - test gap than at its own rate)"]
    assert overfit.value == pytest.approx(0.35 - 0.09) and overfit.spread == pytest.approx(0.01) and overfit.agrees
    share = by_claim["the higher rate mediates the majority of BN's benefit"]
    assert share.value == pytest.approx(1.0) and share.limit == params["figures"]["fig1"]["min_rate_share"]
    between = by_claim["bn at 0.003 lands in between"]
    assert between.value == pytest.approx(0.10) and between.agrees


def test_the_overfitting_rule_compares_bn_at_the_low_rate_with_bn_at_its_own_rate():
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "train": {"seeds": [0, 1]}})
    finals = {"bn@0.003": ([0.70, 0.72], [0.80, 0.80]), "none@0.0001": ([0.59, 0.63], [0.95, 0.99])}
    for slow_train, verdict in (([0.62, 0.64], "disagrees"), ([0.69, 0.75], "undecided"), ([0.95, 0.97], "agrees")):
        summary, curves = _fig1(
            params, {**finals, "bn@0.1": ([0.80, 0.84], [0.90, 0.92]), "bn@0.0001": ([0.60, 0.62], slow_train)}
        )
        checks = training.curve_claims("fig1", summary, [("", curves)], params["figures"]["fig1"])
        (overfit,) = [c for c in checks if c.claim.startswith("at the lower rate bn overfits more")]
        assert overfit.verdict == verdict, (slow_train, overfit)  # none's larger gap plays no part


def _fig15(accuracy: dict[str, list[float]], target: str = "fig16", profile: str = "smoke"):
    params = config.load(REPO / "params.yaml", {"profile": profile, "train": {"seeds": [0, 1]}})
    panels = runs.curve_panels(targets.TARGETS[target].runs, params)
    frames = [_metrics(r, [a], [a]) for c in panels[0][1] for r, a in zip(c, accuracy[c[0].variant], strict=True)]
    summary = training.run_summary(pl.concat(frames))
    return training.curve_claims(target, summary, panels, params["figures"][target])


@pytest.mark.parametrize(
    ("bn_top", "at_least_two_thirds", "below_one"),
    [
        ([0.7, 0.8], "agrees", "agrees"),  # position 0.75 (both seeds)
        ([0.55, 0.65], "disagrees", "agrees"),  # 0.375
        ([0.85, 0.95], "agrees", "disagrees"),  # 1.125: better than full BN is not "somewhat weaker"
        ([0.6, 0.9], "undecided", "undecided"),  # 0.5 and 1.0 per seed: position 0.75 +- 0.25
    ],
)
def test_fig15_and_16_place_bn_top_at_least_two_thirds_of_the_way_and_below_full_bn(
    bn_top, at_least_two_thirds, below_one
):
    checks = _fig15({"bn_top": bn_top, "bn": [0.8, 0.9], "none": [0.4, 0.5]})
    assert [c.verdict for c in checks] == [at_least_two_thirds, below_one]
    assert [c.limit for c in checks] == [0.6667, 1.0] and [c.rule for c in checks] == [">= 0.6667", "< 1"]
    assert checks[0].value == checks[1].value and all("placed between none" in c.quantity for c in checks)
    assert checks[0].quantity != checks[1].quantity  # the metrics file keys checks by quantity


def test_the_paper_profile_checks_the_papers_numbers_and_no_position_on_saturated_training_accuracy():
    checks = _fig15({"bn_top": [0.9, 0.9], "bn": [0.93, 0.93], "none": [0.8, 0.8]}, profile="paper")
    assert len(checks) == 3 and checks[-1].agrees and checks[-1].claim == "~90.1% test accuracy"
    (saturated,) = _fig15({"bn_top": [0.99, 0.99], "bn": [1.0, 1.0], "none": [0.98, 0.98]}, "fig15", "paper")
    assert saturated.claim == "BN only at the top trains" and saturated.agrees  # min_train_acc, no position


def _fig17(left: dict[str, list[float]], right: dict[str, list[float]]):
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "train": {"seeds": [0, 1]}})
    panels = runs.curve_panels("fig17", params)
    accuracy = [left, right]
    frames = [
        _metrics(r, [a], [a])
        for side, (_, curves) in enumerate(panels)
        for c in curves
        for r, a in zip(c, accuracy[side][c[0].variant], strict=True)
    ]
    summary = training.run_summary(pl.concat(frames, how="vertical"))
    return training.curve_claims("fig17", summary, panels, params["figures"]["fig17"])


def test_fig17_wants_the_right_panel_spread_at_least_three_times_the_left():
    left = {"bn": [0.80, 0.80], "mu_s": [0.79, 0.79]}  # spread 0.01 per seed
    for worst, verdict in ((0.75, "agrees"), (0.78, "disagrees")):  # right spreads 0.04 and 0.02 (< 3 x 0.01)
        right = {"mu_s": [0.79, 0.79], "s": [0.78, 0.78], "mu": [0.77, 0.77], "none": [worst, worst]}
        affine, parts = _fig17(left, right)
        assert affine.value == pytest.approx(0.01) and affine.agrees
        assert parts.value == pytest.approx(0.79 - min(worst, 0.77) - 3 * 0.01) and parts.verdict == verdict
        assert parts.rule == ">= 0" and "minus 3 x the left panel's" in parts.quantity


def test_the_reduced_scale_names_a_slow_rate_other_than_the_papers():
    cpu = config.load(REPO / "params.yaml", {"profile": "cpu", "training": {"slow_lr": 0.003}})
    reduced = " ".join(training.reduced_scale(runs.experiment_params("fig1", cpu)))
    assert "slow rate 0.003 where the paper's is 0.0001" in reduced
    paper = config.load(REPO / "params.yaml", {"profile": "paper"})
    assert training.reduced_scale(runs.experiment_params("fig1", paper)) == []
