"""Fig. 13 / 14 (activation histograms of representative channels) and Fig. 18 (channel mean vs gradient)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import activations as analysis
from pipeline.analysis import channels
from pipeline.plots.render import DENSITY_CELLS, density_cells, density_panel, init_subtitle

# The paper's layout: "starting in the top left corner and going clockwise, the layers are 9, 45, 81 and 83".
CLOCKWISE = ((0, 1), (3, 2))


def histograms(
    representative: pl.DataFrame,
    summary: pl.DataFrame,
    variant: str,
    figure: str,
    claims: pl.DataFrame,
    provenance: dict,
) -> alt.VConcatChart:
    """Figure 13 (none) or 14 (bn): a 2 x 2 grid of layers, clockwise from the top left, one line per channel."""
    data = representative.filter(pl.col("variant") == variant)
    layers = sorted(data["layer"].unique().to_list())
    shapes = {r["layer"]: r for r in summary.filter(pl.col("variant") == variant).iter_rows(named=True)}

    def panel(layer: int) -> alt.Chart:
        s = shapes[layer]
        return (
            alt.Chart(
                data.filter(pl.col("layer") == layer),
                title=f"layer {layer}: {s['multimodal']:.0%} of channels multimodal, median |mean|/std "
                f"{s['center']:.2f}",
            )
            .mark_line(interpolate="step")
            .encode(
                x=alt.X("center:Q", title="activation (conv output)"),
                y=alt.Y("density:Q", title="density"),
                color=alt.Color("channel:N", title="channel"),
            )
            .properties(width=300, height=200)
        )

    rows = [
        alt.hconcat(*[panel(layers[i]) for i in row if i < len(layers)]).resolve_scale(color="independent")
        for row in CLOCKWISE
        if any(i < len(layers) for i in row)
    ]
    number = figure.removeprefix("fig")
    title = alt.Title(
        f"Figure {number}: activation histograms of representative channels at initialization, {variant}",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            f"Layers {', '.join(map(str, layers))} clockwise from the top left, as in the paper. Each line: one "
            "channel's conv output (the tensor Fig. 3 measures) over images and positions;",
            "channels evenly spaced (0, C/4, C/2, 3C/4), not hand-picked. Multimodal: more than one mode of the "
            "histogram smoothed with Silverman's bandwidth.",
            loss=False,
        ),
    )
    return alt.vconcat(*rows).properties(title=title)


def fig18(points: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    """Per kernel weight: x = its in-channel's mean pre-ReLU activation, y = |mean gradient| (log), drawn as a 2-D
    density (one mark per weight made a 1.7 MB figure)."""
    layer = int(points["layer"][0])
    floor = float(points.filter(pl.col("magnitude") > 0)["magnitude"].min())
    shown = points.with_columns(shown=pl.max_horizontal("magnitude", pl.lit(floor)))
    cells = density_cells(shown, "channel_mean", "shown", "variant", log_x=False, log_y=True)
    variants = provenance["params"]["variants"]
    panels = [
        density_panel(
            cells.filter(pl.col("variant") == variant),
            variant,
            alt.X("x_lo:Q", title="mean pre-ReLU activation of the weight's in-channel"),
            alt.Y("y_lo:Q", title="|average gradient| of the weight", scale=alt.Scale(type="log")),
            "weights per cell",
        ).properties(width=320, height=280)
        for variant in variants
    ]
    counts = ", ".join(f"{v} {points.filter(pl.col('variant') == v).height:,}" for v in variants)
    title = alt.Title(
        f"Figure 18: channel mean vs gradient per kernel weight, layer {layer}",
        anchor="start",
        subtitle=init_subtitle(
            provenance,
            claims,
            "Both averaged over the mini-batches; one x axis for both panels, own y axis; exact zeros shown at the "
            "smallest positive value.",
            f"Drawn as a 2-D density: {DENSITY_CELLS} x {DENSITY_CELLS} cells (log-spaced in y), color = weights "
            f"per cell ({counts} weights).",
            *_centered_note(points),
            batches=provenance["params"]["batches"],
        ),
    )
    return alt.hconcat(*panels).resolve_scale(x="shared", color="independent").properties(title=title)


def _centered_note(points: pl.DataFrame) -> list[str]:
    """A subtitle line for each network whose in-channels are all centered: its ReLU reads a BN output, which
    BN centers on every mini-batch (beta = 0 at init), so x = 0 there by construction, not by measurement."""
    widths = points.group_by("variant").agg(width=pl.col("channel_mean").abs().max())
    return [
        f"{row['variant']}: every in-channel mean is 0 (|x| <= {row['width']:.1g}): a BN output, centered on every "
        "mini-batch by construction (beta = 0 at init)."
        for row in widths.sort("variant").iter_rows(named=True)
        if row["width"] < 1e-6
    ]


def _histogram_figure(figure: str, variant: str, data, settings: dict, claims: pl.DataFrame) -> alt.VConcatChart:
    """Fig. 13 or 14: the histograms of one variant of the compared pair."""
    record = parquet.combined_provenance(data.histograms)
    hist = parquet.read_all(data.histograms)
    rules = settings["figures"]["fig13"]
    summary = analysis.layer_shapes(analysis.channel_shapes(hist, rules["mode_min_height"], rules["mode_min_dip"]))
    shown = analysis.representative(hist, 4, max(1, hist["bin"].n_unique() // 64))
    return histograms(shown, summary, variant, figure, claims, record)


def draw_fig13(data, settings: dict, claims: pl.DataFrame) -> alt.VConcatChart:
    """Fig. 13: the unnormalized network's activation histograms (``data.histograms``)."""
    _, unnormalized = settings["probes/variants"]
    return _histogram_figure("fig13", unnormalized, data, settings, claims)


def draw_fig14(data, settings: dict, claims: pl.DataFrame) -> alt.VConcatChart:
    """Fig. 14: the normalized network's activation histograms (``data.histograms``)."""
    normalized, _ = settings["probes/variants"]
    return _histogram_figure("fig14", normalized, data, settings, claims)


def draw_fig18(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 18 from the mean gradients (``data.mean_gradients``)."""
    points = channels.fig18_points(parquet.read_all(data.mean_gradients))
    return fig18(points, claims, parquet.combined_provenance(data.mean_gradients))
