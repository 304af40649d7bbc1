"""The gradient figures at initialization: Fig. 2, 4, 7, 19, 20, 21, 22, 23 (one function each)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import channels
from pipeline.analysis import gradients as analysis
from pipeline.plots.render import DENSITY_CELLS, density_cells, density_panel, init_subtitle, log_error_bars

COUNT_FLOOR = 0.5  # where histogram bars start on a log count axis


def histogram_bars(bins: pl.DataFrame, x_title: str, y_title: str, title: str) -> alt.Chart:
    """A histogram (left, right, count per bin) as one bar per non-empty bin from a floor below count 1 (a log
    axis has no 0), so empty bins stay blank, on an x domain that spans every bin: a range made symmetric
    about 0 (:func:`pipeline.analysis.gradients.symmetric_histograms`) is drawn symmetric."""
    domain = [float(bins["left"].min()), float(bins["right"].max())]
    return (
        alt.Chart(bins.filter(pl.col("count") > 0).with_columns(floor=pl.lit(COUNT_FLOOR)), title=title)
        .mark_rect()
        .encode(
            x=alt.X("left:Q", title=x_title, scale=alt.Scale(domain=domain, nice=False)),
            x2="right:Q",
            y=alt.Y("count:Q", title=y_title, scale=alt.Scale(type="log", domainMin=COUNT_FLOOR)),
            y2="floor:Q",
        )
    )


def fig2(histograms: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    panels = [
        histogram_bars(
            histograms.filter(pl.col("variant") == variant),
            f"gradient of a layer-{layer} kernel parameter",
            "parameters",
            variant,
        ).properties(width=340, height=260)
        for variant in provenance["params"]["variants"]
    ]
    title = alt.Title(
        f"Figure 2: gradients of the layer-{layer} kernel at initialization",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Each panel on its own range, symmetric about 0; log count shows the tails; empty bins are left blank.",
        ),
    )
    return alt.hconcat(*panels).properties(title=title)


def fig23(points: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """A 2-D density per network (tens of thousands of parameters: one mark each made a 6 MB figure)."""
    variants = provenance["params"]["variants"]
    cells = density_cells(points, "a", "d", "variant", log_x=True, log_y=True)
    low, high = float(points["a"].min()), float(points["a"].max())
    bound = (
        alt.Chart(pl.DataFrame({"x_lo": [low, high], "y_lo": [low, high]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="x_lo:Q", y="y_lo:Q")
    )
    log = alt.Scale(type="log")
    panels = [
        (
            density_panel(
                cells.filter(pl.col("variant") == variant),
                variant,
                alt.X("x_lo:Q", title="sum over b,x,y of |d|  (a)", scale=log),
                alt.Y("y_lo:Q", title="|sum over b,x,y of d|  (d)", scale=log),
                "parameters per cell",
            )
            + bound
        ).properties(width=360, height=320)
        for variant in variants
    ]
    counts = ", ".join(f"{v} {points.filter(pl.col('variant') == v).height:,}" for v in variants)
    title = alt.Title(
        f"Figure 23: |sum d| vs sum |d| per kernel parameter, layer {layer}",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Dashed: (d) = (a), the largest (d) can be; "
            "both scaled by 1/(positions x batch). Dead parameters left out.",
            f"Drawn as a 2-D density: {DENSITY_CELLS} x {DENSITY_CELLS} log-spaced cells, color = parameters per "
            f"cell ({counts} parameters).",
        ),
    )
    return alt.hconcat(*panels).resolve_scale(x="shared", y="shared", color="shared").properties(title=title)


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
            provenance,
            claims,
            "dL_b/dz_bj = softmax_bj - [j = label_b]; each panel on its own colour scale. A column that is "
            "positive for most images is a class the network favors whatever the input:",
            *_favored_classes(logits, provenance["params"]["variants"]),
        ),
    )
    return alt.hconcat(*panels).resolve_scale(color="independent").properties(title=title)


def _favored_classes(logits: pl.DataFrame, variants: list[str]) -> list[str]:
    """One subtitle line per network: the class most images put their largest softmax on, and how strongly."""
    rows = {r["variant"]: r for r in analysis.softmax_spread(logits).iter_rows(named=True)}
    return [
        f"{v}: {rows[v]['modal_share']:.0%} of the images put their largest softmax on class {rows[v]['modal_class']} "
        f"(mean probability {rows[v]['modal_p']:.2f}), hence its column."
        for v in variants
    ]


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
        line = histogram_bars(
            histograms.filter(pl.col("variant") == variant),
            "summand d[b, x, y]",
            "summands (images x positions)",
            f"{variant}: parameter {row['param']}, (d)/(a) = {row['ratio']:.2f}, "
            f"{1 - row['nonzero']:.0%} zeros left out",
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
            "each panel on its own range, symmetric about 0; log count; empty bins are left blank.",
        ),
    )
    return alt.hconcat(*panels).properties(title=title)


def _record(data) -> dict:
    """The provenance shared by the gradient probe's outputs of the compared pair."""
    return parquet.combined_provenance(data.params)


def draw_fig2(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 2 from the kernel gradients (``data.params``)."""
    layer = settings["probes/gradients"]["fig2_layer"]
    histograms = analysis.gradient_histograms(parquet.read_all(data.params), layer, 60)
    return fig2(histograms, layer, claims, _record(data))


def draw_fig4(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 4 from the logit gradients (``data.logits``)."""
    return fig4(parquet.read_all(data.logits), claims, _record(data))


def draw_fig7(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 7 from the kernel gradients (``data.params``)."""
    layer = settings["probes/gradients"]["fig7_layer"]
    return fig7(channels.channel_matrix(parquet.read_all(data.params), layer), layer, claims, _record(data))


def draw_fig19(data, settings: dict, claims: pl.DataFrame) -> alt.LayerChart:
    """Fig. 19 from the channel gradients (``data.channels``)."""
    return fig19(analysis.channel_summary(parquet.read_all(data.channels)), claims, _record(data))


def draw_fig20(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 20 from the class-masked gradients (``data.classes``)."""
    summary = analysis.class_summary(parquet.read_all(data.classes))
    return fig20(summary, settings["probes/gradients"]["fig20_layer"], claims, _record(data))


def draw_fig21(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 21 from the class-masked gradients (``data.classes``)."""
    summary = analysis.class_summary(parquet.read_all(data.classes))
    return fig21(summary, settings["probes/gradients"]["fig20_layer"], claims, _record(data))


def draw_fig22(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 22 from the summands of the chosen parameter (``data.summands``)."""
    summands = parquet.read_all(data.summands)
    summary = analysis.summand_summary(summands)
    histograms = analysis.symmetric_histograms(summands.filter(pl.col("value") != 0), 80)
    return fig22(histograms, summary, settings["probes/gradients"]["fig22_layer"], claims, _record(data))


def draw_fig23(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 23 from the kernel gradients (``data.params``)."""
    layer = settings["probes/gradients"]["fig23_layer"]
    return fig23(analysis.scatter(parquet.read_all(data.params), layer), layer, claims, _record(data))
