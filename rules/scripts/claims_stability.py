"""Snakemake adapter: the stability table (largest stable rate per variant, depth and K, with none's variance
growth) and its claims."""

from pipeline import claims, parquet
from pipeline.analysis import stability
from pipeline.atomic import write_text
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    search, rules, profile = dict(sm.params.search), dict(sm.params.rules), sm.params.profile
    rates = stability.rates(parquet.read_all(sm.input.searches), search["lrs"], search["steps"])
    growth = stability.variance_growth(parquet.read_all(sm.input.moments))
    table = stability.table(rates, growth, search["variants"][1])
    record = parquet.combined_provenance(sm.input.searches, ("variant", "depth"))
    parquet.write(table, sm.output.parquet, record)
    write_text(sm.output.table, stability.markdown(table, search["lrs"], profile))
    checks = claims.frame(stability.claims(table, growth, rules, search, profile))
    claims.write(checks, sm.output.claims, sm.output.markdown, record)
    print(claims.markdown(checks))
