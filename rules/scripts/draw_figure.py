"""Snakemake adapter: render one figure (SVG + PNG) with its claim checks in the subtitle (its family's ``draw``
function, named in pipeline.targets)."""

import polars as pl

from pipeline import parquet
from pipeline.plots import render
from pipeline.runtime import logged, resolve

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.figure
    checks = parquet.read(sm.input.claims).filter(pl.col("target") == figure)
    chart = resolve(sm.params.draw)(figure, sm.input, sm.params.settings, checks)
    render.save(chart, sm.output.svg, sm.output.png)
