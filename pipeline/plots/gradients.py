"""The gradient figures at initialization: Fig. 2, 4, 7, 19, 20, 21, 22, 23 (one function each)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.plots.render import init_subtitle, log_error_bars


def fig2(histograms: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    panels = []
    for variant in provenance["params"]["variants"]:
        data = histograms.filter(pl.col("variant") == variant, pl.col("count") > 0)
        panels.append(
            alt.Chart(data.with_columns(center=(pl.col("left") + pl.col("right")) / 2), title=variant)
            .mark_line(interpolate="step")
            .encode(
                x=alt.X("center:Q", title=f"gradient of a layer-{layer} kernel parameter"),
                y=alt.Y("count:Q", title="parameters", scale=alt.Scale(type="log")),
            )
            .properties(width=340, height=260)
        )
    title = alt.Title(
        f"Figure 2: gradients of the layer-{layer} kernel at initialization",
        anchor="start",
        subtitle=init_subtitle(provenance, claims, "Each panel on its own scale; log count shows the tails."),
    )
    return alt.hconcat(*panels).properties(title=title)


def fig23(points: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.LayerChart:
    log = alt.Scale(type="log")
    dots = (
        alt.Chart(points)
        .mark_circle(size=6, opacity=0.35)
        .encode(
            x=alt.X("a:Q", title="sum over b,x,y of |d|  (a)", scale=log),
            y=alt.Y("d:Q", title="|sum over b,x,y of d|  (d)", scale=log),
            color=alt.Color("variant:N", title="network", sort=provenance["params"]["variants"]),
        )
    )
    low, high = float(points["a"].min()), float(points["a"].max())
    bound = (
        alt.Chart(pl.DataFrame({"a": [low, high], "d": [low, high]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="a:Q", y="d:Q")
    )
    title = alt.Title(
        f"Figure 23: |sum d| vs sum |d| per kernel parameter, layer {layer}",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Dashed: (d) = (a), the largest (d) can be; "
            "both scaled by 1/(positions x batch). Dead parameters left out.",
        ),
    )
    return (bound + dots).properties(width=460, height=380, title=title)


def fig4(logits: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """dL_b/dOUTPUT(b, j) for every image b and class j, a heatmap per network on its own colour scale."""
    panels = [
        alt.Chart(logits.filter(pl.col("variant") == variant), title=variant)
        .mark_rect()
        .encode(
            x=alt.X("class:O", title="class j"),
            y=alt.Y("image:O", title="image b in the mini-batch", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color(
                "gradient:Q", title=f"dL_b/dz_bj ({variant})", scale=alt.Scale(scheme="redblue", domainMid=0)
            ),
        )
        .properties(width=220, height=380)
        for variant in provenance["params"]["variants"]
    ]
    title = alt.Title(
        "Figure 4: gradients of each image's loss at the logits, at initialization",
        anchor="start",
        subtitle=init_subtitle(
            provenance, claims, "dL_b/dz_bj = softmax_bj - [j = label_b]; each panel on its own colour scale."
        ),
    )
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(title=title)


def fig19(summary: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.LayerChart:
    """Mean over channels of |channel gradient| per layer, error bars = std across channels, log y."""
    data, floor = log_error_bars(summary)
    base = alt.Chart(data).encode(
        x=alt.X("layer:Q", title="layer k (bias after the norm slot of conv k)", scale=alt.Scale(nice=False)),
        color=alt.Color("variant:N", title="network", sort=provenance["params"]["variants"]),
    )
    title_y = "mean over channels of |channel gradient|"
    line = base.mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        y=alt.Y("mean:Q", title=title_y, scale=alt.Scale(type="log", domainMin=floor))
    )
    bars = base.mark_errorbar(opacity=0.45).encode(y=alt.Y("lower:Q", title=title_y), y2="upper:Q")
    title = alt.Title(
        "Figure 19: gradients of the conv channels (bias gradients) per layer",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Channel gradient: BN's beta where there is BN, the "
            "conv bias where there is none. Error bars: std across channels, clipped at "
            "the axis floor.",
        ),
    )
    return (bars + line).properties(width=520, height=320, title=title)


def fig20(summary: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """Per class, the distribution of |kernel gradient| when only that class's dL/dz is backpropagated."""
    panels = []
    for variant in provenance["params"]["variants"]:
        base = alt.Chart(summary.filter(pl.col("variant") == variant), title=variant).encode(
            x=alt.X("class:O", title="class j kept in dL/dz")
        )
        scale = alt.Scale(type="log")
        whisker = base.mark_rule().encode(
            y=alt.Y("q10:Q", title=f"|gradient| of a layer-{layer} parameter", scale=scale), y2="q90:Q"
        )
        box = base.mark_bar(size=14, opacity=0.6).encode(y=alt.Y("q25:Q", scale=scale), y2="q75:Q")
        tick = base.mark_tick(color="black", size=14).encode(y=alt.Y("median:Q", scale=scale))
        panels.append((whisker + box + tick).properties(width=300, height=280))
    title = alt.Title(
        f"Figure 20: |kernel gradient| at layer {layer}, backpropagating one class at a time",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Box: 25-75%, tick: median, line: 10-90% over the kernel's parameters; those with a dead input channel "
            "(gradient exactly 0) left out; own scale per panel.",
        ),
    )
    return alt.hconcat(*panels).properties(title=title)


