"""The training figures and tables from the runs' metrics Parquet: curves over seeds, grid searches, claims.

Fig. 1, 15, 16, 17 are curves: per epoch, the mean and standard deviation over seeds. Table 2 picks the rate
with the best final test accuracy per variant (diverged and chance runs cannot win); Table 3 the highest rate
that neither diverges nor stays at chance. Which runs make a curve or a grid row comes from
:mod:`pipeline.train.runs`, the same functions that told Snakemake which runs to train.

Claims are written as margins, orderings and divergence, so that they mean the same at the paper's scale and at
a reduced one; the paper's absolute numbers (90.1%, its best rates) are extra checks that a profile switches on
by setting their rules (``figures.*`` in params.yaml; null or false switches them off). A curve claim is
computed on the means over seeds, and its spread is the standard deviation of the same quantity computed seed by
seed (the runs of one seed share their initial weights across curves, so the comparison is paired).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.claims import Check, Decision
from pipeline.train import runs as train_runs
from pipeline.train.runs import Run, decimal

CURVE_METRICS = ("train_acc", "test_acc")


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
    return reduced


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


def fig1_claims(finals: Finals, curves: list[list[Run]], rules: dict, profile: str) -> list[Check]:
    """§2 and Fig. 1: bn at its highest rate is best; at the unnormalized network's rate and schedule bn is no
    better than none and overfits more; the higher rate mediates most of BN's benefit; an intermediate rate
    lands in between."""
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
    gap = paired(
        lambda s_tr, s_te, n_tr, n_te: (s_tr - s_te) - (n_tr - n_te),
        test(slow, "train_acc"),
        test(slow),
        test(none, "train_acc"),
        test(none),
    )
    checks = [
        Check.above(
            "fig1",
            "bn at its highest rate has the best test accuracy",
            f"final test accuracy, {label(fast)} minus the best other curve",
            best[0],
            0.0,
            profile,
            best[1],
        ),
        Check.at_most(
            "fig1",
            "bn at the unnormalized rate and schedule is no better than none",
            f"final test accuracy, {label(slow)} minus {label(none)}",
            advantage[0],
            rules["max_slow_advantage"],
            profile,
            advantage[1],
        ),
        Check.above(
            "fig1",
            "... and overfits (larger train - test gap)",
            f"train - test accuracy gap, {label(slow)} minus {label(none)}",
            gap[0],
            0.0,
            profile,
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
            profile,
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
                profile,
                between[1],
            )
        )
    return checks


def fig15_16_claims(target: str, finals: Finals, curves: list[list[Run]], rules: dict, profile: str) -> list[Check]:
    """App. G: with BN only at the top the network trains (Fig. 15) and tests (Fig. 16) only somewhat worse
    than with full BN. ``curves`` are bn_top's, then the two reference curves (full BN, then none). The
    position of bn_top between none (0) and full BN (1) is the reduced-scale claim; the paper's 90.1% and a
    saturated training accuracy are the paper-scale ones."""
    metric = "train_acc" if target == "fig15" else "test_acc"
    what, verb = ("training", "trains") if metric == "train_acc" else ("test", "generalizes")
    top, full, none = curves[0][0], curves[-2][0], curves[-1][0]
    checks = []
    if rules["min_position"] is not None:
        position = paired(
            lambda t, f, n: (t - n) / (f - n), finals(top, metric), finals(full, metric), finals(none, metric)
        )
        checks.append(
            Check.at_least(
                target,
                f"BN only at the top {verb} only somewhat worse than full BN",
                f"final {what} accuracy of {label(top)}, placed between {label(none)} (0) and {label(full)} (1)",
                position[0],
                rules["min_position"],
                profile,
                position[1],
            )
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
                profile,
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
                profile,
                spread,
            )
        )
    return checks


def fig17_claims(
    finals: Finals, left: list[list[Run]], right: list[list[Run]], rules: dict, profile: str
) -> list[Check]:
    """App. H: the affine part adds little (~0.6%); the normalization parts matter much more (a wider spread)."""

    def spread_of(curves):
        stacked = np.stack([finals(c[0]) for c in curves])
        return stacked.max(axis=0) - stacked.min(axis=0)  # per seed

    affine, parts = spread_of(left), spread_of(right)
    left_value = paired(lambda a: a, affine)
    wider = paired(np.subtract, parts, affine)
    return [
        Check.at_most(
            "fig17",
            "the affine part adds ~0.6%",
            "left panel: spread of final test accuracy",
            left_value[0],
            rules["max_affine_gain"],
            profile,
            left_value[1],
        ),
        Check.above(
            "fig17",
            "normalization matters much more",
            "right panel's spread of final test accuracy minus the left panel's",
            wider[0],
            0.0,
            profile,
            wider[1],
        ),
    ]


def curve_claims(
    target: str, summary: pl.DataFrame, panels: list[tuple[str, list[list[Run]]]], rules: dict, profile: str
):
    """The claims of one curve figure (``panels`` from :func:`pipeline.train.runs.curve_panels`)."""
    curves = [c for _, panel in panels for c in panel]
    finals = Finals(summary, curves)
    if target == "fig1":
        return fig1_claims(finals, curves, rules, profile)
    if target in ("fig15", "fig16"):
        return fig15_16_claims(target, finals, curves, rules, profile)
    if target == "fig17":
        return fig17_claims(finals, panels[0][1], panels[1][1], rules, profile)
    raise ValueError(f"'{target}' is not a training figure")


def grid_table(summary: pl.DataFrame, rows: list[tuple[str, list[Run], float | None]]) -> pl.DataFrame:
    """One row per (table row, rate): status and final accuracy (mean over seeds), with the paper's rate."""
    out = []
    for name, runs, paper_lr in rows:
        for lr in dict.fromkeys(r.lr for r in runs):
            names = [r.name for r in runs if r.lr == lr]
            part = summary.filter(pl.col("run").is_in(names))
            statuses = sorted(set(part["status"]))
            out.append(
                {
                    "row": name,
                    "lr": lr,
                    "epochs": runs[0].epochs,
                    "depth": runs[0].depth,
                    "status": "+".join(statuses),
                    "ok": statuses == ["completed"],
                    "test_acc": part["test_acc"].mean(),
                    "paper_lr": paper_lr,
                }
            )
    return pl.DataFrame(out, schema_overrides={"test_acc": pl.Float64, "paper_lr": pl.Float64})


