"""Snakemake adapter: decide the claims of Fig. 5, 6 and 24 from the single-update Parquet."""

from pipeline import claims, parquet
from pipeline.analysis import updates
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    profile = sm.params.profile
    normalized, unnormalized = (n["variant"] for n in sm.params.networks)
    steps = updates.largest_lowering_step(parquet.read_all(sm.input.landscapes))
    checks = {
        "fig5": updates.fig5_claims(parquet.read_all([sm.input.path]), sm.params.threshold, sm.params.fig5, profile),
        "fig6": updates.fig6_claims(
            updates.layer_growth(parquet.read_all([sm.input.moments])), sm.params.fig6, profile
        ),
        "fig24": updates.fig24_claims(steps, normalized, unnormalized, sm.params.fig24, profile),
    }
    everything = claims.frame(c for target in checks.values() for c in target)
    parquet.write(everything, sm.output.claims, parquet.provenance(sm.input.path))
    claims.write_per_target(checks, sm.output.markdown)
    print(claims.markdown(everything))
