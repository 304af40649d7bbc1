"""The training figures from the runs' metrics Parquet: curves over seeds and their claims (Tables 2 and 3 are
trainability searches: :mod:`pipeline.analysis.trainability`).

Fig. 1, 15, 16, 17 are curves: per epoch, the mean and standard deviation over seeds. Which runs make a curve
comes from :mod:`pipeline.train.runs`, the same functions that told Snakemake which runs to train.

Claims are written as margins and orderings, so that they mean the same at the paper's scale and at a reduced
one; the paper's absolute numbers (90.1%, a saturated training accuracy) are extra checks that a profile switches
on by setting their rules (``figures.*`` in params.yaml; null switches them off). A curve claim is
computed on the means over seeds, and its spread is the standard deviation of the same quantity computed seed by
seed (the runs of one seed share their initial weights across curves, so the comparison is paired).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.claims import Check, Decision
from pipeline.train import runs as train_runs
from pipeline.train.runs import Run, decimal

CURVE_METRICS = ("train_acc", "test_acc")
PAPER_SLOW_LR = 1e-4  # §2: the unnormalized network's rate, 2,400 epochs (params.yaml: training.slow_lr)


def reduced_scale(experiment: dict) -> list[str]:
    """How a target's runs depart from the paper's training scale (empty at the paper's scale), from the ``train``
    keys of :func:`pipeline.train.runs.experiment_params`."""
    t = experiment["train"]
    reduced = []
    if t["depth"] is not None and t["depth"] != 110:
        reduced.append(f"ResNet-{t['depth']} where the paper trains ResNet-110")
    if t["train_images"] is not None:
        test = "all" if t["test_images"] is None else f"the first {t['test_images']:,}"
        reduced.append(f"the first {t['train_images']:,} training images (test accuracy on {test} test images)")
    if t["epoch_scale"] != 1 or t["max_epochs"] is not None:
        cap = "" if t["max_epochs"] is None else f", at most {t['max_epochs']}"
        reduced.append(f"epochs = the paper's x {t['epoch_scale']:g} (at least 1{cap})")
    slow = experiment["training"]["slow_lr"]
    if slow != PAPER_SLOW_LR:
        reduced.append(
            f"slow rate {decimal(slow)} where the paper's is {decimal(PAPER_SLOW_LR)} (none's best rate within this "
            "budget, by the pilot)"
        )
    return reduced


def where_ran(curves: list[list[Run]], train: dict) -> str:
    """Where a figure's runs trained, for its checks and subtitle: depth, images, seeds (each curve's rate and
    epochs are in its label)."""
    runs = [r for curve in curves for r in curve]
    depths = "/".join(str(d) for d in sorted({r.depth for r in runs}))
    images = "all 50,000" if train["train_images"] is None else f"{train['train_images']:,}"
    tests = "10,000" if train["test_images"] is None else f"{train['test_images']:,}"
    seeds = len({r.seed for r in runs})
    return f"ResNet-{depths}, {images} training images, test accuracy on {tests}, {seeds} seed{'s' * (seeds > 1)}"


def label(run: Run) -> str:
    """A curve's legend entry: variant, rate and epochs (the first attempt's, under the doubling rule)."""
    return f"{run.variant}, lr {decimal(run.lr)}, {run.epochs} ep{' doubling' if run.doubling else ''}"


def run_summary(metrics: pl.DataFrame) -> pl.DataFrame:
    """Per run: status, final train and test accuracy (last completed epoch), epochs completed."""
    accuracy = metrics.filter(pl.col("metric").is_in(CURVE_METRICS))
    last = (
        accuracy.sort("epoch", maintain_order=True)
        .group_by("run", "metric", maintain_order=True)
        .agg(pl.col("value").last(), pl.col("epoch").max().alias("completed"))
        .pivot(on="metric", index=["run", "completed"], values="value")
    )
    status = metrics.group_by("run").agg(pl.col("status").first(), pl.col("lr").first(), pl.col("variant").first())
    summary = status.join(last, on="run", how="left").with_columns(pl.col("completed").fill_null(0))
    for metric in CURVE_METRICS:
        if metric not in summary.columns:
            summary = summary.with_columns(pl.lit(None, pl.Float64).alias(metric))
    return summary.sort("run")


def curve_stats(metrics: pl.DataFrame, curves: list[list[Run]]) -> pl.DataFrame:
    """Per curve, epoch and accuracy metric: mean and std over the seeds that reached that epoch."""
    frames = []
    for order, runs in enumerate(curves):
        names = [r.name for r in runs]
        frames.append(
            metrics.filter(pl.col("run").is_in(names), pl.col("metric").is_in(CURVE_METRICS))
            .group_by("epoch", "metric")
            .agg(mean=pl.col("value").sort().mean(), std=pl.col("value").sort().std(ddof=0), seeds=pl.len())
            .with_columns(curve=pl.lit(label(runs[0])), order=pl.lit(order))
        )
    return (
        pl.concat(frames)
        .with_columns(lower=pl.col("mean") - pl.col("std"), upper=pl.col("mean") + pl.col("std"))
        .sort("order", "metric", "epoch")
    )


class Finals:
    """The final train and test accuracy of every run of some curves, per curve in seed order."""

    def __init__(self, summary: pl.DataFrame, curves: list[list[Run]]):
        rows = {r["run"]: r for r in summary.iter_rows(named=True)}
        self.curves = {label(runs[0]): runs for runs in curves}
        self.values = {
            (name, metric): np.array(
                [np.nan if rows.get(r.name, {}).get(metric) is None else rows[r.name][metric] for r in runs]
            )
            for name, runs in self.curves.items()
            for metric in CURVE_METRICS
        }

    def __call__(self, run: Run, metric: str = "test_acc") -> np.ndarray:
        return self.values[(label(run), metric)]


def paired(quantity: Callable[..., np.ndarray], *per_seed: np.ndarray) -> tuple[float, float | None]:
    """A claim's value (``quantity`` of the means over seeds) and its spread (standard deviation over seeds of
    ``quantity`` computed seed by seed); no spread with a single seed."""
    value = float(quantity(*(np.mean(v) for v in per_seed)))
    seeds = len(per_seed[0])
    spread = float(np.std(quantity(*per_seed))) if seeds > 1 else None
    return value, spread


Panels = list[tuple[str, list[list[Run]]]]  # (panel title, its curves: each curve's runs over the seeds)


def curves_of(panels: Panels) -> list[list[Run]]:
    """Every curve of a figure, panel after panel."""
    return [curve for _, curves in panels for curve in curves]


def fig1_claims(target: str, finals: Finals, panels: Panels, rules: dict) -> list[Check]:
    """§2 and Fig. 1: bn at its highest rate is best; at the unnormalized network's rate and schedule bn is no
    better than none, and its train-test gap is larger than at its own high rate (the caption); the higher rate
    mediates most of BN's benefit; an intermediate rate lands in between."""
    curves = curves_of(panels)
    heads = [runs[0] for runs in curves]
    none = next((r for r in heads if r.variant != "bn"), None)
    slow = next((r for r in heads if r.variant == "bn" and none and (r.lr, r.epochs) == (none.lr, none.epochs)), None)
    if none is None or slow is None:
        raise ValueError("params.yaml: key 'training.fig1.curves' needs an unnormalized curve and bn at its rate")
    fast = max((r for r in heads if r.variant == "bn"), key=lambda r: r.lr)
    others = [r for r in heads if r != fast]
    test = finals
    best = paired(lambda f, *o: f - np.max(np.stack(o), axis=0), test(fast), *(test(r) for r in others))
    advantage = paired(np.subtract, test(slow), test(none))
    # Fig. 1's caption: "the gap between training and test accuracy is much larger for a batch normalized network
    # using a lower learning rate" (than for bn at its original rate, 0.1)
    gap = paired(
        lambda s_tr, s_te, f_tr, f_te: (s_tr - s_te) - (f_tr - f_te),
        test(slow, "train_acc"),
        test(slow),
        test(fast, "train_acc"),
        test(fast),
    )
    checks = [
        Check.above(
            "fig1",
            "bn at its highest rate has the best test accuracy",
            f"final test accuracy, {label(fast)} minus the best other curve",
            best[0],
            0.0,
            best[1],
        ),
        Check.at_most(
            "fig1",
            "bn at the unnormalized rate and schedule is no better than none",
            f"final test accuracy, {label(slow)} minus {label(none)}",
            advantage[0],
            rules["max_slow_advantage"],
            advantage[1],
        ),
        Check.above(
            "fig1",
            "at the lower rate bn overfits more (a larger train - test gap than at its own rate)",
            f"train - test accuracy gap, {label(slow)} minus {label(fast)}",
            gap[0],
            0.0,
            gap[1],
        ),
    ]
    share = paired(lambda f, s, n: (f - s) / (f - n), test(fast), test(slow), test(none))
    checks.append(
        Check.at_least(
            "fig1",
            "the higher rate mediates the majority of BN's benefit",
            f"share of the test accuracy gain of {label(fast)} over {label(none)} lost at {label(slow)}",
            share[0],
            rules["min_rate_share"],
            share[1],
        )
    )
    for mid in (r for r in heads if r.variant == "bn" and r not in (fast, slow)):
        between = paired(lambda f, m, s: np.minimum(f - m, m - s), test(fast), test(mid), test(slow))
        checks.append(
            Check.above(
                "fig1",
                f"bn at {decimal(mid.lr)} lands in between",
                f"final test accuracy: smaller margin of {label(mid)} to {label(fast)} and to {label(slow)}",
                between[0],
                0.0,
                between[1],
            )
        )
    return checks


