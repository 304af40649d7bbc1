"""Snakemake adapter: decide the claims of one family's targets (or one target's) and write them, with the tables
computed on the way (the family's decide function: pipeline/analysis/decisions.py)."""

from pipeline import claims
from pipeline.analysis import decisions
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    p = sm.params
    decision = decisions.decide(p.family, sm.input, p.settings, list(p.targets))
    print(claims.markdown(claims.write_decision(decision, sm.output, p.profile)))
