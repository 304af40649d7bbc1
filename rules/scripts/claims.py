"""Snakemake adapter: gather every claim check into one table (Parquet) and the claims metrics file (JSON)."""

from pipeline import claims, findings, parquet, provenance
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    table = claims.gather(sm.input.claims)
    parquet.write(table, sm.output.table, parquet.provenance(sm.input.claims[0]))
    findings.write_metrics(
        table, sm.params.profile, dict(sm.params.scales), provenance.code_version(), sm.output.metrics
    )
    print(claims.markdown(table))
