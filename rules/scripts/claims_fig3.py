"""Snakemake adapter: decide Figure 3's claim from the probe data."""

from pipeline import claims
from pipeline.analysis import moments
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    summary, record = moments.read(list(sm.input.moments))
    rules = sm.params.rules
    normalized, unnormalized = sm.params.compared
    checks = moments.claims(
        summary, normalized, unnormalized, rules["min_none_decades"], rules["max_bn_decades"], sm.params.profile
    )
    claims.write(claims.frame(checks), sm.output.claims, sm.output.markdown, {**record, "rules": dict(rules)})
    print(claims.markdown(claims.frame(checks)))
