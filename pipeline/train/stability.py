"""The largest stable learning rate of a network (beyond the paper; it tests §3.4's mechanism directly).

A rate is *stable within K steps* when the first K steps of the paper's recipe (SGD with momentum and weight
decay, batch 128, pad-4 crop + flip, the data order of epoch 0 of a training run of this seed) from the seeded
initial checkpoint give no mini-batch loss above ``train.divergence_loss`` (§3.4's divergence). For a grid of
rates, the largest stable one is found by bisection, assuming that a rate above a diverging one diverges too;
the bisection's last step has always tried the grid point just above its answer, so the answer's neighbour is
a measured divergence, not an extrapolation. A trial stops at its first diverging step.

One search answers every K of ``stability.steps``: the largest K first (each trial runs up to K steps, or until
it diverges), then the smaller ones, which reuse every trial (a trial that ran K steps or diverged at step d
says whether the rate is stable for every K' <= K) and run only the new rates they need, for K' steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

SCHEMA = {  # a search's trials as written: one row per rate tried
    "lr": pl.Float64,
    "steps": pl.Int32,
    "diverged_step": pl.Int32,
    "loss": pl.Float64,
    "seconds": pl.Float64,
}


@dataclass(frozen=True)
class Trial:
    """One rate tried: how many steps ran, the first diverging step (0-based) and its loss, if any."""

    lr: float
    steps: int
    diverged_step: int | None
    loss: float | None
    seconds: float

    def stable(self, k: int) -> bool | None:
        """Stable within the first ``k`` steps; None if this trial cannot tell (it stopped before k, stable)."""
        if self.diverged_step is not None:
            return self.diverged_step >= k
        return True if self.steps >= k else None


def search(grid: list[float], steps: list[int], run: Callable[[float, int], Trial], log=print) -> list[Trial]:
    """Bisect the ascending ``grid`` for the largest stable rate at every K of ``steps``; ``run(lr, k)`` tries
    one rate for up to k steps. Returns every trial, in the order run."""
    if list(grid) != sorted(set(grid)):
        raise ValueError(f"the rate grid must be strictly increasing: {grid}")
    trials: dict[float, Trial] = {}
    for k in sorted(set(steps), reverse=True):

        def stable(lr: float, k: int = k) -> bool:
            known = trials[lr].stable(k) if lr in trials else None
            if known is None:
                trials[lr] = run(lr, k)
                known = trials[lr].stable(k)
                log(f"  lr {lr:g}, {k} steps: {'stable' if known else f'diverged at step {trials[lr].diverged_step}'}")
            return known

        low, high = -1, len(grid)  # grid[low] stable (or none is), grid[high] diverges (or none does)
        while high - low > 1:
            middle = (low + high) // 2
            if stable(grid[middle]):
                low = middle
            else:
                high = middle
    return list(trials.values())


def largest_stable(trials: pl.DataFrame, grid: list[float], k: int) -> float | None:
    """The largest rate of ``grid`` stable within ``k`` steps, from a search's trials (columns lr, steps,
    diverged_step): None when even the smallest diverges; the top of the grid when it is stable (a lower
    bound). Checks that the grid point above the answer was tried and diverged (a complete bisection)."""
    verdict = {}
    for row in trials.iter_rows(named=True):
        trial = Trial(row["lr"], row["steps"], row["diverged_step"], None, 0.0)
        verdict[row["lr"]] = trial.stable(k)
    stable = [lr for lr in grid if verdict.get(lr)]
    answer = max(stable) if stable else None
    above = [lr for lr in grid if answer is None or lr > answer]
    if above and verdict.get(above[0]) is not False:
        raise ValueError(f"no trial shows that {above[0]:g} diverges within {k} steps: an incomplete search")
    return answer


def timed(run: Callable[[float, int], tuple[int | None, float | None, int]]) -> Callable[[float, int], Trial]:
    """Wrap ``run(lr, k) -> (diverged step or None, its loss or None, steps run)`` into a timed :class:`Trial`."""

    def trial(lr: float, k: int) -> Trial:
        start = time.perf_counter()
        step, loss, ran = run(lr, k)
        return Trial(lr, ran, step, loss, time.perf_counter() - start)

    return trial
