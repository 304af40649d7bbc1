"""Snakemake adapter: render Fig. 2 or Fig. 23 (SVG + PNG) from the gradient probe's per-parameter Parquet."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import gradients as analysis
from pipeline.jobs import logged
from pipeline.plots import gradients, render

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.gradient_figure
    params = pl.concat([pl.read_parquet(p) for p in sm.input.params])
    records = [parquet.provenance(p) for p in sm.input.params]
    record = {**records[0], "params": {**records[0]["params"], "variants": [r["params"]["variant"] for r in records]}}
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)
    layer = sm.params.layers[f"{figure}_layer"]
    if figure == "fig2":
        chart = gradients.fig2(analysis.gradient_histograms(params, layer, 60), layer, claims, record)
    else:
        chart = gradients.fig23(analysis.scatter(params, layer), layer, claims, record)
    render.save(chart, sm.output.svg, sm.output.png)
