"""Snakemake adapter: the claims of one training figure (from its own runs), or one training table with its claims."""

from pipeline import claims, parquet
from pipeline.analysis import training
from pipeline.atomic import write_text
from pipeline.jobs import logged
from pipeline.train import runs

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    target = sm.wildcards.get("train_figure") or sm.wildcards.get("train_table")
    params, rules, profile = dict(sm.params.experiment), dict(sm.params.rules), sm.params.profile
    summary = training.run_summary(parquet.read_all(sm.input.metrics))
    record = parquet.provenance(sm.input.metrics[0])
    if target in runs.CURVE_TARGETS:
        checks = training.curve_claims(target, summary, runs.curve_panels(target, params), rules, profile)
    else:
        table, result, checks = training.table_claims(target, summary, runs.grid_rows(target, params), rules, profile)
        write_text(sm.output.table, training.table_markdown(target, table, result, profile))
        parquet.write(table, sm.output.parquet, record)
    everything = claims.frame(checks)
    claims.write(everything, sm.output.claims, sm.output.markdown, record)
    print(claims.markdown(everything))
