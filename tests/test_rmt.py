"""Random matrix theory: the Fuss-Catalan law, exact extreme singular values of long products, the RMT charts."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import polars as pl
import pytest

from pipeline.analysis import rmt as analysis
from pipeline.plots import rmt as plots
from pipeline.rmt import experiments, products, theory

FACTORS = [1, 2, 3, 5, 8, 13]


def test_m1_is_marchenko_pastur_with_ratio_1():
    x = np.linspace(0.01, 3.99, 50)
    phi = np.arccos(np.sqrt(x / 4))  # for M = 1, x(phi) = 4 cos^2(phi)
    assert np.allclose(theory.x_of_phi(phi, 1), x)
    assert np.allclose(theory.density_of_phi(phi, 1), np.sqrt((4 - x) / x) / (2 * np.pi))


@pytest.mark.parametrize("m", FACTORS)
def test_density_integrates_to_one_and_has_fuss_catalan_moments(m):
    assert theory.integrate(np.ones_like, m) == pytest.approx(1.0, abs=1e-10)
    for k in (1, 2, 3):
        assert theory.moment(k, m) == pytest.approx(theory.fuss_catalan(k, m), rel=1e-10)
    assert theory.fuss_catalan(2, m) == m + 1  # mean 1, second moment M+1


@pytest.mark.parametrize("m", FACTORS)
def test_x_of_phi_is_strictly_decreasing_from_the_edge_to_zero(m):
    phi, x, rho = theory.curve(m, 5000)
    assert np.all(np.diff(x) < 0) and np.all(theory.dlogx_dphi(phi, m) < 0)
    assert x[0] == pytest.approx(theory.x_max(m), rel=1e-5) and x[-1] < 1e-6 * theory.x_max(m)
    assert np.all(rho > 0)


def test_cdf_runs_from_zero_to_one():
    x, f = theory.cdf(4)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(f) >= 0)
    assert f[0] < 1e-3 and f[-1] == pytest.approx(1.0)


def test_ks_distance_tells_the_right_law_from_the_wrong_one():
    spectrum = next(iter(products.squared_singular_values([products.factor(np.random.default_rng(0), 400)])))
    assert theory.ks_distance(spectrum, 1) < 0.02 < theory.ks_distance(spectrum, 2)


def _reference_log_extremes(factors: list[np.ndarray]) -> tuple[float, float]:
    """log sigma_max and log sigma_min of the product, from an SVD in 150-digit arithmetic."""
    with mpmath.workdps(150):
        product = mpmath.eye(factors[0].shape[0])
        for f in factors:
            product = mpmath.matrix(f.tolist()) * product
        s = mpmath.svd_r(product, compute_uv=False)
        return float(mpmath.log(max(s))), float(mpmath.log(min(s)))


@pytest.mark.parametrize(("n", "m", "seed"), [(4, 60, 0), (6, 40, 1), (8, 50, 2)])
def test_condition_number_of_long_products_matches_high_precision(n, m, seed):
    rng = np.random.default_rng(seed)
    factors = [products.factor(rng, n) for _ in range(m)]
    ref_max, ref_min = _reference_log_extremes(factors)
    last = list(products.chain_extremes(factors))[-1]
    log_kappa = ref_max - ref_min
    assert ref_max == pytest.approx(last.log_max, rel=1e-8)
    assert ref_min == pytest.approx(last.log_min, rel=1e-8)
    assert last.log_max - last.log_min == pytest.approx(log_kappa, rel=1e-8)
    # The care is needed: the SVD of the float64 product understates log kappa by more than 10%.
    naive = last.log_max - last.naive_log_min
    assert naive < 0.9 * log_kappa
    assert log_kappa / math.log(10) > 25  # far beyond float64's 16 digits


def test_every_prefix_is_reported_and_short_products_agree_with_numpy():
    rng = np.random.default_rng(3)
    factors = [products.factor(rng, 30) for _ in range(3)]
    chain = list(products.chain_extremes(factors))
    assert [e.factors for e in chain] == [1, 2, 3]
    s = np.linalg.svd(factors[1] @ factors[0], compute_uv=False)
    assert chain[1].log_max == pytest.approx(math.log(s[0]), rel=1e-12)
    assert chain[1].log_min == pytest.approx(math.log(s[-1]), rel=1e-9)


def test_tables_are_seeded_and_long_format():
    a = experiments.condition_frame(0, 20, 2, 4)
    assert a.equals(experiments.condition_frame(0, 20, 2, 4))
    assert not a.equals(experiments.condition_frame(1, 20, 2, 4))
    assert a.height == 8 and set(a["M"].to_list()) == {1, 2, 3, 4}
    spectra = experiments.spectra_frame(0, 20, 2, [1, 3])
    assert spectra.height == 2 * 2 * 20 and sorted(spectra["M"].unique().to_list()) == [1, 3]
    # Spectra and condition numbers use independent random streams.
    first = spectra.filter(pl.col("M") == 1, pl.col("run") == 0)["x"].max()
    assert math.log10(first) / 2 != pytest.approx(a.filter(pl.col("M") == 1, pl.col("run") == 0)["log10_sigma_max"][0])


def _provenance(n=40, runs=2):
    return {"profile": "smoke", "code_version": "abc", "params": {"n": n, "runs": runs, "seed": 0}}


def test_claims_and_charts_from_small_tables():
    curves = experiments.theory_frame([1, 2], 200)
    spectra = experiments.spectra_frame(0, 40, 2, [1, 2])
    condition = experiments.condition_frame(0, 40, 2, 5)
    checks = analysis.all_claims(curves, analysis.ks_by_factors(spectra), spectra, condition, 0.5)
    assert set(checks) == {"fig8", "fig9", "fig10", "fig11", "fig12"}
    assert checks["fig9"][0].agrees and checks["fig9"][0].value == 0
    assert all(c.agrees for c in checks["fig10"])  # KS <= 0.5 holds even at N = 40
    stats = analysis.run_statistics(condition)
    assert stats["log10_kappa_mean"].is_sorted() and stats["runs"].to_list() == [2] * 5
    empty = pl.DataFrame(schema={"quantity": pl.String, "value": pl.Float64, "rule": pl.String, "agrees": pl.Boolean})
    spec = plots.fig11(stats, empty, _provenance()).to_dict()
    assert spec["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"
    assert spec["layer"][1]["encoding"]["x"]["field"] == "M"
    spec12 = plots.fig12(stats, empty, _provenance()).to_dict()
    assert spec12["layer"][2]["encoding"]["y"]["scale"]["type"] == "log"
    spec10 = plots.fig10(curves, analysis.histograms(spectra, 10, "x"), empty, _provenance()).to_dict()
    assert spec10["facet"]["column"]["field"] == "M" and spec10["resolve"]["scale"]["x"] == "independent"
    spec9 = plots.fig9(curves, empty, _provenance()).to_dict()
    assert spec9["encoding"]["x"]["field"] == "phi" and spec9["title"]["subtitle"][0].startswith("Theory")
    histograms = analysis.histograms(spectra, 10, "sigma")
    widths = (histograms["right"] - histograms["left"]).to_numpy()
    assert histograms.group_by("M", "run").agg((pl.col("density") * (pl.col("right") - pl.col("left"))).sum())[
        "density"
    ].to_list() == pytest.approx([1.0] * 4) and np.all(widths > 0)