def best_rates(table: pl.DataFrame) -> pl.DataFrame:
    """Table 2: per row, the rate with the best final test accuracy among runs that completed."""
    ok = table.filter(pl.col("ok")).sort("test_acc", descending=True).group_by("row", maintain_order=True).first()
    return (
        table.select("row", "paper_lr")
        .unique(maintain_order=True)
        .join(ok.select("row", best_lr="lr", best_acc="test_acc", epochs="epochs"), on="row", how="left")
    )


def highest_rates(table: pl.DataFrame) -> pl.DataFrame:
    """Table 3: per row, the highest rate whose runs neither diverged nor stayed at chance."""
    ok = table.filter(pl.col("ok")).group_by("row", maintain_order=True).agg(highest_lr=pl.col("lr").max())
    return table.select("row", "paper_lr").unique(maintain_order=True).join(ok, on="row", how="left")


def rate_claims(result: pl.DataFrame, column: str, target: str, claim: str, profile: str) -> list[Check]:
    """Per row with a paper value: our rate equals the paper's."""
    checks = []
    for r in result.filter(pl.col("paper_lr").is_not_null()).iter_rows(named=True):
        ours = r[column]
        checks.append(
            Check(
                target,
                claim,
                f"{r['row']}: {column.replace('_', ' ')}",
                float("nan") if ours is None else ours,
                f"== {decimal(r['paper_lr'])} (paper)",
                ours is not None and abs(ours - r["paper_lr"]) <= 1e-12,
                profile,
            )
        )
    return checks


