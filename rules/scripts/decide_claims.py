"""Snakemake adapter: decide the claims of one family's targets (or one target's) and write them, with the tables
computed on the way (the family's ``decide`` function, named in pipeline.targets)."""

from pipeline import claims
from pipeline.runtime import logged, resolve

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    decision = resolve(sm.params.decide)(sm.input, sm.params.settings, list(sm.params.targets), sm.params.profile)
    print(claims.markdown(claims.write_decision(decision, sm.output)))
