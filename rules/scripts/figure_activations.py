"""Snakemake adapter: render Fig. 13 (none), 14 (bn) or 18 (SVG + PNG) from the activation probe's Parquet."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import activations, channels
from pipeline.jobs import logged
from pipeline.plots import activations as plots
from pipeline.plots import render

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.activation_figure
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)
    if figure == "fig18":
        record = parquet.combined_provenance(sm.input.mean_gradients)
        points = channels.fig18_points(parquet.read_all(sm.input.mean_gradients))
        chart = plots.fig18(points, claims, record)
    else:
        record = parquet.combined_provenance(sm.input.histograms)
        hist = parquet.read_all(sm.input.histograms)
        rules = sm.params.fig13
        summary = activations.layer_shapes(
            activations.channel_shapes(hist, rules["mode_min_height"], rules["mode_min_dip"])
        )
        bn, none = sm.params.compared
        variant = none if figure == "fig13" else bn
        shown = activations.representative(hist, 4, max(1, hist["bin"].n_unique() // 64))
        chart = plots.histograms(shown, summary, variant, figure, claims, record)
    render.save(chart, sm.output.svg, sm.output.png)
