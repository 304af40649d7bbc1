"""Snakemake adapter: render one of Figures 8-12 (SVG + PNG) from the RMT Parquet tables and their claims."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import rmt as analysis
from pipeline.jobs import logged
from pipeline.plots import render, rmt

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.rmt_figure
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)
    names = set(sm.input.keys())  # input names: `in sm.input` would test the file paths
    kinds = [k for k in ("spectra", "condition", "theory") if k in names]
    tables = {kind: pl.read_parquet(sm.input[kind]) for kind in kinds}
    record = parquet.provenance(sm.input[kinds[0]])
    if figure == "fig8":
        chart = rmt.fig8(analysis.histograms(tables["spectra"], sm.params.bins, "sigma"), claims, record)
    elif figure == "fig9":
        chart = rmt.fig9(tables["theory"], claims, record)
    elif figure == "fig10":
        chart = rmt.fig10(tables["theory"], analysis.histograms(tables["spectra"], sm.params.bins, "x"), claims, record)
    else:
        chart = getattr(rmt, figure)(analysis.run_statistics(tables["condition"]), claims, record)
    render.save(chart, sm.output.svg, sm.output.png)
