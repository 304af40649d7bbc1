"""Snakemake adapter: render Fig. 1, 15, 16 or 17 (SVG + PNG) from exactly its runs' metrics."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import training
from pipeline.jobs import logged
from pipeline.plots import render
from pipeline.plots import training as plots
from pipeline.train import runs

TITLES = {
    "fig1": "Figure 1: bn at its best rate, bn at the unnormalized rate and schedule, and the unnormalized network",
    "fig15": "Figure 15: training accuracy with BN only at the top of the network (full BN and none beside it)",
    "fig16": "Figure 16: test accuracy with BN only at the top of the network (full BN and none beside it)",
    "fig17": "Figure 17: the parts of batch normalization (left: with and without the affine part; right: without it)",
}
METRICS = {"fig1": ("train_acc", "test_acc"), "fig15": ("train_acc",), "fig16": ("test_acc",), "fig17": ("test_acc",)}

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure, params = sm.wildcards.train_figure, dict(sm.params.experiment)
    metrics = parquet.read_all(sm.input.metrics)
    claims = pl.read_parquet(sm.input.claims)
    panels = []
    for name, curves in runs.curve_panels(figure, params):
        stats = training.curve_stats(metrics, curves)
        panels += [(stats, metric, name or plots.METRIC_TITLES[metric]) for metric in METRICS[figure]]
    record = parquet.combined_provenance(sm.input.metrics, ("run", "seed", "device", "speed"))
    scale = plots.scale_line(params, record["profile"])
    chart = plots.curves(panels, TITLES[figure], record, claims, training.run_summary(metrics), scale)
    render.save(chart, sm.output.svg, sm.output.png)
