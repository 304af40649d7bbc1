"""Theorem 1: the Fuss-Catalan law of the squared singular values of a product of M Gaussian matrices.

For X = X_1 ... X_M, independent N x N with entry variance 1/N, N -> infinity, the squared singular values x
have the density rho on (0, (M+1)^(M+1) / M^M], given through phi in (0, pi/(M+1)) by eq. (9) and (10):

    x(phi)   = sin((M+1) phi)^(M+1) / (sin(phi) sin(M phi)^M)
    rho(phi) = sin(phi)^2 sin(M phi)^(M-1) / (pi sin((M+1) phi)^M)      (= sin((M+1)phi) sin(phi) / (pi x sin(M phi)))

x(phi) is strictly decreasing, so integrals over x are integrals over phi with the weight
g(phi) = rho(phi) |dx/dphi|, which stays finite at both ends (rho's blow-up at x -> 0 is cancelled by dx/dphi).
Gauss-Legendre quadrature of g gives the normalization and the moments; a cumulative integral of g gives the
distribution function used for the Kolmogorov-Smirnov distance to empirical spectra.
"""

from __future__ import annotations

import math

import numpy as np


def phi_max(m: int) -> float:
    """The upper end of the parametrization: phi in (0, pi/(M+1))."""
    return math.pi / (m + 1)


def x_of_phi(phi: np.ndarray, m: int) -> np.ndarray:
    """Eq. (9): the squared singular value at parameter phi (computed in logs: sin^M underflows for large M)."""
    log_x = (m + 1) * np.log(np.sin((m + 1) * phi)) - np.log(np.sin(phi)) - m * np.log(np.sin(m * phi))
    return np.exp(log_x)


def density_of_phi(phi: np.ndarray, m: int) -> np.ndarray:
    """Eq. (10): rho at x(phi)."""
    log_rho = 2 * np.log(np.sin(phi)) + (m - 1) * np.log(np.sin(m * phi)) - m * np.log(np.sin((m + 1) * phi))
    return np.exp(log_rho) / math.pi


def dlogx_dphi(phi: np.ndarray, m: int) -> np.ndarray:
    """d log x / d phi = (M+1)^2 cot((M+1)phi) - cot(phi) - M^2 cot(M phi): negative on the whole interval."""
    return (m + 1) ** 2 / np.tan((m + 1) * phi) - 1 / np.tan(phi) - m**2 / np.tan(m * phi)


def weight(phi: np.ndarray, m: int) -> np.ndarray:
    """g(phi) = rho(x(phi)) |dx/dphi|: the density of phi when x follows the law."""
    return density_of_phi(phi, m) * x_of_phi(phi, m) * np.abs(dlogx_dphi(phi, m))


def x_max(m: int) -> float:
    """The upper edge of the support, (M+1)^(M+1) / M^M (the limit phi -> 0)."""
    return (m + 1) ** (m + 1) / m**m


def integrate(fn, m: int, nodes: int = 400) -> float:
    """Integral of fn(phi) * g(phi) over (0, pi/(M+1)) by Gauss-Legendre quadrature (endpoints never evaluated)."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    half = phi_max(m) / 2
    phi = half * (t + 1)
    return float(half * np.sum(w * fn(phi) * weight(phi, m)))


def moment(k: int, m: int) -> float:
    """The k-th moment of the law, by quadrature."""
    return integrate(lambda phi: x_of_phi(phi, m) ** k, m)


def fuss_catalan(k: int, m: int) -> int:
    """The Fuss-Catalan number binom((M+1)k, k) / (Mk+1): the exact k-th moment."""
    return math.comb((m + 1) * k, k) // (m * k + 1)


def curve(m: int, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phi, x, rho) on an open grid of ``points`` values of phi, x decreasing."""
    phi = phi_max(m) * (np.arange(1, points + 1) / (points + 1))
    return phi, x_of_phi(phi, m), density_of_phi(phi, m)


def cdf(m: int, points: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """The distribution function F on an increasing grid of x: (x, F(x)), F from 0 to 1.

    F(x(phi)) is the integral of g from phi to pi/(M+1); the grid is dense in phi, so also near both edges.
    """
    phi = phi_max(m) * np.linspace(0.0, 1.0, points + 2)[1:-1]
    g = weight(phi, m)
    # Cumulative trapezoid from the x -> 0 end (phi -> pi/(M+1)), where g tends to a finite value.
    reversed_phi, reversed_g = phi[::-1], g[::-1]
    steps = np.abs(np.diff(reversed_phi)) * (reversed_g[1:] + reversed_g[:-1]) / 2
    tail = phi_max(m) - reversed_phi[0]
    cumulative = np.concatenate([[reversed_g[0] * tail], reversed_g[0] * tail + np.cumsum(steps)])
    total = cumulative[-1] + g[0] * phi[0]  # the last sliver up to phi = 0
    return x_of_phi(reversed_phi, m), cumulative / total


def ks_distance(samples: np.ndarray, m: int) -> float:
    """Kolmogorov-Smirnov distance between the empirical distribution of ``samples`` and the law."""
    grid_x, grid_f = cdf(m)
    values = np.sort(np.asarray(samples, dtype=np.float64))
    theory = np.interp(values, grid_x, grid_f, left=0.0, right=1.0)
    n = values.size
    above = np.arange(1, n + 1) / n - theory
    below = theory - np.arange(0, n) / n
    return float(max(above.max(), below.max()))
