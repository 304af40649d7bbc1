"""Figures 8-12: histograms of the spectra, run statistics of the extremes, and the claim of each figure."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.claims import Check, Decision
from pipeline.rmt import theory


def ks_by_factors(spectra: pl.DataFrame) -> pl.DataFrame:
    """Kolmogorov-Smirnov distance of each M's pooled spectrum (all runs) to the law. Columns: M, ks, values."""
    rows = []
    for (m,), group in spectra.group_by("M", maintain_order=True):
        x = group["x"].to_numpy()
        rows.append({"M": m, "ks": theory.ks_distance(x, m), "values": int(np.size(x))})
    return pl.DataFrame(rows).sort("M")


def histograms(spectra: pl.DataFrame, bins: int, column: str) -> pl.DataFrame:
    """Density histograms per (M, run) of ``column`` (x, or sigma = sqrt(x)), common bins per M.

    Columns: M, run, left, right, center, density.
    """
    values = spectra.with_columns(sigma=pl.col("x").sqrt())
    frames = []
    for (m,), group in values.group_by("M", maintain_order=True):
        edges = np.linspace(0.0, float(group[column].max()), bins + 1)
        for (run,), part in group.group_by("run", maintain_order=True):
            density, _ = np.histogram(part[column].to_numpy(), bins=edges, density=True)
            frames.append(
                pl.DataFrame(
                    {
                        "M": m,
                        "run": run,
                        "left": edges[:-1],
                        "right": edges[1:],
                        "center": (edges[:-1] + edges[1:]) / 2,
                        "density": density,
                    }
                )
            )
    return pl.concat(frames).with_columns(pl.col("M", "run").cast(pl.Int32)).sort("M", "run", "left")


def run_statistics(condition: pl.DataFrame) -> pl.DataFrame:
    """Per M: mean and std over runs of log10 kappa (stable and naive) and of sigma_max."""
    return (
        condition.with_columns(sigma_max=10 ** pl.col("log10_sigma_max"))
        .group_by("M")
        .agg(
            *[pl.col(c).sort().mean().alias(f"{c}_mean") for c in ("log10_kappa", "naive_log10_kappa", "sigma_max")],
            *[
                pl.col(c).sort().std(ddof=0).alias(f"{c}_std")
                for c in ("log10_kappa", "naive_log10_kappa", "sigma_max")
            ],
            runs=pl.len(),
        )
        .sort("M")
    )


def _increasing(values: list[float]) -> bool:
    """Whether a sequence strictly increases."""
    return all(b > a for a, b in itertools.pairwise(values))


def fig8_claims(spectra: pl.DataFrame) -> list[Check]:
    """Heavier tails and a larger maximum singular value as M grows."""
    per_m = (
        spectra.with_columns(sigma=pl.col("x").sqrt())
        .group_by("M", "run")
        .agg(top=pl.col("sigma").max(), tail=pl.col("sigma").quantile(0.99) / pl.col("sigma").median())
        .group_by("M")
        .agg(pl.col("top", "tail").sort().mean())
        .sort("M")
    )
    top_ok = _increasing(per_m["top"].to_list())
    tail_ok = _increasing(per_m["tail"].to_list())
    ms = per_m["M"].to_list()
    return [
        Check(
            "fig8",
            "larger maximum singular value as M grows",
            f"mean max singular value, M={ms[0]} -> M={ms[-1]} (ratio)",
            per_m["top"][-1] / per_m["top"][0],
            "increases with every M",
            top_ok,
        ),
        Check(
            "fig8",
            "heavier tails as M grows",
            f"mean 99th percentile / median of sigma, M={ms[-1]}",
            per_m["tail"][-1],
            "increases with every M",
            tail_ok,
        ),
    ]


def fig9_claims(curves: pl.DataFrame) -> list[Check]:
    """x(phi) is strictly decreasing, so invertible: count the grid steps where it is not, over every M."""
    rises = 0
    for (_m,), group in curves.group_by("M"):
        x = group.sort("phi")["x"].to_numpy()
        rises += int(np.sum(np.diff(x) >= 0))
    return [
        Check(
            "fig9",
            "x(phi) strictly decreasing, so invertible",
            f"grid steps where x(phi) does not decrease (M in {sorted(curves['M'].unique().to_list())})",
            float(rises),
            "== 0",
            rises == 0,
        )
    ]


def fig10_claims(ks: pl.DataFrame, max_ks: float) -> list[Check]:
    """The law matches the empirical squared singular values (normalized 1/N per factor), per M."""
    return [
        Check.at_most(
            "fig10",
            "the Fuss-Catalan density matches the empirical spectrum",
            f"Kolmogorov-Smirnov distance, M={row['M']} ({row['values']} values)",
            row["ks"],
            max_ks,
        )
        for row in ks.iter_rows(named=True)
    ]


def fig11_claims(stats: pl.DataFrame) -> list[Check]:
    """The condition number grows dramatically with M (and the float64 product cannot show it)."""
    ok = _increasing(stats["log10_kappa_mean"].to_list())
    last = stats.row(-1, named=True)
    understated = last["log10_kappa_mean"] - last["naive_log10_kappa_mean"]
    return [
        Check(
            "fig11",
            "condition number grows dramatically with M",
            f"mean log10 condition number at M={last['M']} (M=1: {stats['log10_kappa_mean'][0]:.3g})",
            last["log10_kappa_mean"],
            "increases with every M",
            ok,
        ),
        Check(
            "fig11",
            "(numerics) a float64 product understates it",
            f"decades by which SVD of the float64 product understates kappa at M={last['M']}",
            understated,
            "> 1",
            understated > 1,
        ),
    ]


def fig12_claims(stats: pl.DataFrame) -> list[Check]:
    """The maximum singular value increases with M, but below the N -> infinity edge."""
    ok = _increasing(stats["sigma_max_mean"].to_list())
    last = stats.row(-1, named=True)
    edge = float(np.sqrt(theory.x_max(last["M"])))
    return [
        Check(
            "fig12",
            "maximum singular value increases with M",
            f"mean max singular value at M={last['M']} (M=1: {stats['sigma_max_mean'][0]:.3g})",
            last["sigma_max_mean"],
            "increases with every M",
            ok,
        ),
        Check(
            "fig12",
            "slower than for infinitely large matrices",
            f"mean max singular value / N->inf edge sqrt((M+1)^(M+1)/M^M) at M={last['M']}",
            last["sigma_max_mean"] / edge,
            "< 1",
            last["sigma_max_mean"] < edge,
        ),
    ]


def all_claims(
    curves: pl.DataFrame, ks: pl.DataFrame, spectra: pl.DataFrame, condition: pl.DataFrame, max_ks: float
) -> dict[str, list[Check]]:
    """The claim checks of Figures 8-12, by target."""
    stats = run_statistics(condition)
    return {
        "fig8": fig8_claims(spectra),
        "fig9": fig9_claims(curves),
        "fig10": fig10_claims(ks, max_ks),
        "fig11": fig11_claims(stats),
        "fig12": fig12_claims(stats),
    }


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The claims of Figures 8-12 from the RMT tables (``data.theory``, ``data.spectra``, ``data.condition``)."""
    spectra = parquet.read(data.spectra)
    max_ks = settings["rmt/max_ks"]
    checks = all_claims(
        parquet.read(data.theory),
        ks_by_factors(spectra),
        spectra,
        parquet.read(data.condition),
        max_ks,
    )
    return Decision(checks, {**parquet.provenance(data.spectra), "rules": {"max_ks": max_ks}})
