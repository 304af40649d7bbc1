"""Snakemake adapter: render the stability figure (SVG + PNG) from its table and claims."""

import polars as pl

from pipeline import parquet
from pipeline.jobs import logged
from pipeline.plots import render, stability

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    table = pl.read_parquet(sm.input.table)
    chart = stability.chart(
        table,
        dict(sm.params.search),
        dict(sm.params.probes),
        pl.read_parquet(sm.input.claims),
        parquet.provenance(sm.input.table),
    )
    render.save(chart, sm.output.svg, sm.output.png)
