"""The normalizers figure (beyond the paper): the paper's chain, activation growth -> input-independent output ->
small stable rate, for every network of ``normalizers.variants`` at every depth, in four panels: the variance
growth and the softmax spread at initialization against depth, the largest stable rate against depth, and the
largest stable rate against the variance growth (the claims' rank correlation)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import stability as stability_analysis
from pipeline.plots import stability as stability_plot
from pipeline.plots.render import claims_lines, provenance_line
from pipeline.train.runs import decimal

WIDTH, HEIGHT = 300, 230


def chart(
    table: pl.DataFrame, networks: dict, search: dict, probes: dict, claims: pl.DataFrame, record: dict
) -> alt.VConcatChart:
    """Top: variance growth and softmax spread vs depth (one probe per network and depth). Bottom: the largest
    stable rate at the claims' K vs depth (a point per seed, a line through the medians; a bound's shape marks the
    grid's top or a net below the grid, drawn half a grid step under it), and the same rates against the variance
    growth."""
    grid = search["lrs"]
    floor = stability_analysis.floor_of(grid)
    k = table["steps"].max()
    at_k = stability_plot.with_bounds(table.filter(pl.col("steps") == k), grid)
    probed = at_k.unique(["variant", "depth"]).sort("variant", "depth")
    middle = (
        stability_analysis.medians(at_k)
        .join(probed.select("variant", "depth", "variance_decades"), on=["variant", "depth"])
        .with_columns(rate=pl.col("median_lr").fill_null(floor))
    )
    depths = sorted(table["depth"].unique())
    network = alt.Color("variant:N", title="network", sort=networks["variants"])
    depth_x, rate_y = stability_plot.depth_and_rate(depths, grid, f"largest stable learning rate (K = {k})")
    growth_title = "variance growth over the layers (decades)"
    shape = alt.Shape("bound:N", title="a seed's rate", sort=stability_plot.BOUNDS)

    def per_depth(field: str, title: str, panel: str) -> alt.Chart:
        return (
            alt.Chart(probed)
            .mark_line(point=True)
            .encode(x=depth_x, y=alt.Y(f"{field}:Q", title=title), color=network, tooltip=["variant", "depth", field])
            .properties(width=WIDTH, height=HEIGHT, title=panel)
        )

    growth = per_depth("variance_decades", growth_title, "activation growth at initialization (Fig. 3's statistic)")
    spread = per_depth(
        "spread", "softmax spread across images (mean TV)", "output's dependence on the input (Fig. 4's statistic)"
    )
    seeds = (
        alt.Chart(at_k)
        .mark_point(size=45, filled=True, opacity=0.6)
        .encode(x=depth_x, y=rate_y, color=network, shape=shape, tooltip=["variant", "depth", "seed", "rate", "bound"])
    )
    medians = alt.Chart(middle).mark_line().encode(x=depth_x, y=rate_y, color=network)
    rates = (medians + seeds).properties(width=WIDTH, height=HEIGHT, title="largest rate without divergence")
    relation = (
        alt.Chart(at_k)
        .mark_point(filled=True, opacity=0.6)
        .encode(
            x=alt.X("variance_decades:Q", title=growth_title),
            y=rate_y,
            color=network,
            size=alt.Size("depth:O", title="depth", scale=alt.Scale(range=[30, 160])),
            tooltip=["variant", "depth", "seed", "variance_decades", "rate"],
        )
        .properties(width=WIDTH, height=HEIGHT, title="stable rate against activation growth (each seed)")
    )
    p = record["params"]
    subtitle = [
        f"Networks {', '.join(networks['variants'])} at depths {', '.join(map(str, depths))}, at initialization "
        f"(probe seed {probes['seed']}, training mode):",
        "  variance growth = least-squares slope of log10(mean channel variance) over the layers after the stem, "
        f"times their span ({probes['batches']} mini-batches of {probes['batch_size']});",
        "  softmax spread = mean over one mini-batch's images of the total-variation distance of an image's softmax "
        "to the batch mean.",
        f"Stable = no mini-batch loss above {p['divergence_loss']:g} in the first K = {k} steps of the paper's recipe "
        f"(SGD momentum {p['momentum']}, weight decay {p['weight_decay']:g}, batch {p['batch_size']}) on the full "
        "training set;",
        f"  rates {decimal(grid[0])}..{decimal(grid[-1])} scanned from the top down; seeds "
        f"{', '.join(map(str, search['seeds']))} (initial weights and data order), a point each, lines through their "
        "medians.",
        provenance_line(record),
        *claims_lines(claims),
    ]
    return alt.vconcat(alt.hconcat(growth, spread), alt.hconcat(rates, relation)).properties(
        title=alt.Title(
            "Beyond BN: activation growth, output spread and the largest stable rate, per normalizer and depth",
            subtitle=subtitle,
            anchor="start",
        )
    )


def draw_normalizers(data, settings: dict, claims: pl.DataFrame) -> alt.VConcatChart:
    """The normalizers figure from its table (``data.table``, written by the family's claims job)."""
    table, record = parquet.read(data.table), parquet.provenance(data.table)
    networks, search = dict(settings["normalizers"]), dict(settings["stability"])
    return chart(table, networks, search, stability_plot.probe_settings(settings), claims, record)
