"""Snakemake adapter: render Fig. 1, 15, 16 or 17 (SVG + PNG) from the training runs' metrics."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import training
from pipeline.jobs import logged
from pipeline.plots import render
from pipeline.plots import training as plots
from pipeline.train.runs import curve_runs

TITLES = {
    "fig1": "Figure 1: bn at its best rate, bn at the unnormalized rate and schedule, and the unnormalized network",
    "fig15": "Figure 15: training accuracy with BN only at the top of the network",
    "fig16": "Figure 16: test accuracy with BN only at the top of the network",
    "fig17": "Figure 17: the parts of batch normalization (left: with and without the affine part; right: without it)",
}

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure, params = sm.wildcards.train_figure, dict(sm.params.experiments)
    e = params["training"]
    metrics = parquet.read_all(sm.input.metrics)
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)

    def stats(specs):
        return training.curve_stats(metrics, curve_runs(specs, params))

    if figure == "fig1":
        both = stats(e["fig1"]["curves"])
        panels = [(both, "train_acc", "training"), (both, "test_acc", "test")]
    elif figure in ("fig15", "fig16"):
        panels = [(stats(e["fig15"]["curves"]), "train_acc" if figure == "fig15" else "test_acc", "")]
    else:
        panels = [(stats(e["fig17"]["left"]), "test_acc", "left"), (stats(e["fig17"]["right"]), "test_acc", "right")]
    record = parquet.combined_provenance(sm.input.metrics, ("run", "seed", "device"))
    chart = plots.curves(panels, TITLES[figure], record, claims, training.run_summary(metrics))
    render.save(chart, sm.output.svg, sm.output.png)