def fig15_16_claims(target: str, finals: Finals, panels: Panels, rules: dict) -> list[Check]:
    """App. G: with BN only at the top the network trains (Fig. 15) and tests (Fig. 16) only somewhat worse
    than with full BN. ``curves`` are bn_top's, then the two reference curves (full BN, then none). The
    position of bn_top between none (0) and full BN (1) is checked wherever the accuracies have not saturated
    (at least two-thirds, below one; off for training accuracy at the paper's scale); the paper's 90.1% and a
    saturated training accuracy are the paper-scale checks."""
    curves = curves_of(panels)
    metric = "train_acc" if target == "fig15" else "test_acc"
    what, verb = ("training", "trains") if metric == "train_acc" else ("test", "generalizes")
    top, full, none = curves[0][0], curves[-2][0], curves[-1][0]
    position = paired(
        lambda t, f, n: (t - n) / (f - n), finals(top, metric), finals(full, metric), finals(none, metric)
    )
    placed = f"final {what} accuracy of {label(top)}, placed between {label(none)} (0) and {label(full)} (1)"
    checks = (
        []
        if rules["min_position"] is None
        else [
            # §3: "this simple trick gives more than two-thirds of the improvement in accuracy that complete batch
            # normalization gives"
            Check.at_least(
                target,
                f"BN only at the top {verb} with most of full BN's gain over none",
                placed,
                position[0],
                rules["min_position"],
                position[1],
            ),
            # App. G: "only somewhat weaker performance than a completely batch normalized network"
            Check.below(
                target,
                f"BN only at the top {verb} somewhat worse than full BN",
                f"{placed}, against full BN's",  # the value above under its upper rule (a distinct metrics key)
                position[0],
                rules["max_position"],
                position[1],
            ),
        ]
    )
    mean, spread = paired(lambda t: t, finals(top, metric))
    if target == "fig15" and rules["min_train_acc"] is not None:
        checks.append(
            Check.at_least(
                target,
                "BN only at the top trains",
                f"final training accuracy of {label(top)}",
                mean,
                rules["min_train_acc"],
                spread,
            )
        )
    if target == "fig16" and rules["paper_test_acc"] is not None:
        paper = rules["paper_test_acc"]
        checks.append(
            Check(
                target,
                f"~{paper:.1%} test accuracy",
                f"final test accuracy of {label(top)}",
                mean,
                f"within {rules['tolerance']:g} of {paper:g}",
                abs(mean - paper) <= rules["tolerance"],
                spread,
            )
        )
    return checks