def decades(higher: float | None, lower: float | None) -> float:
    """log10(higher / lower) of two rates; a row with no usable rate counts as below every rate."""
    if higher is None and lower is None:
        return float("nan")
    if lower is None:
        return math.inf
    if higher is None:
        return -math.inf
    return math.log10(higher / lower)


def _rates(result: pl.DataFrame, column: str, target: str, names: list[str]) -> list[float | None]:
    found = dict(zip(result["row"], result[column], strict=True))
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"params.yaml: key 'figures.{target}' names rows {missing} that 'training.{target}' lacks")
    return [found[n] for n in names]


def order_check(result: pl.DataFrame, column: str, target: str, claim: str, pair: list[str], profile: str) -> Check:
    """Row ``pair[0]``'s rate is above row ``pair[1]``'s (in decades, > 0)."""
    high, low = _rates(result, column, target, pair)
    return Check.above(
        target,
        claim,
        f"{column.replace('_', ' ')}, {pair[0]} over {pair[1]} (decades)",
        decades(high, low),
        0.0,
        profile,
    )


def table2_claims(table: pl.DataFrame, result: pl.DataFrame, rules: dict, profile: str) -> list[Check]:
    """App. H, Table 2: the highest rates that do not diverge give the best results; every normalizing variant
    reaches a larger best rate than the unnormalized network; mean and variance normalization together allow a
    larger rate than either alone. With ``match_paper`` also: each best rate equals the paper's."""
    checks = (
        rate_claims(result, "best_lr", "table2", "best rate as in the paper", profile) if rules["match_paper"] else []
    )
    highest = highest_rates(table)
    best = dict(zip(result["row"], result["best_lr"], strict=True))
    below = [r for r, h in zip(highest["row"], highest["highest_lr"], strict=True) if best[r] != h]
    checks.append(
        Check.at_most(
            "table2",
            "the highest rates that don't diverge give the best results",
            f"variants whose best rate is below their highest completed one ({', '.join(below) or 'none'})",
            float(len(below)),
            0.0,
            profile,
        )
    )
    none = rules["unnormalized"]
    others = [r for r in result["row"] if r != none]
    (none_lr,) = _rates(result, "best_lr", "table2", [none])
    gaps = {r: decades(best[r], none_lr) for r in others}
    low = min(gaps, key=gaps.get)
    checks.append(
        Check.above(
            "table2",
            "normalization enables larger rates",
            f"smallest best-rate gap of a normalizing variant over {none} ({low}), decades",
            gaps[low],
            0.0,
            profile,
        )
    )
    both, alone = rules["both_moments"], rules["one_moment"]
    (both_lr,) = _rates(result, "best_lr", "table2", [both])
    single = [r for r in _rates(result, "best_lr", "table2", alone) if r is not None]
    checks.append(
        Check.above(
            "table2",
            "both the mean and the variance normalization matter",
            f"best rate of {both} over the best of {', '.join(alone)} (decades)",
            decades(both_lr, max(single) if single else None),
            0.0,
            profile,
        )
    )
    return checks


def stability_claims(table: pl.DataFrame, profile: str) -> list[Check]:
    """App. J: bn does not diverge at 3.0 and diverges at 10.0 (the table's stability row)."""
    rows = table.filter(pl.col("row").str.ends_with("stability")).sort("lr")
    low, high = rows.row(0, named=True), rows.row(-1, named=True)
    return [
        Check(
            "table3",
            f"bn does not diverge at {decimal(low['lr'])}",
            f"{low['row']}: status at lr {decimal(low['lr'])}",
            float("diverged" in low["status"]),
            "== 0 (not diverged)",
            "diverged" not in low["status"],
            profile,
        ),
        Check(
            "table3",
            f"bn diverges at {decimal(high['lr'])}",
            f"{high['row']}: status at lr {decimal(high['lr'])}",
            float("diverged" in high["status"]),
            "== 1 (diverged)",
            "diverged" in high["status"],
            profile,
        ),
    ]


