"""Training runs: their identity (and file name), their learning-rate schedule, and which runs each target needs.

A run's name holds everything that makes it that run: variant, depth, learning rate, epochs, seed and warm start,
e.g. ``bn-d110-lr0.1-e165-s0-cold`` or ``warm_start-d110-lr0.01-e2400-s0-warm1x0.0001``. A changed value is a
new file, which Snakemake and DVC both understand (no stale result next to a changed parameter). No torch here:
the Snakefile imports this module to expand the sweeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

NAME = re.compile(
    r"(?P<variant>\w+?)-d(?P<depth>\d+)-lr(?P<lr>\d+(?:\.\d+)?)-e(?P<epochs>\d+)(?P<doubling>d?)-s(?P<seed>\d+)"
    r"-(?:cold|warm(?P<warm_epochs>\d+)x(?P<warm_lr>\d+(?:\.\d+)?))$"
)
# Snakemake wildcard constraint for a run name (the same pattern without the anchor)
WILDCARD = re.sub(r"\?P<\w+>", "?:", NAME.pattern.removesuffix("$"))


def decimal(value: float) -> str:
    """A rate as a plain decimal without exponent or trailing zeros: 0.0001 -> '0.0001', 3.0 -> '3'."""
    return np.format_float_positional(float(value), trim="-")


@dataclass(frozen=True)
class Run:
    variant: str
    depth: int
    lr: float
    epochs: int
    seed: int
    warm_epochs: int = 0
    warm_lr: float = 0.0
    doubling: bool = False  # App. B's rule: ``epochs`` is the first attempt, doubled until learning plateaus

    @property
    def name(self) -> str:
        start = f"warm{self.warm_epochs}x{decimal(self.warm_lr)}" if self.warm_epochs else "cold"
        epochs = f"{self.epochs}d" if self.doubling else str(self.epochs)
        return f"{self.variant}-d{self.depth}-lr{decimal(self.lr)}-e{epochs}-s{self.seed}-{start}"

    @classmethod
    def parse(cls, name: str) -> Run:
        match = NAME.match(name)
        if not match:
            raise ValueError(f"'{name}' is not a run name (variant-dDEPTH-lrLR-eEPOCHS[d]-sSEED-cold|warmExLR)")
        g = match.groupdict()
        return cls(
            g["variant"],
            int(g["depth"]),
            float(g["lr"]),
            int(g["epochs"]),
            int(g["seed"]),
            int(g["warm_epochs"] or 0),
            float(g["warm_lr"] or 0.0),
            g["doubling"] == "d",
        )

    def lr_at(self, epoch: int, milestones: list[float], decay: float) -> float:
        """The learning rate of 0-based ``epoch``: the warm-start rate for the first warm epochs, then the base
        rate divided by 1/decay after each milestone (a fraction of all epochs, e.g. 0.5 and 0.75)."""
        if epoch < self.warm_epochs:
            return self.warm_lr
        passed = sum(epoch >= m * self.epochs for m in milestones)  # epochs completed >= the fraction
        return self.lr * decay**passed


def plateaued(test_accuracy: list[float], window: float, min_gain: float) -> bool:
    """The doubling rule's test (ours; App. B gives none): over the last ``window`` fraction of the epochs the
    test accuracy rose by less than ``min_gain``."""
    if len(test_accuracy) < 2:
        return False
    back = min(len(test_accuracy) - 1, max(1, round(window * len(test_accuracy))))
    return test_accuracy[-1] - test_accuracy[-1 - back] < min_gain


def scaled_epochs(epochs: int, scale: float) -> int:
    """The epochs a profile trains for the paper's ``epochs`` (at least one)."""
    return max(1, round(epochs * scale))


def make_run(spec: dict, params: dict, seed: int, lr: float | None = None) -> Run:
    """The run of one curve or grid point: ``spec`` names a variant and may set lr, epochs and depth (else the
    variant's values and model.depth); the profile's train.epoch_scale scales the epochs. Under
    ``contradictions.epoch_rule: doubling`` every run starts at train.initial_epochs and doubles until it
    plateaus (the reported counts are then not used)."""
    doubling = params["contradictions"]["epoch_rule"] == "doubling"
    variant = params["variants"][spec["variant"]]
    epochs = params["train"]["initial_epochs"] if doubling else spec.get("epochs") or variant["epochs"]
    if epochs is None:
        raise ValueError(f"params.yaml: variant '{spec['variant']}' has no epochs; give them in the experiment")
    warm = variant.get("warm_start") or {}
    return Run(
        spec["variant"],
        spec.get("depth") or params["model"]["depth"],
        float(lr if lr is not None else spec.get("lr") or variant["lr"]),
        scaled_epochs(epochs, params["train"]["epoch_scale"]),
        seed,
        warm.get("epochs", 0),
        float(warm.get("lr", 0.0)),
        doubling,
    )


def curve_runs(curves: list[dict], params: dict) -> list[list[Run]]:
    """Per curve, its runs over the train.seeds."""
    return [[make_run(spec, params, seed) for seed in params["train"]["seeds"]] for spec in curves]


def grid_runs(spec: dict, grid: list[float], params: dict, seeds: list[int]) -> list[Run]:
    """The runs of one variant (or table row) over a learning-rate grid."""
    return [make_run(spec, params, seed, lr) for lr in grid for seed in seeds]


def experiment_runs(target: str, params: dict) -> list[Run]:
    """Every run a training target needs (fig1, fig15, fig16, fig17, table2, table3), without duplicates."""
    e = params["training"]
    if target in ("fig1", "fig15", "fig16"):
        key = "fig15" if target == "fig16" else target
        runs = [r for curve in curve_runs(e[key]["curves"], params) for r in curve]
    elif target == "fig17":
        runs = [r for side in ("left", "right") for curve in curve_runs(e["fig17"][side], params) for r in curve]
    elif target == "table2":
        t = e["table2"]
        runs = [r for v in t["variants"] for r in grid_runs({"variant": v}, t["grid"], params, t["seeds"])]
    elif target == "table3":
        t = e["table3"]
        runs = [r for row in t["rows"] for r in grid_runs(row, t["grid"], params, t["seeds"])]
        stability = t["stability"]
        runs += grid_runs({"variant": stability["variant"]}, stability["lrs"], params, t["seeds"])
    else:
        raise ValueError(f"'{target}' is not a training target")
    return list(dict.fromkeys(runs))


TARGETS = ("fig1", "fig15", "fig16", "fig17", "table2", "table3")
