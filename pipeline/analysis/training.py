"""The training figures and tables from the runs' metrics Parquet: curves over seeds, grid searches, claims.

Fig. 1, 15, 16, 17 are curves: per epoch, the mean and standard deviation over seeds. Table 2 picks the rate
with the best final test accuracy per variant (diverged and chance runs cannot win); Table 3 the highest rate
that neither diverges nor stays at chance. Which runs make a curve or a grid point comes from
:mod:`pipeline.train.runs`, the same function that told Snakemake which runs to train.
"""

from __future__ import annotations

import polars as pl

from pipeline.claims import Check
from pipeline.train.runs import Run, decimal, grid_runs

CURVE_METRICS = ("train_acc", "test_acc")


def label(run: Run) -> str:
    """A curve's legend entry: variant, rate and epochs (the first attempt's, under the doubling rule)."""
    return f"{run.variant}, lr {decimal(run.lr)}, {run.epochs} ep{' doubling' if run.doubling else ''}"


def run_summary(metrics: pl.DataFrame) -> pl.DataFrame:
    """Per run: status, final train and test accuracy (last completed epoch), epochs completed."""
    accuracy = metrics.filter(pl.col("metric").is_in(CURVE_METRICS))
    last = (
        accuracy.sort("epoch")
        .group_by("run", "metric")
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
            .agg(mean=pl.col("value").mean(), std=pl.col("value").std(ddof=0), seeds=pl.len())
            .with_columns(curve=pl.lit(label(runs[0])), order=pl.lit(order))
        )
    return (
        pl.concat(frames)
        .with_columns(lower=pl.col("mean") - pl.col("std"), upper=pl.col("mean") + pl.col("std"))
        .sort("order", "metric", "epoch")
    )


def final(stats: pl.DataFrame, metric: str) -> dict[str, float]:
    """Per curve: the mean over seeds of ``metric`` at the curve's last epoch."""
    last = stats.filter(pl.col("metric") == metric).sort("epoch").group_by("curve").agg(pl.col("mean").last())
    return dict(zip(last["curve"], last["mean"], strict=True))


def fig1_claims(stats: pl.DataFrame, curves: list[list[Run]], rules: dict, profile: str) -> list[Check]:
    """bn at its best rate gives the best test accuracy; bn at the unnormalized schedule is no better than none
    and overfits more (a larger train - test gap)."""
    heads = [runs[0] for runs in curves]
    none = next((r for r in heads if r.variant != "bn"), None)
    slow = next((r for r in heads if r.variant == "bn" and none and (r.lr, r.epochs) == (none.lr, none.epochs)), None)
    if none is None or slow is None:
        raise ValueError("params.yaml: key 'training.fig1.curves' needs an unnormalized curve and bn at its rate")
    best = max((r for r in heads if r.variant == "bn"), key=lambda r: r.lr)
    test, train = final(stats, "test_acc"), final(stats, "train_acc")
    top = max(test, key=test.get)
    gap = {r: train[label(r)] - test[label(r)] for r in (slow, none)}
    return [
        Check(
            "fig1",
            "bn at its best rate has the best test accuracy",
            f"curve with the best final test accuracy ({test[top]:.4f})",
            test[label(best)],
            f"== {label(best)}",
            top == label(best),
            profile,
        ),
        Check.at_most(
            "fig1",
            "bn at the unnormalized rate and schedule is no better than none",
            f"final test accuracy, {label(slow)} minus {label(none)}",
            test[label(slow)] - test[label(none)],
            rules["max_slow_advantage"],
            profile,
        ),
        Check(
            "fig1",
            "... and overfits (larger train - test gap)",
            f"train - test accuracy gap of {label(slow)} ({label(none)}: {gap[none]:.4f})",
            gap[slow],
            f"> {label(none)}'s",
            gap[slow] > gap[none],
            profile,
        ),
    ]


def fig15_16_claims(stats: pl.DataFrame, rules: dict, profile: str) -> dict[str, list[Check]]:
    """bn_top reaches ~90.1% test accuracy (Fig. 16) and fits its training data (Fig. 15)."""
    test, train = final(stats, "test_acc"), final(stats, "train_acc")
    curve = next(iter(test))
    return {
        "fig15": [
            Check.at_least(
                "fig15",
                "BN only at the top trains",
                f"final train accuracy of {curve}",
                train[curve],
                rules["min_train_acc"],
                profile,
            )
        ],
        "fig16": [
            Check(
                "fig16",
                f"~{rules['paper_test_acc']:.1%} test accuracy",
                f"final test accuracy of {curve}",
                test[curve],
                f"within {rules['tolerance']:g} of {rules['paper_test_acc']:g}",
                abs(test[curve] - rules["paper_test_acc"]) <= rules["tolerance"],
                profile,
            )
        ],
    }


