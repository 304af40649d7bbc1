"""The RMT measurements as long-format tables: theoretical curves, empirical spectra, extreme singular values."""

from __future__ import annotations

import math

import polars as pl

from pipeline.rmt import products, theory
from pipeline.runtime import progress

SPECTRA, CONDITION = 8, 11  # purposes of the random streams: Fig. 8/10 and Fig. 11/12 never share numbers


def theory_frame(factors: list[int], points: int) -> pl.DataFrame:
    """Eq. (9) and (10) on a grid of phi for each M. Columns: M, phi, x, rho."""
    frames = []
    for m in factors:
        phi, x, rho = theory.curve(m, points)
        frames.append(pl.DataFrame({"M": m, "phi": phi, "x": x, "rho": rho}))
    return pl.concat(frames).with_columns(pl.col("M").cast(pl.Int32))


def spectra_frame(seed: int, n: int, runs: int, factors: list[int]) -> pl.DataFrame:
    """Squared singular values of the product of M factors, for each listed M and run. Columns: M, run, x."""
    frames = []
    for run in progress(range(runs), runs, "spectra runs"):
        rng = products.run_rng(seed, SPECTRA, run)
        chain = products.squared_singular_values(products.factor(rng, n) for _ in range(max(factors)))
        for m, x in enumerate(chain, start=1):
            if m in factors:
                frames.append(pl.DataFrame({"M": m, "run": run, "x": x}))
    return pl.concat(frames).with_columns(pl.col("M", "run").cast(pl.Int32))


def condition_frame(seed: int, n: int, runs: int, max_factors: int) -> pl.DataFrame:
    """log10 of the extreme singular values and the condition number for M = 1..max_factors, each run.

    Columns: M, run, log10_sigma_max, log10_sigma_min, log10_kappa (stable), naive_log10_kappa (float64 SVD).
    """
    rows = []
    for run in progress(range(runs), runs, "condition runs"):
        rng = products.run_rng(seed, CONDITION, run)
        for e in products.chain_extremes(products.factor(rng, n) for _ in range(max_factors)):
            rows.append(
                {
                    "M": e.factors,
                    "run": run,
                    "log10_sigma_max": e.log_max / math.log(10),
                    "log10_sigma_min": e.log_min / math.log(10),
                    "log10_kappa": (e.log_max - e.log_min) / math.log(10),
                    "naive_log10_kappa": (e.log_max - e.naive_log_min) / math.log(10),
                }
            )
    return pl.DataFrame(rows).with_columns(pl.col("M", "run").cast(pl.Int32))
