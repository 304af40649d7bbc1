"""Figures 8-12 (§4, Appendices D and E): spectra of Gaussian products, the Fuss-Catalan law, conditioning."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis import rmt as analysis
from pipeline.plots.render import claims_lines, provenance_line
from pipeline.rmt import theory

STABLE, NAIVE = "stable (renormalized chain)", "SVD of the float64 product"


def _title(title: str, provenance: dict, claims: pl.DataFrame, *lines: str, sampled: bool = True) -> alt.Title:
    p = provenance["params"]
    setting = (
        f"N = {p['n']}, {p['runs']} runs, seed {p['seed']}; entries N(0, 1/N) (the paper's N(0,1), 1/N per factor)"
        if sampled
        else "Theory (N -> infinity): no sampling."
    )
    subtitle = [setting, *lines, provenance_line(provenance), *claims_lines(claims)]
    return alt.Title(title, subtitle=subtitle, anchor="start")


def _by_factors(chart: alt.Chart) -> alt.FacetChart:
    """One panel per M, each with its own axes."""
    return chart.facet(column=alt.Column("M:O", title="number of factors M")).resolve_scale(
        x="independent", y="independent"
    )


def fig8(histograms: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.FacetChart:
    """Histograms of the singular values of the product, one panel per M, the runs overlaid."""
    chart = (
        alt.Chart(histograms)
        .mark_line(interpolate="step", opacity=0.7)
        .encode(
            x=alt.X("center:Q", title="singular value of the product"),
            y=alt.Y("density:Q", title="density"),
            color=alt.Color("run:N", title="run"),
        )
        .properties(width=220, height=200)
    )
    title = _title("Figure 8: singular values of products of M Gaussian matrices", provenance, claims)
    return _by_factors(chart).properties(title=title)


def fig9(curves: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.Chart:
    """x(phi) of eq. (9) for each M."""
    title = _title("Figure 9: the parametrization x(phi) of the Fuss-Catalan law", provenance, claims, sampled=False)
    return (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("phi:Q", title="phi (0 < phi < pi/(M+1))"),
            y=alt.Y("x:Q", title="x(phi), eq. (9)"),
            color=alt.Color("M:O", title="M"),
        )
        .properties(width=480, height=320, title=title)
    )


def fig10(curves: pl.DataFrame, histograms: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.FacetChart:
    """rho(x) of eq. (10) per M, over the empirical density of the squared singular values (runs pooled)."""
    theory_label, empirical_label = "theory, eq. (10)", "empirical, mean of runs"
    empirical = histograms.group_by("M", "center").agg(pl.col("density").mean()).rename({"center": "x"})
    frame = pl.concat(
        [
            curves.select("M", "x", density=pl.col("rho"), source=pl.lit(theory_label)),
            empirical.select("M", "x", "density", source=pl.lit(empirical_label)),
        ]
    ).filter(pl.col("density") > 0)
    base = alt.Chart(frame).encode(
        x=alt.X("x:Q", title="squared singular value x (1/N per factor)"),
        y=alt.Y("density:Q", title="density rho(x)", scale=alt.Scale(type="log")),
        color=alt.Color("source:N", title=None, scale=alt.Scale(range=["#999999", "#d62728"])),
    )
    steps = base.transform_filter(alt.datum.source == empirical_label).mark_line(interpolate="step", opacity=0.8)
    line = base.transform_filter(alt.datum.source == theory_label).mark_line(strokeWidth=2)
    title = _title(
        "Figure 10: the Fuss-Catalan density vs the empirical spectrum",
        provenance,
        claims,
        "Log y: the density blows up like x^(-M/(M+1)) at 0.",
    )
    return _by_factors((steps + line).properties(width=220, height=200)).properties(title=title)


def fig11(stats: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.LayerChart:
    """Condition number vs M, mean and std over runs of log10 kappa; the float64 product for contrast."""
    frame = pl.concat(
        [
            stats.select("M", mean="log10_kappa_mean", std="log10_kappa_std", method=pl.lit(STABLE)),
            stats.select("M", mean="naive_log10_kappa_mean", std="naive_log10_kappa_std", method=pl.lit(NAIVE)),
        ]
    ).with_columns(
        kappa=10 ** pl.col("mean"),
        lower=10 ** (pl.col("mean") - pl.col("std")),
        upper=10 ** (pl.col("mean") + pl.col("std")),
    )
    base = alt.Chart(frame).encode(
        x=alt.X("M:Q", title="number of factors M"),
        color=alt.Color("method:N", title=None, sort=[STABLE, NAIVE]),
    )
    dash = alt.StrokeDash("method:N", legend=None, scale=alt.Scale(domain=[STABLE, NAIVE], range=[[1, 0], [5, 4]]))
    line = base.mark_line(point=True).encode(
        y=alt.Y("kappa:Q", title="condition number", scale=alt.Scale(type="log")), strokeDash=dash
    )
    bars = base.mark_errorbar().encode(y=alt.Y("lower:Q", title="condition number"), y2="upper:Q")
    title = _title(
        "Figure 11: condition number of a product of M Gaussian matrices",
        provenance,
        claims,
        "Points: 10^(mean of log10 kappa); bars: 10^(mean +- std) over runs (kappa spans decades between runs).",
        "Dashed: the float64 product loses its small singular values, and its SVD stalls near 1e16-1e18.",
    )
    return (bars + line).properties(width=480, height=320, title=title)


def fig12(stats: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.LayerChart:
    """Largest singular value vs M, mean and std over runs, with the N -> infinity edge."""
    edge = pl.DataFrame({"M": stats["M"], "edge": np.sqrt([theory.x_max(m) for m in stats["M"].to_list()])})
    frame = stats.with_columns(
        lower=pl.col("sigma_max_mean") - pl.col("sigma_max_std"),
        upper=pl.col("sigma_max_mean") + pl.col("sigma_max_std"),
    )
    x = alt.X("M:Q", title="number of factors M")
    y_title = "largest singular value"
    log = alt.Scale(type="log")
    points = alt.Chart(frame).mark_line(point=True).encode(x=x, y=alt.Y("sigma_max_mean:Q", title=y_title, scale=log))
    bars = alt.Chart(frame).mark_errorbar().encode(x=x, y=alt.Y("lower:Q", title=y_title), y2="upper:Q")
    limit = alt.Chart(edge).mark_line(strokeDash=[4, 4], color="gray").encode(x=x, y=alt.Y("edge:Q", title=y_title))
    title = _title(
        "Figure 12: largest singular value of a product of M Gaussian matrices",
        provenance,
        claims,
        "Mean +- std over runs, log y; dashed: the N -> infinity edge sqrt((M+1)^(M+1)/M^M), about sqrt(e (M+1)).",
    )
    return (limit + bars + points).properties(width=480, height=320, title=title)


def draw_fig8(data, settings: dict, claims: pl.DataFrame) -> alt.FacetChart:
    """Figure 8 from the spectra (``data.spectra``)."""
    histograms = analysis.histograms(parquet.read(data.spectra), settings["rmt/histogram_bins"], "sigma")
    return fig8(histograms, claims, parquet.provenance(data.spectra))


def draw_fig9(data, settings: dict, claims: pl.DataFrame) -> alt.Chart:
    """Figure 9 from the theoretical curves (``data.theory``)."""
    return fig9(parquet.read(data.theory), claims, parquet.provenance(data.theory))


def draw_fig10(data, settings: dict, claims: pl.DataFrame) -> alt.FacetChart:
    """Figure 10 from the theoretical curves and the spectra (``data.theory``, ``data.spectra``)."""
    histograms = analysis.histograms(parquet.read(data.spectra), settings["rmt/histogram_bins"], "x")
    return fig10(parquet.read(data.theory), histograms, claims, parquet.provenance(data.spectra))


def draw_fig11(data, settings: dict, claims: pl.DataFrame) -> alt.LayerChart:
    """Figure 11 from the condition numbers (``data.condition``)."""
    stats = analysis.run_statistics(parquet.read(data.condition))
    return fig11(stats, claims, parquet.provenance(data.condition))


def draw_fig12(data, settings: dict, claims: pl.DataFrame) -> alt.LayerChart:
    """Figure 12 from the largest singular values (``data.condition``)."""
    stats = analysis.run_statistics(parquet.read(data.condition))
    return fig12(stats, claims, parquet.provenance(data.condition))