def fig17_claims(left: pl.DataFrame, right: pl.DataFrame, rules: dict, profile: str) -> list[Check]:
    """The affine part adds little (~0.6%); the normalization parts matter much more (a wider spread)."""
    lt, rt = final(left, "test_acc"), final(right, "test_acc")
    affine = max(lt.values()) - min(lt.values())
    parts = max(rt.values()) - min(rt.values())
    return [
        Check.at_most(
            "fig17",
            "the affine part adds ~0.6%",
            "left panel: spread of final test accuracy",
            affine,
            rules["max_affine_gain"],
            profile,
        ),
        Check(
            "fig17",
            "normalization matters much more",
            f"right panel: spread of final test accuracy (left: {affine:.4f})",
            parts,
            "> the left panel's",
            parts > affine,
            profile,
        ),
    ]


def grid_table(summary: pl.DataFrame, rows: list[tuple[str, list[Run]]], paper: list[float | None]) -> pl.DataFrame:
    """One row per (table row, rate): status and final accuracy (mean over seeds), with the paper's rate."""
    out = []
    for (name, runs), paper_lr in zip(rows, paper, strict=True):
        for lr in dict.fromkeys(r.lr for r in runs):
            names = [r.name for r in runs if r.lr == lr]
            part = summary.filter(pl.col("run").is_in(names))
            statuses = sorted(set(part["status"]))
            out.append(
                {
                    "row": name,
                    "lr": lr,
                    "epochs": runs[0].epochs,
                    "status": "+".join(statuses),
                    "ok": statuses == ["completed"],
                    "test_acc": part["test_acc"].mean(),
                    "paper_lr": paper_lr,
                }
            )
    return pl.DataFrame(out, schema_overrides={"test_acc": pl.Float64, "paper_lr": pl.Float64})


def table2_rows(params: dict) -> tuple[list[tuple[str, list[Run]]], list[float]]:
    """Table 2's rows: each variant over the grid, and the paper's best rate (the variant's lr)."""
    t = params["training"]["table2"]
    rows = [(v, grid_runs({"variant": v}, t["grid"], params, t["seeds"])) for v in t["variants"]]
    return rows, [params["variants"][v]["lr"] for v in t["variants"]]


def table3_rows(params: dict) -> tuple[list[tuple[str, list[Run]]], list[float | None]]:
    """Table 3's rows (architectures over the grid) and the stability row (bn at 3.0 and 10.0)."""
    t = params["training"]["table3"]
    rows = [(r.get("label", r["variant"]), grid_runs(r, t["grid"], params, t["seeds"])) for r in t["rows"]]
    paper = [r.get("paper_lr") for r in t["rows"]]
    s = t["stability"]
    rows.append((f"{s['variant']} stability", grid_runs({"variant": s["variant"]}, s["lrs"], params, t["seeds"])))
    return rows, [*paper, None]


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


def markdown(table: pl.DataFrame, result: pl.DataFrame, column: str, title: str, note: str) -> str:
    """A table in the paper's layout (row, our rate, the paper's rate) followed by every grid point."""
    lines = [f"# {title}", "", note, "", f"| row | {column.replace('_', ' ')} (ours) | paper |", "|---|---|---|"]
    for r in result.iter_rows(named=True):
        ours = "none" if r[column] is None else decimal(r[column])
        paper = "" if r["paper_lr"] is None else decimal(r["paper_lr"])
        lines.append(f"| {r['row']} | {ours} | {paper} |")
    lines += ["", "Every grid point (status; final test accuracy, mean over seeds):", ""]
    lines += ["| row | lr | epochs | status | test accuracy |", "|---|---|---|---|---|"]
    for r in table.iter_rows(named=True):
        acc = "" if r["test_acc"] is None else f"{r['test_acc']:.4f}"
        lines.append(f"| {r['row']} | {decimal(r['lr'])} | {r['epochs']} | {r['status']} | {acc} |")
    return "\n".join(lines) + "\n"
