"""Snakemake adapter: render Figure 3 (SVG + PNG) from the probe Parquet and its claims."""

import polars as pl

from pipeline.analysis import moments
from pipeline.jobs import logged
from pipeline.plots import fig3, render

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    summary, record = moments.read(list(sm.input.moments))
    render.save(fig3.chart(summary, pl.read_parquet(sm.input.claims), record), sm.output.svg, sm.output.png)
