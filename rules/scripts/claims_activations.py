"""Snakemake adapter: decide the claims of Fig. 13, 14 and 18 from the activation probe."""

from pipeline import claims, parquet
from pipeline.analysis import activations, channels
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    bn, none = sm.params.compared
    rules, profile = dict(sm.params.fig13), sm.params.profile
    shapes = activations.channel_shapes(
        parquet.read_all(sm.input.histograms), rules["mode_min_height"], rules["mode_min_dip"]
    )
    checks = activations.claims(activations.layer_shapes(shapes), bn, none, rules, profile)
    points = channels.fig18_points(parquet.read_all(sm.input.mean_gradients))
    checks["fig18"] = channels.fig18_claims(points, bn, none, dict(sm.params.fig18), profile)
    everything = claims.frame(c for target in checks.values() for c in target)
    parquet.write(everything, sm.output.claims, parquet.provenance(sm.input.histograms[0]))
    claims.write_per_target(checks, sm.output.markdown)
    print(claims.markdown(everything))
