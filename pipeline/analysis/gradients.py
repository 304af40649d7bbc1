"""Table 1 / Table 4, Fig. 2 and Fig. 23 from the gradient probe's Parquet: tables in the paper's layout, claims."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis import channels
from pipeline.claims import Check, Decision


def wide_table(table: pl.DataFrame, layers: list[int]) -> pl.DataFrame:
    """One row per (layer, variant): a, b, c, d (means over the kernel) and the ratio a/d."""
    return (
        table.filter(pl.col("layer").is_in(layers))
        .pivot(on="stat", index=["layer", "variant", "dead_params"], values="value")
        .with_columns(ratio=pl.col("a") / pl.col("d"))
        .sort("layer", "variant")
    )


def markdown(wide: pl.DataFrame, title: str, note: str) -> str:
    """The table as Markdown, as the paper lays it out (values to 3 significant digits)."""
    lines = [
        f"# {title}",
        "",
        note,
        "",
        "| layer | network | (a) sum abs(d) | (b) sum_b abs(sum_xy d) | "
        "(c) sum_xy abs(sum_b d) | (d) abs(sum d) | (a)/(d) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in wide.iter_rows(named=True):
        lines.append(
            f"| {r['layer']} | {r['variant']} | {r['a']:.3g} | {r['b']:.3g} | {r['c']:.3g} | {r['d']:.3g} | "
            f"{r['ratio']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def table_claims(
    wide: pl.DataFrame, target: str, normalized: str, unnormalized: str, none_max: float, bn_min: float
) -> list[Check]:
    """Per layer: (a)/(d) within a factor ~2 for the unnormalized net, ~100x for the batch-normalized one."""
    checks = []
    for r in wide.iter_rows(named=True):
        if r["variant"] == unnormalized:
            checks.append(
                Check.at_most(
                    target,
                    "unnormalized: (a) and (d) within a factor ~2",
                    f"{unnormalized}: (a)/(d) at layer {r['layer']}",
                    r["ratio"],
                    none_max,
                )
            )
        elif r["variant"] == normalized:
            checks.append(
                Check.at_least(
                    target,
                    "batch-normalized: (a) and (d) differ by ~100x",
                    f"{normalized}: (a)/(d) at layer {r['layer']}",
                    r["ratio"],
                    bn_min,
                )
            )
    return checks


def _excess_kurtosis(values: pl.Series) -> float:
    centered = values - values.mean()
    return float((centered**4).mean() / (centered**2).mean() ** 2 - 3)


def fig2_claims(params: pl.DataFrame, layer: int, normalized: str, unnormalized: str, min_ratio: float) -> list[Check]:
    """none's gradients ~100x larger than bn's, with heavier tails."""
    grads = {
        v: params.filter(pl.col("variant") == v, pl.col("stat") == "grad", pl.col("layer") == layer)["value"]
        for v in (normalized, unnormalized)
    }
    ratio = float(grads[unnormalized].abs().mean() / grads[normalized].abs().mean())
    kurtosis = {v: _excess_kurtosis(g) for v, g in grads.items()}
    return [
        Check.at_least(
            "fig2",
            "unnormalized gradients ~100x larger",
            f"mean |gradient| at layer {layer}, {unnormalized} / {normalized}",
            ratio,
            min_ratio,
        ),
        Check(
            "fig2",
            "unnormalized gradients have heavier tails",
            f"excess kurtosis at layer {layer}, {unnormalized} (bn: {kurtosis[normalized]:.3g})",
            kurtosis[unnormalized],
            f"> {normalized}'s",
            kurtosis[unnormalized] > kurtosis[normalized],
        ),
    ]


def symmetric_histograms(frame: pl.DataFrame, bins: int) -> pl.DataFrame:
    """Per variant, a histogram of ``value`` on its own range symmetric about 0 (so 0 is mid-axis and any skew
    shows). Columns: variant, left, right, count."""
    frames = []
    for (variant,), part in frame.group_by("variant"):
        values = part["value"].to_numpy()
        edges = np.linspace(-np.abs(values).max(), np.abs(values).max(), bins + 1)
        counts, _ = np.histogram(values, bins=edges)
        frames.append(pl.DataFrame({"variant": variant, "left": edges[:-1], "right": edges[1:], "count": counts}))
    return pl.concat(frames).sort("variant", "left")


def gradient_histograms(params: pl.DataFrame, layer: int, bins: int) -> pl.DataFrame:
    """Fig. 2: per variant, a histogram of the layer's kernel gradients on its own symmetric range."""
    return symmetric_histograms(params.filter(pl.col("layer") == layer, pl.col("stat") == "grad"), bins)