def fig17_claims(target: str, finals: Finals, panels: Panels, rules: dict) -> list[Check]:
    """App. H: the affine part adds little (~0.6%); the normalization parts matter much more (the right panel's
    spread at least ``min_parts_factor`` times the left's)."""
    (_, left), (_, right) = panels

    def spread_of(curves):
        stacked = np.stack([finals(c[0]) for c in curves])
        return stacked.max(axis=0) - stacked.min(axis=0)  # per seed

    affine, parts = spread_of(left), spread_of(right)
    left_value = paired(lambda a: a, affine)
    factor = rules["min_parts_factor"]
    # App. H: "the normalization has much more dramatic effects": the right panel's spread at least factor x the
    # left's, checked as a margin (a ratio over a left spread near 0 has no stable spread over seeds)
    wider = paired(lambda p, a: p - factor * a, parts, affine)
    return [
        Check.at_most(
            "fig17",
            "the affine part adds ~0.6%",
            "left panel: spread of final test accuracy",
            left_value[0],
            rules["max_affine_gain"],
            left_value[1],
        ),
        Check.at_least(
            "fig17",
            "normalization matters much more",
            f"right panel's spread of final test accuracy minus {factor:g} x the left panel's",
            wider[0],
            0.0,
            wider[1],
        ),
    ]


# Each training figure's claims function: (its name, the final accuracies, its panels, its rules) -> checks.
CURVE_CLAIMS = {"fig1": fig1_claims, "fig15": fig15_16_claims, "fig16": fig15_16_claims, "fig17": fig17_claims}


def curve_claims(target: str, summary: pl.DataFrame, panels: Panels, rules: dict) -> list[Check]:
    """The claims of one curve figure (``panels`` from :func:`pipeline.train.runs.curve_panels`)."""
    if target not in CURVE_CLAIMS:
        raise ValueError(f"'{target}' is not a training figure")
    return CURVE_CLAIMS[target](target, Finals(summary, curves_of(panels)), panels, rules)


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The claims of one training figure from exactly its runs' metrics (``data.metrics``).
    ``settings["experiment"]`` rebuilds the runs of its ``training:`` entry ``settings["runs_of"]``
    (:func:`pipeline.train.runs.experiment_params`)."""
    (target,) = targets
    entry, params, rules = settings["runs_of"], dict(settings["experiment"]), dict(settings["figures"][target])
    summary = run_summary(parquet.read_all(data.metrics))
    panels = train_runs.curve_panels(entry, params)
    where = where_ran([curve for _, curves in panels for curve in curves], params["train"])
    checks = [
        dataclasses.replace(c, quantity=f"{c.quantity} ({where})") for c in curve_claims(target, summary, panels, rules)
    ]
    return Decision({target: checks}, parquet.provenance(data.metrics[0]))
