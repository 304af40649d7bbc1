"""Benchmark: time of the RMT family (Fig. 8-12) at the paper's scale, and how it grows with M and N.

    uv run --locked python benchmarks/rmt_scaling.py [--threads T]

Times the three tables with the cpu profile's parameters (N = 1000, 5 runs, M up to 25), then one run of the
extreme-singular-value chain for a grid of N and M. Each factor costs a product, a solve and two SVDs, O(N^3),
so time per run grows ~linearly in M and ~cubically in N.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pipeline import config
from pipeline.rmt import experiments, products

REPO = Path(__file__).resolve().parent.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def chain(n: int, m: int) -> None:
    """One run of the extreme-singular-value chain: M factors of size N."""
    rng = np.random.default_rng(0)
    list(products.chain_extremes(products.factor(rng, n) for _ in range(m)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all cores)")
    threads = parser.parse_args().threads
    if threads:
        torch.set_num_threads(threads)  # numpy's BLAS follows OMP_NUM_THREADS; set it in the environment too
    p = config.load(REPO / "params.yaml", {"profile": "cpu"})["rmt"]
    print(
        f"RMT family at paper scale: N={p['n']}, runs={p['runs']}, spectra M={p['spectrum_factors']}, "
        f"condition M=1..{p['condition_factors']}"
    )
    parts = {
        "theory curves (fig9, fig10)": lambda: experiments.theory_frame(p["spectrum_factors"], p["curve_points"]),
        "spectra (fig8, fig10)": lambda: experiments.spectra_frame(p["seed"], p["n"], p["runs"], p["spectrum_factors"]),
        "extremes (fig11, fig12)": lambda: experiments.condition_frame(
            p["seed"], p["n"], p["runs"], p["condition_factors"]
        ),
    }
    total = 0.0
    for name, fn in parts.items():
        seconds = timed(fn)
        total += seconds
        print(f"  {name:<32} {seconds:7.1f} s")
    print(f"  {'total':<32} {total:7.1f} s")
    print("\nOne run of the extremes chain (seconds), by N (rows) and M (columns):")
    ms = [5, 10, 25]
    print("  N     " + "".join(f"M={m:<8}" for m in ms))
    for n in (250, 500, 1000, 2000):
        row = [timed(lambda n=n, m=m: chain(n, m)) for m in ms]
        print(f"  {n:<6}" + "".join(f"{s:<10.2f}" for s in row))


if __name__ == "__main__":
    main()
