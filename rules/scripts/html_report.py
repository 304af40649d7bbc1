"""Snakemake adapter: the HTML report of every figure, table and claim check of the profile."""

from pathlib import Path

from pipeline import report
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    shown = report.write(Path("."), sm.params.profile, Path(sm.output[0]))
    print(f"{sm.output[0]}: {len(shown)} figures and tables")