def fig21(summary: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """Per class, the mean |kernel gradient| when only that class's dL/dz is backpropagated."""
    panels = [
        alt.Chart(summary.filter(pl.col("variant") == variant), title=variant)
        .mark_bar()
        .encode(
            x=alt.X("class:O", title="class j kept in dL/dz"),
            y=alt.Y("mean:Q", title=f"mean |gradient| at layer {layer}"),
        )
        .properties(width=300, height=260)
        for variant in provenance["params"]["variants"]
    ]
    title = alt.Title(
        f"Figure 21: mean |kernel gradient| at layer {layer} per backpropagated class",
        anchor="start",
        subtitle=init_subtitle(provenance, claims, "Own scale per panel."),
    )
    return alt.hconcat(*panels).properties(title=title)


def fig7(matrix: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """Heatmap over (in channel, out channel) of sum_ij |sum_bxy d|, log colour, one panel per network."""
    panels = [
        alt.Chart(matrix.filter(pl.col("variant") == variant), title=variant)
        .mark_rect()
        .encode(
            x=alt.X("out_channel:O", title="out channel co", axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y("in_channel:O", title="in channel ci", axis=alt.Axis(labelOverlap=True)),
            color=alt.Color(
                "shown:Q",
                title=f"{variant}: sum_ij |sum d|",
                scale=alt.Scale(type="log", scheme="viridis"),
            ),
        )
        .transform_calculate(shown=f"max(datum.value, {_positive_floor(matrix, variant)})")
        .properties(width=300, height=300)
        for variant in provenance["params"]["variants"]
    ]
    title = alt.Title(
        f"Figure 7: gradient magnitude between in and out channels, layer {layer}",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Cell (ci, co): sum over the 3x3 kernel positions of |sum_bxy d| (Table 1's (d)); log colour, own scale "
            "per panel; exact zeros (dead channels) shown at the panel's smallest positive value.",
        ),
    )
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(title=title)


def _positive_floor(matrix: pl.DataFrame, variant: str) -> float:
    values = matrix.filter(pl.col("variant") == variant, pl.col("value") > 0)["value"]
    return float(values.min()) if len(values) else 1e-30


def fig22(histograms: pl.DataFrame, summary: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict):
    """Histogram of the nonzero summands d[b, x, y] of the chosen parameter, log count, one panel per network."""
    panels = []
    for variant in provenance["params"]["variants"]:
        row = summary.filter(pl.col("variant") == variant).row(0, named=True)
        data = histograms.filter(pl.col("variant") == variant, pl.col("count") > 0)
        line = (
            alt.Chart(
                data.with_columns(center=(pl.col("left") + pl.col("right")) / 2),
                title=f"{variant}: parameter {row['param']}, (d)/(a) = {row['ratio']:.2f}, "
                f"{1 - row['nonzero']:.0%} zeros left out",
            )
            .mark_line(interpolate="step")
            .encode(
                x=alt.X("center:Q", title="summand d[b, x, y]"),
                y=alt.Y("count:Q", title="summands (images x positions)", scale=alt.Scale(type="log")),
            )
        )
        marks = pl.DataFrame({"x": [0.0, row["mean"]], "what": ["0", "mean"]})
        rules = (
            alt.Chart(marks)
            .mark_rule()
            .encode(
                x="x:Q",
                color=alt.Color("what:N", title="", scale=alt.Scale(range=["black", "firebrick"])),
                strokeDash=alt.StrokeDash("what:N", legend=None, scale=alt.Scale(range=[[1, 0], [4, 3]])),
            )
        )
        panels.append((line + rules).properties(width=320, height=260))
    title = alt.Title(
        f"Figure 22: the summands of one layer-{layer} kernel parameter with |sum d| ~ sum |d|",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Parameter: the median (a) among the live ones ((a) >= the layer's median) with (d) >= "
            f"{provenance['params']['gradients']['fig22_min_ratio']} x (a) (where none has one: the live parameter "
            "with the largest (d)/(a)).",
            "Exact zeros (the input pixel is a ReLU that is off) are left out of the histogram, not of the claim; "
            "range symmetric about 0; log count; own scales.",
        ),
    )
    return alt.hconcat(*panels).properties(title=title)
