"""Snakemake adapter: decide the claims of Figures 8-12 (KS distance per M, monotone growth, invertibility)."""

import polars as pl

from pipeline import claims, parquet
from pipeline.analysis import rmt
from pipeline.jobs import logged
from pipeline.rmt import experiments

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    spectra = pl.read_parquet(sm.input.spectra)
    checks = rmt.all_claims(
        pl.read_parquet(sm.input.theory),
        experiments.ks_by_factors(spectra),
        spectra,
        pl.read_parquet(sm.input.condition),
        sm.params.max_ks,
        sm.params.profile,
    )
    record = {**parquet.provenance(sm.input.spectra), "rules": {"max_ks": sm.params.max_ks}}
    table = claims.frame(c for target in checks.values() for c in target)
    parquet.write(table, sm.output.claims, record)
    claims.write_per_target(checks, sm.output.markdown)
    print(claims.markdown(table))
