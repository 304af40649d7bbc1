"""Snakemake adapter: gather every claim check into one table (Parquet + Markdown)."""

from pipeline import claims, parquet
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    table = claims.gather(list(sm.input))
    record = parquet.provenance(sm.input[0])
    claims.write(table, sm.output.table, sm.output.markdown, record)
    print(claims.markdown(table))
