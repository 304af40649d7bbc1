"""Snakemake adapter: decide the claims of Table 1, Table 4 and Fig. 2, 4, 7, 19-23 from the gradient probe."""

from pipeline import claims, parquet
from pipeline.analysis import channels, gradients
from pipeline.jobs import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    table = parquet.read_all(sm.input.tables)
    params = parquet.read_all(sm.input.params)
    bn, none = sm.params.compared
    layers, profile, table1 = sm.params.layers, sm.params.profile, sm.params.table1
    checks = {
        target: gradients.table_claims(
            gradients.wide_table(table, layers[f"{target}_layers"]),
            target,
            bn,
            none,
            table1["none_max_ratio"],
            table1["bn_min_ratio"],
            profile,
        )
        for target in ("table1", "table4")  # Table 4 is decided by Table 1's rules
    }
    checks["fig2"] = gradients.fig2_claims(
        params, layers["fig2_layer"], bn, none, sm.params.fig2["min_magnitude_ratio"], profile
    )
    points = gradients.scatter(params, layers["fig23_layer"])
    checks["fig4"] = gradients.fig4_claims(
        gradients.softmax_spread(parquet.read_all(sm.input.logits)),
        bn,
        none,
        dict(sm.params.fig4),
        profile,
    )
    checks["fig19"] = gradients.fig19_claims(
        gradients.channel_summary(parquet.read_all(sm.input.channels)),
        sm.params.depth,
        bn,
        none,
        dict(sm.params.fig19),
        profile,
    )
    checks.update(
        gradients.fig20_21_claims(
            gradients.class_summary(parquet.read_all(sm.input.classes)),
            parquet.read_all(sm.input.logits),
            layers["fig20_layer"],
            bn,
            none,
            sm.params.fig21["min_class_ratio"],
            profile,
        )
    )
    checks["fig7"] = channels.fig7_claims(
        channels.channel_matrix(params, layers["fig7_layer"]),
        layers["fig7_layer"],
        bn,
        none,
        dict(sm.params.fig7),
        profile,
    )
    checks["fig22"] = gradients.fig22_claims(
        gradients.summand_summary(parquet.read_all(sm.input.summands)),
        layers["fig22_layer"],
        none,
        sm.params.fig22["min_none_center"],
        profile,
    )
    checks["fig23"] = gradients.fig23_claims(points, layers["fig23_layer"], bn, none, dict(sm.params.fig23), profile)
    everything = claims.frame(c for target in checks.values() for c in target)
    parquet.write(everything, sm.output.claims, parquet.provenance(sm.input.tables[0]))
    claims.write_per_target(checks, sm.output.markdown)
    print(claims.markdown(everything))
