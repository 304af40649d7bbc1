"""The stability figure (beyond the paper): the largest stable learning rate vs depth, bn and none, a point per
seed and one line per K through the medians over seeds, beside the unnormalized network's activation-variance
growth at initialization (Fig. 3's statistic)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import stability as analysis
from pipeline.plots.render import claims_lines, provenance_line
from pipeline.train.runs import decimal

BOUNDS = ["measured", "at least (grid top)", "below the grid"]  # how a seed's largest stable rate is known


def with_bounds(table: pl.DataFrame, grid: list[float]) -> pl.DataFrame:
    """The table with the rate as drawn (a net below the grid half a grid step under it) and how it is known."""
    return table.with_columns(
        rate=pl.col("largest_stable_lr").fill_null(analysis.floor_of(grid)),
        bound=pl.when(pl.col("at_grid_top"))
        .then(pl.lit(BOUNDS[1]))
        .when(pl.col("below_grid"))
        .then(pl.lit(BOUNDS[2]))
        .otherwise(pl.lit(BOUNDS[0])),
    )


def probe_settings(settings: dict) -> dict:
    """The probe's batch size, number of mini-batches and seed, from a figure job's settings (for the subtitle)."""
    return {key: settings[f"probes/{key}"] for key in ("batch_size", "batches", "seed")}


def depth_and_rate(depths: list[int], grid: list[float], title: str) -> tuple[alt.X, alt.Y]:
    """The axes of a largest-stable-rate panel: depth (log, a tick per depth) and the rate (log, from half a grid
    step under the grid, where a net below it is drawn, to the grid's top)."""
    x = alt.X(
        "depth:Q",
        title="depth (6n+2 ResNet)",
        scale=alt.Scale(type="log", nice=False),
        axis=alt.Axis(values=depths, format="d"),
    )
    y = alt.Y(
        "rate:Q",
        title=title,
        scale=alt.Scale(type="log", domain=[analysis.floor_of(grid), grid[-1]]),
        axis=alt.Axis(format="~g"),
    )
    return x, y


def chart(table: pl.DataFrame, search: dict, probes: dict, claims: pl.DataFrame, record: dict) -> alt.HConcatChart:
    """Left: largest stable rate (log) vs depth, colour = network, dash and width = K (lines through the medians
    over seeds); a point per seed, whose shape marks a bound (the top of the grid, or under its smallest rate, drawn
    half a grid step below it). Right: none's variance growth."""
    grid = search["lrs"]
    floor = analysis.floor_of(grid)
    k_label = pl.format("K = {} steps", pl.col("steps"))
    data = with_bounds(table, grid).with_columns(K=k_label)
    middle = analysis.medians(table).with_columns(rate=pl.col("median_lr").fill_null(floor), K=k_label)
    depths = sorted(data["depth"].unique())
    ks = [f"K = {k} steps" for k in sorted(data["steps"].unique(), reverse=True)]
    widths = [3.2 - 2.0 * i / max(1, len(ks) - 1) for i in range(len(ks))]
    network = alt.Color("variant:N", title="network", sort=search["variants"])
    x, y = depth_and_rate(depths, grid, "largest stable learning rate")
    # K by dash and width, the largest K (the claims') solid and widest: where the answers of several K coincide,
    # the thinner dashed lines stay visible on the wider one
    k_scale = {"title": "first K steps (median over seeds)", "sort": ks}
    lines = (
        alt.Chart(middle)
        .mark_line()
        .encode(
            x=x,
            y=y,
            color=network,
            strokeDash=alt.StrokeDash("K:N", **k_scale, legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=2)),
            strokeWidth=alt.StrokeWidth("K:N", **k_scale, scale=alt.Scale(range=widths), legend=None),
            tooltip=["variant", "depth", "steps", "median_lr", "seeds"],
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(size=45, filled=True, opacity=0.6)
        .encode(
            x=x,
            y=y,
            color=network,
            shape=alt.Shape("bound:N", title="a seed's value", sort=BOUNDS),
            tooltip=["variant", "depth", "seed", "steps", "largest_stable_lr", "bound", "trials"],
        )
    )
    left = (lines + points).properties(width=380, height=300, title="largest rate without divergence")
    growth = data.filter(pl.col("variance_decades").is_not_null()).unique(["depth"]).sort("depth")
    right = (
        alt.Chart(growth)
        .mark_line(point=True)
        .encode(
            x=x,
            color=network,
            y=alt.Y("variance_decades:Q", title="decades the channel variance rises over the layers"),
            tooltip=["depth", "variance_decades"],
        )
        .properties(width=300, height=300, title="unnormalized net at initialization (Fig. 3's statistic)")
    )
    p = record["params"]
    subtitle = [
        f"Stable = no mini-batch loss above {p['divergence_loss']:g} in the first K steps of the paper's recipe (SGD "
        f"momentum {p['momentum']}, weight decay {p['weight_decay']:g}, batch {p['batch_size']}, pad-4 crop + flip) "
        f"on the full CIFAR-10 training set; seeds {', '.join(map(str, search['seeds']))} (initial weights and data "
        "order), a point each; lines through their medians.",
        f"Rates {decimal(grid[0])}..{decimal(grid[-1])} ({len(grid)} points), scanned from the top down: every rate "
        "above each answer was tried and diverged.",
        "Variance growth: least-squares slope of log10(mean channel variance) over the layers after the stem, "
        f"times their span ({probes['batches']} mini-batches of {probes['batch_size']}, probe seed {probes['seed']}).",
        provenance_line(record),
        *claims_lines(claims),
    ]
    return alt.hconcat(left, right).properties(
        title=alt.Title(
            "Largest stable learning rate vs depth (beyond the paper: §3.4's mechanism)",
            subtitle=subtitle,
            anchor="start",
        )
    )


def draw_stability(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """The stability figure from its table (``data.table``, written by the family's claims job)."""
    table = parquet.read(data.table)
    return chart(table, dict(settings["stability"]), probe_settings(settings), claims, parquet.provenance(data.table))
