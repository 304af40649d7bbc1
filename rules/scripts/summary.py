"""Snakemake adapter: figures/claims.md and figures/report.html of an aggregate target, from its inputs only."""

from pathlib import Path

import polars as pl

from pipeline import claims, report
from pipeline.atomic import write_text
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    built = [Path(f).stem for f in [*sm.input.figures, *sm.input.tables]]
    table = claims.gather(sm.input.claims).filter(pl.col("target").is_in(built))
    write_text("figures/claims.md", claims.summary(table, sm.params.title, sm.params.not_built))
    shown = report.collect(sm.input.figures, sm.input.tables, sm.input.claims, set(built))
    report.write(shown, sm.params.profile, Path("figures/report.html"), sm.params.title, sm.params.not_built)
    print(f"figures/claims.md: {table.height} claim checks; figures/report.html: {len(shown)} figures and tables")
    print(sm.params.not_built or "Every figure and table was built.")
