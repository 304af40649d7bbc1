"""Tables 2 and 3 as trainability searches: the largest rate at which the paper's recipe neither diverges nor stays
at chance within H steps (App. J: "Achievable learning rates are rates for which the networks don't diverge or
remain at the accuracy of random guessing").

A *trial* trains one rate for up to H steps from the seeded initial checkpoint (after the warm start's first
phase, for a warm-started variant), stops at its first diverging step (§3.4: a mini-batch loss above
``train.divergence_loss`` or not finite), and measures the test accuracy on a fixed set of held-out images at
every horizon it reaches. Within horizon h a rate is

- *diverged* when the trial diverged before step h;
- *at chance* when it did not, and its accuracy at h is at most :func:`chance_ceiling` (rule fixed before any
  number: 1/classes plus ``sigmas`` standard deviations of the accuracy of random guessing on that many images);
- *trainable* otherwise.

The search, per horizon (the longest first; shorter ones reuse its trials, since a trial that ran h steps answers
every h' <= h): the largest rate of the grid that does not diverge, by bisection that first tries the top of the
grid (normalized networks usually train there, so one trial often settles it) and assumes that a rate above a
diverging one diverges too; then, from that rate down, the first rate that is not at chance. Every rate between the
answer and the largest non-diverging one was tried and stayed at chance, and the grid point above the largest
non-diverging rate was tried and diverged, so the answer is measured, not extrapolated. No torch here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from pipeline.train import stability


def chance_ceiling(images: int, classes: int, sigmas: float) -> float:
    """The highest test accuracy on ``images`` held-out images that still counts as random guessing: 1/classes
    plus ``sigmas`` standard deviations of a random guesser's accuracy, sqrt(p (1 - p) / images)."""
    p = 1 / classes
    return p + sigmas * math.sqrt(p * (1 - p) / images)


@dataclass(frozen=True)
class Trial:
    """One rate tried: the steps run at the rate, the first diverging step (0-based) and its loss, and the test
    accuracy at each horizon reached before any divergence."""

    lr: float
    steps: int
    diverged_step: int | None
    loss: float | None
    accuracy: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0

    def diverged(self, h: int) -> bool | None:
        """Diverged within the first ``h`` steps; None if this trial cannot tell (it stopped before h, stable)."""
        if self.diverged_step is not None and self.diverged_step < h:
            return True
        return False if h in self.accuracy else None

    def trainable(self, h: int, ceiling: float) -> bool | None:
        """Neither diverged nor at chance within ``h`` steps; None if this trial cannot tell."""
        diverged = self.diverged(h)
        return None if diverged is None else not diverged and self.accuracy[h] > ceiling


def search(
    grid: list[float], horizons: list[int], ceiling: float, run: Callable[[float, int], Trial], log=print
) -> list[Trial]:
    """Search the ascending ``grid`` at every horizon of ``horizons``; ``run(lr, h)`` tries one rate for up to h
    steps, measuring the accuracy at every horizon up to h. Returns every trial, in the order run."""
    if list(grid) != sorted(set(grid)):
        raise ValueError(f"the rate grid must be strictly increasing: {grid}")
    trials: dict[float, Trial] = {}
    for h in sorted(set(horizons), reverse=True):

        def tried(lr: float, h: int = h) -> Trial:
            if lr not in trials or trials[lr].diverged(h) is None:
                trials[lr] = run(lr, h)
                t = trials[lr]
                outcome = (
                    f"diverged at step {t.diverged_step}" if t.diverged(h) else f"test accuracy {t.accuracy[h]:.4f}"
                )
                log(f"  lr {lr:g}, {h} steps: {outcome} (chance <= {ceiling:.4f})")
            return trials[lr]

        top = len(grid) - 1
        if tried(grid[top]).diverged(h):
            low, high = -1, top  # grid[low] does not diverge (or no rate), grid[high] diverges
            while high - low > 1:
                middle = (low + high) // 2
                if tried(grid[middle]).diverged(h):
                    high = middle
                else:
                    low = middle
        else:
            low = top
        while low >= 0 and not tried(grid[low]).trainable(h, ceiling):
            low -= 1
    return list(trials.values())


def timed(run: Callable[[float, int], tuple[int, int | None, float | None, dict[int, float]]]):
    """Wrap ``run(lr, h) -> (steps run, diverged step or None, its loss or None, accuracy by horizon)`` into a
    timed :class:`Trial`."""

    def trial(lr: float, h: int) -> Trial:
        start = time.perf_counter()
        steps, step, loss, accuracy = run(lr, h)
        return Trial(lr, steps, step, loss, accuracy, time.perf_counter() - start)

    return trial


SCHEMA = {**stability.SCHEMA, "horizon": pl.Int32, "test_acc": pl.Float64}  # a row per trial and horizon


def to_frame(trials: list[Trial]) -> pl.DataFrame:
    """One row per trial and horizon it measured (a trial that diverged before any horizon: one row, horizon
    null)."""
    rows = []
    for t in trials:
        base = {"lr": t.lr, "steps": t.steps, "diverged_step": t.diverged_step, "loss": t.loss, "seconds": t.seconds}
        measured = sorted(t.accuracy.items()) or [(None, None)]
        rows += [{**base, "horizon": h, "test_acc": acc} for h, acc in measured]
    return pl.DataFrame(rows, schema=SCHEMA)


def from_frame(frame: pl.DataFrame) -> list[Trial]:
    """The trials of :func:`to_frame`'s rows (one search)."""
    trials = []
    for (lr,), rows in frame.group_by("lr", maintain_order=True):
        first = rows.row(0, named=True)
        accuracy = {r["horizon"]: r["test_acc"] for r in rows.iter_rows(named=True) if r["horizon"] is not None}
        trials.append(Trial(lr, first["steps"], first["diverged_step"], first["loss"], accuracy, first["seconds"]))
    return trials


@dataclass(frozen=True)
class Answer:
    """A search's result at one horizon: the largest trainable rate (None: no rate of the grid), and the largest
    rate that did not diverge (None: every rate diverged)."""

    trainable: float | None
    stable: float | None


def answer(trials: list[Trial], grid: list[float], h: int, ceiling: float) -> Answer:
    """The answer of a search at horizon ``h``, checked to be complete: the grid point above the largest
    non-diverging rate diverged, and every rate from that rate down to the answer was tried."""
    by_lr = {t.lr: t for t in trials}

    def measured(lr: float, verdict: Callable[[Trial], bool | None]) -> bool:
        known = verdict(by_lr[lr]) if lr in by_lr else None
        if known is None:
            raise ValueError(f"no trial of rate {lr:g} over {h} steps: an incomplete search")
        return known

    stable = [lr for lr in grid if lr in by_lr and by_lr[lr].diverged(h) is False]
    largest = max(stable) if stable else None
    above = [lr for lr in grid if largest is None or lr > largest]
    if above and not measured(above[0], lambda t: t.diverged(h)):
        raise ValueError(f"no trial shows that {above[0]:g} diverges within {h} steps: an incomplete search")
    for lr in reversed([lr for lr in grid if largest is not None and lr <= largest]):
        if measured(lr, lambda t: t.trainable(h, ceiling)):
            return Answer(lr, largest)
    return Answer(None, largest)
