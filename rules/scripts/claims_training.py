"""Snakemake adapter: Table 2, Table 3 and the claims of Fig. 1, 15, 16, 17 from the training runs' metrics."""

from pipeline import claims, parquet
from pipeline.analysis import training
from pipeline.atomic import write_text
from pipeline.jobs import logged
from pipeline.train.runs import curve_runs

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    params, rules, profile = dict(sm.params.experiments), sm.params.rules, sm.params.profile
    metrics = parquet.read_all(sm.input.metrics)
    summary = training.run_summary(metrics)
    e = params["training"]
    fig1 = curve_runs(e["fig1"]["curves"], params)
    checks = {"fig1": training.fig1_claims(training.curve_stats(metrics, fig1), fig1, rules["fig1"], profile)}
    top = training.curve_stats(metrics, curve_runs(e["fig15"]["curves"], params))
    checks.update(training.fig15_16_claims(top, {**rules["fig15"], **rules["fig16"]}, profile))
    sides = [training.curve_stats(metrics, curve_runs(e["fig17"][side], params)) for side in ("left", "right")]
    checks["fig17"] = training.fig17_claims(*sides, rules["fig17"], profile)
    record = parquet.provenance(sm.input.metrics[0])
    for target, rows_of, pick, column, title in (
        ("table2", training.table2_rows, training.best_rates, "best_lr", "Table 2: best learning rate per BN part"),
        ("table3", training.table3_rows, training.highest_rates, "highest_lr", "Table 3: highest achievable rate"),
    ):
        table = training.grid_table(summary, *rows_of(params))
        result = pick(table)
        checks[target] = training.rate_claims(
            result, column, target, f"{column.replace('_', ' ')} as in the paper", profile
        )
        if target == "table3":
            checks[target] += training.stability_claims(table, profile)
        note = f"Profile {profile}; final test accuracy decides; diverged or chance runs cannot win."
        write_text(sm.output.tables[target == "table3"], training.markdown(table, result, column, title, note))
        parquet.write(table, sm.output.parquet[target == "table3"], record)
    everything = claims.frame(c for target in checks.values() for c in target)
    parquet.write(everything, sm.output.claims, record)
    claims.write_per_target(checks, sm.output.markdown)
    print(claims.markdown(everything))