def table3_claims(table: pl.DataFrame, result: pl.DataFrame, rules: dict, profile: str) -> list[Check]:
    """App. J, Table 3: less deep ResNets, a warm start and full (not alternating) normalization each allow a
    higher rate; bn is stable at 3.0 and diverges at 10.0. With ``match_paper`` also: each rate equals the
    paper's."""
    checks = (
        rate_claims(result, "highest_lr", "table3", "highest rate as in the paper", profile)
        if rules["match_paper"]
        else []
    )
    for claim, key in (
        ("less deep ResNets enable larger rates", "shallow_vs_deep"),
        ("warm-starting an unnormalized net allows higher rates", "warm_vs_cold"),
        ("alternating normalization allows lower rates than BN", "bn_vs_alternating"),
    ):
        checks.append(order_check(result, "highest_lr", "table3", claim, rules[key], profile))
    return checks + stability_claims(table, profile)


def table_claims(target: str, summary: pl.DataFrame, rows, rules: dict, profile: str):
    """(grid table, per-row result, claims) of Table 2 (best rate) or Table 3 (highest achievable rate)."""
    table = grid_table(summary, rows)
    if target == "table2":
        result = best_rates(table)
        return table, result, table2_claims(table, result, rules, profile)
    result = highest_rates(table)
    return table, result, table3_claims(table, result, rules, profile)


TABLES = {
    "table2": ("best_lr", "Table 2: best learning rate per BN part", "final test accuracy decides"),
    "table3": (
        "highest_lr",
        "Table 3: highest achievable rate",
        "the highest rate that neither diverges nor stays at chance",
    ),
}


def table_markdown(target: str, table: pl.DataFrame, result: pl.DataFrame, profile: str) -> str:
    """Table 2 or 3 as Markdown: the paper's layout, then every grid point."""
    column, title, rule = TABLES[target]
    note = f"Profile {profile}; {rule}; diverged or chance runs cannot win."
    return markdown(table, result, column, title, note)


def markdown(table: pl.DataFrame, result: pl.DataFrame, column: str, title: str, note: str) -> str:
    """A table in the paper's layout (row, our rate, the paper's rate) followed by every grid point."""
    lines = [f"# {title}", "", note, "", f"| row | {column.replace('_', ' ')} (ours) | paper |", "|---|---|---|"]
    for r in result.iter_rows(named=True):
        ours = "none" if r[column] is None else decimal(r[column])
        paper = "" if r["paper_lr"] is None else decimal(r["paper_lr"])
        lines.append(f"| {r['row']} | {ours} | {paper} |")
    lines += ["", "Every grid point (status; final test accuracy, mean over seeds):", ""]
    lines += ["| row | depth | lr | epochs | status | test accuracy |", "|---|---|---|---|---|---|"]
    for r in table.iter_rows(named=True):
        acc = "" if r["test_acc"] is None else f"{r['test_acc']:.4f}"
        lines.append(f"| {r['row']} | {r['depth']} | {decimal(r['lr'])} | {r['epochs']} | {r['status']} | {acc} |")
    return "\n".join(lines) + "\n"


def decide(data, settings: dict, targets: list[str], profile: str) -> Decision:
    """The claims of one training target from exactly its runs' metrics (``data.metrics``), and for a table the
    table itself. ``settings["experiment"]`` rebuilds the runs of its ``training:`` entry ``settings["runs_of"]``
    (:func:`pipeline.train.runs.experiment_params`)."""
    (target,) = targets
    entry, params, rules = settings["runs_of"], dict(settings["experiment"]), dict(settings["figures"][target])
    summary = run_summary(parquet.read_all(data.metrics))
    record = parquet.provenance(data.metrics[0])
    if train_runs.is_curves(entry, params):
        checks = curve_claims(target, summary, train_runs.curve_panels(entry, params), rules, profile)
        return Decision({target: checks}, record)
    table, result, checks = table_claims(target, summary, train_runs.grid_rows(entry, params), rules, profile)
    return Decision({target: checks}, record, {target: (table, table_markdown(target, table, result, profile))})
