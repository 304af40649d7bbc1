"""Snakemake adapter: render Fig. 5, 6 or 24 (SVG + PNG) from the single-update Parquet."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import updates
from pipeline.jobs import logged
from pipeline.plots import render
from pipeline.plots import updates as plots

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.update_figure
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)
    if figure == "fig5":
        chart = plots.fig5(
            parquet.read_all([sm.input.path]), sm.params.threshold, claims, parquet.provenance(sm.input.path)
        )
    elif figure == "fig6":
        growth = updates.layer_growth(parquet.read_all([sm.input.moments]))
        chart = plots.fig6(growth, claims, parquet.provenance(sm.input.moments))
    else:
        landscape = parquet.read_all(sm.input.landscapes)
        record = parquet.combined_provenance(sm.input.landscapes, ("variant", "lr"))
        chart = plots.fig24(landscape, updates.largest_lowering_step(landscape), claims, record)
    render.save(chart, sm.output.svg, sm.output.png)