def scatter(params: pl.DataFrame, layer: int) -> pl.DataFrame:
    """Fig. 23's points: per kernel parameter (a) and (d), dead parameters (all summands zero) left out."""
    return (
        params.filter(pl.col("layer") == layer, pl.col("stat").is_in(["a", "d"]))
        .pivot(on="stat", index=["variant", "param"], values="value")
        .filter(pl.col("a") > 0)
    )


def fig23_claims(points: pl.DataFrame, layer: int, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """none: |sum d| and sum |d| lie on a line; bn: no relation, and much smaller."""
    r = {
        v: float(points.filter(pl.col("variant") == v).select(pl.corr("a", "d"))[0, 0])
        for v in (normalized, unnormalized)
    }
    median = {v: float(points.filter(pl.col("variant") == v)["d"].median()) for v in (normalized, unnormalized)}
    size = median[normalized] / median[unnormalized]
    if not all(math.isfinite(v) for v in (*r.values(), size)):
        raise ValueError(f"layer {layer}: too few live kernel parameters to decide Fig. 23's claim")
    return [
        Check.at_least(
            "fig23",
            "unnormalized: points on a line",
            f"{unnormalized}: Pearson r of (a), (d) at layer {layer}",
            r[unnormalized],
            rules["none_min_correlation"],
        ),
        Check.at_most(
            "fig23",
            "batch-normalized: no relation",
            f"{normalized}: Pearson r of (a), (d) at layer {layer}",
            r[normalized],
            rules["bn_max_correlation"],
        ),
        Check.at_most(
            "fig23",
            "batch-normalized: much smaller",
            f"median (d) at layer {layer}, {normalized} / {unnormalized}",
            size,
            rules["max_size_ratio"],
        ),
    ]


def softmax_spread(logits: pl.DataFrame) -> pl.DataFrame:
    """Per variant: mean over images of the total-variation distance of each softmax to the batch mean, and the
    share of images whose most probable class is the batch's most common one, that class (modal_class) and its
    mean softmax probability over the images (modal_p) (Fig. 4)."""
    mean_p = logits.group_by("variant", "class").agg(mean_p=pl.col("probability").sort().mean())
    tv = (
        logits.join(mean_p, on=["variant", "class"])
        .group_by("variant", "image")
        .agg(tv=(pl.col("probability") - pl.col("mean_p")).abs().sort().sum() / 2)
        .group_by("variant")
        .agg(spread=pl.col("tv").sort().mean())
    )
    top = logits.sort("probability", descending=True).group_by("variant", "image").agg(pl.col("class").first())
    modal = top.group_by("variant").agg(
        modal_share=pl.col("class").value_counts(sort=True).first().struct.field("count") / pl.len(),
        modal_class=pl.col("class").value_counts(sort=True).first().struct.field("class"),
    )
    modal_p = mean_p.join(modal, left_on=["variant", "class"], right_on=["variant", "modal_class"]).select(
        "variant", modal_p="mean_p"
    )
    return tv.join(modal, on="variant").join(modal_p, on="variant").sort("variant")


def fig4_claims(spread: pl.DataFrame, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """none: one class favored for every input and the gradient's input-dependent part vanishes; bn: it does not."""
    row = {r["variant"]: r for r in spread.iter_rows(named=True)}
    none, bn = row[unnormalized], row[normalized]
    return [
        Check(
            "fig4",
            "unnormalized: gradients nearly input-independent",
            f"{unnormalized}: softmax spread across images (mean TV to the batch mean); "
            f"{none['modal_share']:.0%} of images favor one class",
            none["spread"],
            f"<= {rules['none_max_spread']:g}",
            none["spread"] <= rules["none_max_spread"],
        ),
        Check.at_least(
            "fig4",
            "batch-normalized: gradients depend on the input",
            f"{normalized}: softmax spread across images; {bn['modal_share']:.0%} of images favor one class",
            bn["spread"],
            rules["bn_min_spread"],
        ),
    ]


def channel_summary(channels: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, layer): mean and std over channels of |channel gradient| (Fig. 19)."""
    return (
        channels.group_by("variant", "layer")
        .agg(mean=pl.col("value").abs().sort().mean(), std=pl.col("value").abs().sort().std(ddof=0))
        .sort("variant", "layer")
    )


def fig19_claims(summary: pl.DataFrame, depth: int, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """Stage 1 vs stage 3 (the first and last 2n convs): none much larger early, bn similar."""
    blocks = 2 * (depth - 2) // 6
    ratio = {}
    for variant in (normalized, unnormalized):
        means = summary.filter(pl.col("variant") == variant).sort("layer")["mean"].to_list()[1:]  # blocks only
        ratio[variant] = (sum(means[:blocks]) / blocks) / (sum(means[-blocks:]) / blocks)
    decades = abs(math.log10(ratio[normalized]))
    return [
        Check.at_least(
            "fig19",
            "unnormalized: channel gradients larger in early layers",
            f"{unnormalized}: mean |channel gradient|, stage 1 / stage 3",
            ratio[unnormalized],
            rules["none_min_early_late"],
        ),
        Check.at_most(
            "fig19",
            "batch-normalized: similarly scaled across layers",
            f"{normalized}: |log10| of mean |channel gradient|, stage 1 / stage 3",
            decades,
            rules["bn_max_decades"],
        ),
    ]


def class_summary(classes: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, class): quantiles and mean of |kernel gradient| with dL/dz kept for that class only.

    Parameters with an exactly zero gradient (a dead input channel: every summand is zero) are left out.
    """
    value = pl.col("value").abs().sort()
    return (
        classes.filter(pl.col("value") != 0)
        .group_by("variant", "class")
        .agg(
            mean=value.mean(),
            q10=value.quantile(0.1),
            q25=value.quantile(0.25),
            median=value.median(),
            q75=value.quantile(0.75),
            q90=value.quantile(0.9),
        )
        .sort("variant", "class")
    )


def favored_class(logits: pl.DataFrame, variant: str) -> int:
    """The class most images of the mini-batch put their largest probability on."""
    top = (
        logits.filter(pl.col("variant") == variant)
        .sort("probability", descending=True)
        .group_by("image")
        .agg(pl.col("class").first())
    )
    return int(top["class"].mode().sort()[0])


def fig20_21_claims(
    summary: pl.DataFrame,
    logits: pl.DataFrame,
    layer: int,
    normalized: str,
    unnormalized: str,
    min_ratio: float,
) -> dict[str, list[Check]]:
    """The class every input is pushed towards (j') gives by far the largest gradients in the unnormalized net."""
    checks: dict[str, list[Check]] = {"fig20": [], "fig21": []}
    for variant in (unnormalized, normalized):
        rows = summary.filter(pl.col("variant") == variant).sort("class")
        favored = favored_class(logits, variant)
        top = int(rows["class"][rows["mean"].arg_max()])
        others = rows.filter(pl.col("class") != top)
        ratio = float(rows.filter(pl.col("class") == top)["mean"][0] / others["mean"].median())
        if variant == unnormalized:
            checks["fig21"].append(
                Check.at_least(
                    "fig21",
                    "unnormalized: the favored class gives ~10x larger gradients",
                    f"{variant}: mean |gradient| at layer {layer}, class {top} / median of the other classes",
                    ratio,
                    min_ratio,
                )
            )
            checks["fig20"].append(
                Check(
                    "fig20",
                    "unnormalized: the largest gradients come from the favored class",
                    f"{variant}: class with the largest |gradient| at layer {layer} (favored class: {favored})",
                    float(top),
                    f"== {favored}",
                    top == favored,
                )
            )
        else:
            checks["fig21"].append(
                Check(
                    "fig21",
                    "batch-normalized: no class dominates as much",
                    f"{variant}: mean |gradient| at layer {layer}, class {top} / median of the other classes",
                    ratio,
                    f"< {unnormalized}'s",
                    ratio < checks["fig21"][0].value,
                )
            )
    return checks


def summand_summary(summands: pl.DataFrame) -> pl.DataFrame:
    """Per variant, Fig. 22's chosen parameter: its (d)/(a), (a) over the layer's median, and the centering
    |mean| / std of its summands (0 for a distribution centered at 0, large when skewed far from it)."""
    return (
        summands.group_by("variant")
        .agg(
            param=pl.col("param").first(),
            ratio=(pl.col("d") / pl.col("a")).first(),
            liveness=(pl.col("a") / pl.col("median_a")).first(),
            mean=pl.col("value").sort().mean(),
            center=pl.col("value").sort().mean().abs() / pl.col("value").sort().std(ddof=0),
            nonzero=(pl.col("value") != 0).mean(),
        )
        .sort("variant")
    )


def fig22_claims(summary: pl.DataFrame, layer: int, unnormalized: str, min_center: float) -> list[Check]:
    """The summands of a typical unnormalized parameter with |sum d| ~ sum |d| are skewed far from 0."""
    rows = summary.filter(pl.col("variant") == unnormalized)
    if rows.is_empty():
        raise ValueError(f"layer {layer}: {unnormalized}'s kernel gradient is 0 there, so Fig. 22 has no parameter")
    row = rows.row(0, named=True)
    return [
        Check.at_least(
            "fig22",
            "unnormalized: the summands are skewed far from 0",
            f"{unnormalized}: |mean|/std of the summands of layer-{layer} parameter {row['param']} "
            f"((d)/(a) {row['ratio']:.2f}, (a) {row['liveness']:.2f} x the layer median)",
            row["center"],
            min_center,
        )
    ]


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The claims of Table 1, Table 4 and Fig. 2, 4, 7, 19-23 from the gradient probe's outputs (``data.table``,
    ``data.params``, ``data.logits``, ``data.channels``, ``data.classes``, ``data.summands``)."""
    table = parquet.read_all(data.table)
    params = parquet.read_all(data.params)
    bn, none = settings["probes/variants"]
    layers, rules = settings["probes/gradients"], settings["figures"]
    table1 = rules["table1"]
    checks = {
        target: table_claims(
            wide_table(table, layers[f"{target}_layers"]),
            target,
            bn,
            none,
            table1["none_max_ratio"],
            table1["bn_min_ratio"],
        )
        for target in ("table1", "table4")  # Table 4 is decided by Table 1's rules
    }
    checks["fig2"] = fig2_claims(params, layers["fig2_layer"], bn, none, rules["fig2"]["min_magnitude_ratio"])
    points = scatter(params, layers["fig23_layer"])
    checks["fig4"] = fig4_claims(softmax_spread(parquet.read_all(data.logits)), bn, none, dict(rules["fig4"]))
    checks["fig19"] = fig19_claims(
        channel_summary(parquet.read_all(data.channels)),
        settings["model/depth"],
        bn,
        none,
        dict(rules["fig19"]),
    )
    checks.update(
        fig20_21_claims(
            class_summary(parquet.read_all(data.classes)),
            parquet.read_all(data.logits),
            layers["fig20_layer"],
            bn,
            none,
            rules["fig21"]["min_class_ratio"],
        )
    )
    fig7_layer = layers["fig7_layer"]
    checks["fig7"] = channels.fig7_claims(
        channels.channel_matrix(params, fig7_layer), fig7_layer, bn, none, dict(rules["fig7"])
    )
    checks["fig22"] = fig22_claims(
        summand_summary(parquet.read_all(data.summands)),
        layers["fig22_layer"],
        none,
        rules["fig22"]["min_none_center"],
    )
    checks["fig23"] = fig23_claims(points, layers["fig23_layer"], bn, none, dict(rules["fig23"]))
    return Decision(checks, parquet.provenance(data.table[0]))
