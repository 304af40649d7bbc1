"""Snakemake adapter: render Fig. 2, 4, 7, 19, 20, 21, 22 or 23 (SVG + PNG) from the gradient probe's Parquet."""

import polars as pl

from pipeline import parquet
from pipeline.analysis import channels
from pipeline.analysis import gradients as analysis
from pipeline.jobs import logged
from pipeline.plots import gradients, render

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    figure = sm.wildcards.gradient_figure
    record = parquet.combined_provenance(sm.input.params)
    claims = pl.read_parquet(sm.input.claims).filter(pl.col("target") == figure)
    read = {kind: parquet.read_all(sm.input[kind]) for kind in ("params", "logits", "channels", "classes", "summands")}
    layers = sm.params.layers
    if figure == "fig2":
        histograms = analysis.gradient_histograms(read["params"], layers["fig2_layer"], 60)
        chart = gradients.fig2(histograms, layers["fig2_layer"], claims, record)
    elif figure == "fig7":
        matrix = channels.channel_matrix(read["params"], layers["fig7_layer"])
        chart = gradients.fig7(matrix, layers["fig7_layer"], claims, record)
    elif figure == "fig22":
        summary = analysis.summand_summary(read["summands"])
        nonzero = read["summands"].filter(pl.col("value") != 0)
        histograms = analysis.symmetric_histograms(nonzero, 80)
        chart = gradients.fig22(histograms, summary, layers["fig22_layer"], claims, record)
    elif figure == "fig4":
        chart = gradients.fig4(read["logits"], claims, record)
    elif figure == "fig19":
        chart = gradients.fig19(analysis.channel_summary(read["channels"]), claims, record)
    elif figure in ("fig20", "fig21"):
        plot = gradients.fig20 if figure == "fig20" else gradients.fig21
        chart = plot(analysis.class_summary(read["classes"]), layers["fig20_layer"], claims, record)
    else:
        points = analysis.scatter(read["params"], layers["fig23_layer"])
        chart = gradients.fig23(points, layers["fig23_layer"], claims, record)
    render.save(chart, sm.output.svg, sm.output.png)
