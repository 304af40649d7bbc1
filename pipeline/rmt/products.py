"""Products of independent N x N Gaussian matrices (entry variance 1/N): spectra and extreme singular values.

A float64 product of many factors cannot be handed to an SVD: its singular values span more decades than
float64 resolves, so the small ones come back as rounding noise near sigma_max * 1e-16 and the condition number
is understated (``Extremes.naive_log_min`` records it; a test measures both against mpmath). The stable route
never forms the small end of the product:

- sigma_max(X) from the product accumulated factor by factor and renormalized after each step (the scale kept
  as a logarithm): rounding errors are relative to the largest singular value, so it stays exact;
- sigma_min(X) = 1 / sigma_max(X^-1), and X^-1 = X_M^-1 ... X_1^-1 is accumulated the same way with LU solves
  against each (well-conditioned) factor, never inverting the product.

Products are grown one factor at a time, so the extremes of every prefix (M = 1, 2, ...) come from one chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np


def factor(rng: np.random.Generator, n: int) -> np.ndarray:
    """An N x N matrix with independent N(0, 1/N) entries (Theorem 1's scaling)."""
    return rng.standard_normal((n, n)) / math.sqrt(n)


def run_rng(seed: int, purpose: int, run: int) -> np.random.Generator:
    """An independent stream per (seed, purpose, run): runs and figure families never share random numbers."""
    return np.random.default_rng([seed, purpose, run])


class Extremes(NamedTuple):
    """Natural logs of the extreme singular values of one prefix product X_k = F_k ... F_1."""

    factors: int
    log_max: float  # stable
    log_min: float  # stable: -log sigma_max(X^-1)
    naive_log_min: float  # float64 product, then SVD: what the textbook route reports


def _renormalize(matrix: np.ndarray) -> float:
    """Divide ``matrix`` by its Frobenius norm in place; return the log of that norm."""
    norm = float(np.linalg.norm(matrix))
    matrix /= norm
    return math.log(norm)


def chain_extremes(factors: Iterable[np.ndarray]) -> Iterator[Extremes]:
    """For each prefix X_k = F_k ... F_1 (k = 1, 2, ...), its extreme singular values, stable and naive."""
    product = inverse = None
    log_product = log_inverse = 0.0
    for k, f in enumerate(factors, start=1):
        product = f.copy() if product is None else f @ product
        # X_k^-1 = X_{k-1}^-1 F_k^-1: right-multiplication by F_k^-1 is a solve with F_k transposed.
        inverse = np.linalg.inv(f) if inverse is None else np.linalg.solve(f.T, inverse.T).T
        log_product += _renormalize(product)
        log_inverse += _renormalize(inverse)
        s = np.linalg.svd(product, compute_uv=False)
        inverse_max = float(np.linalg.svd(inverse, compute_uv=False)[0])
        yield Extremes(
            k, log_product + math.log(s[0]), -(log_inverse + math.log(inverse_max)), log_product + math.log(s[-1])
        )


def squared_singular_values(factors: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The squared singular values of each prefix product X_k = F_k ... F_1, for the spectra (fig8, fig10).

    The bulk of the spectrum is what these figures show; values below ~1e-16 * sigma_max^2 are not resolved in
    float64 but lie in the first histogram bin whatever their exact value, and cannot move the KS distance by
    more than their share of the spectrum.
    """
    product = None
    for f in factors:
        product = f.copy() if product is None else f @ product
        yield np.linalg.svd(product, compute_uv=False) ** 2
