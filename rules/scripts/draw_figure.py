"""Snakemake adapter: render one figure (SVG + PNG) with its claim checks in the subtitle (the function that
draws it: pipeline/plots/figures.py)."""

import polars as pl

from pipeline import parquet
from pipeline.plots import figures, render
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.figure
    checks = parquet.read(sm.input.claims).filter(pl.col("target") == figure)
    render.save(figures.draw(figure, sm.input, sm.params.settings, checks), sm.output.svg, sm.output.png)
