"""The largest stable learning rate of a network (beyond the paper; it tests §3.4's mechanism directly).

A rate is *stable within K steps* when the first K steps of the paper's recipe (SGD with momentum and weight
decay, batch 128, pad-4 crop + flip, the data order of epoch 0 of a training run of this seed) from the seeded
initial checkpoint give no mini-batch loss above ``train.divergence_loss`` (§3.4's divergence). For a grid of
rates, the largest stable one is found by a scan from the top of the grid down, which stops at the first rate
stable for the largest K. A trial stops at its first diverging step, and a rate well above the edge diverges in
a few steps, so the scan costs about one full trial where a bisection runs two or three. It also assumes
nothing: every rate above the answer was tried and diverged, so the answer is the grid's largest stable rate even
where stability is not monotone in the rate.

One scan answers every K of ``stability.steps``: a trial that ran K steps or diverged at step d says whether its
rate is stable for every K' <= K, and every rate above the answer for the largest K was tried.
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
    """Scan the ascending ``grid`` from the top down for the largest rate stable within the largest K of
    ``steps``; ``run(lr, k)`` tries one rate for up to k steps. Returns every trial, in the order run: the rates
    above the answer (each diverged), then the answer (none when every rate diverges)."""
    if list(grid) != sorted(set(grid)):
        raise ValueError(f"the rate grid must be strictly increasing: {grid}")
    k = max(steps)
    trials = []
    for lr in reversed(grid):
        trials.append(run(lr, k))
        stable = trials[-1].stable(k)
        log(f"  lr {lr:g}, {k} steps: {'stable' if stable else f'diverged at step {trials[-1].diverged_step}'}")
        if stable:
            break
    return trials


def largest_stable(trials: pl.DataFrame, grid: list[float], k: int) -> float | None:
    """The largest rate of ``grid`` stable within ``k`` steps, from a search's trials (columns lr, steps,
    diverged_step): None when even the smallest diverges; the top of the grid when it is stable (a lower
    bound). Checks that every grid point above the answer was tried and diverged (a complete scan)."""
    verdict = {}
    for row in trials.iter_rows(named=True):
        trial = Trial(row["lr"], row["steps"], row["diverged_step"], None, 0.0)
        verdict[row["lr"]] = trial.stable(k)
    stable = [lr for lr in grid if verdict.get(lr)]
    answer = max(stable) if stable else None
    unsettled = [lr for lr in grid if (answer is None or lr > answer) and verdict.get(lr) is not False]
    if unsettled:
        raise ValueError(f"no trial shows that {unsettled[0]:g} diverges within {k} steps: an incomplete search")
    return answer


def timed(run: Callable[[float, int], tuple[int | None, float | None, int]]) -> Callable[[float, int], Trial]:
    """Wrap ``run(lr, k) -> (diverged step or None, its loss or None, steps run)`` into a timed :class:`Trial`."""

    def trial(lr: float, k: int) -> Trial:
        start = time.perf_counter()
        step, loss, ran = run(lr, k)
        return Trial(lr, ran, step, loss, time.perf_counter() - start)

    return trial
