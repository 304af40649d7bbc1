"""Training runs: their identity (and file name), their learning-rate schedule, and which runs each target needs.

A run's name holds everything that makes it that run: variant, depth, learning rate, epochs, seed and warm start,
e.g. ``bn-d110-lr0.1-e165-s0-cold`` or ``warm_start-d110-lr0.01-e2400-s0-warm1x0.0001``. A changed value is a
new file, which Snakemake and DVC both understand (no stale result next to a changed parameter). No torch here:
the Snakefile imports this module to expand the sweeps.
"""

from __future__ import annotations

import os
import re
import shutil
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


def scaled_epochs(epochs: int, scale: float, cap: int | None = None) -> int:
    """The epochs a profile trains for the paper's ``epochs``: at least one, ``epochs x scale`` rounded, and at
    most ``cap`` (a reduced profile's bound on the longest schedules; None = no bound)."""
    scaled = max(1, round(epochs * scale))
    return scaled if cap is None else min(cap, scaled)


def training_depth(params: dict) -> int:
    """The depth of the training runs that do not name their own: train.depth, else model.depth."""
    return params["train"]["depth"] or params["model"]["depth"]


def make_run(spec: dict, params: dict, seed: int) -> Run:
    """The run of one curve: ``spec`` names a variant and may set lr, epochs and depth (else the variant's values
    and the training depth); ``lr: slow`` is training.slow_lr (§2's slow rate, a profile's own); the profile's
    train.epoch_scale and train.max_epochs scale the epochs. Under ``contradictions.epoch_rule: doubling`` every
    run starts at train.initial_epochs and doubles until it plateaus (the reported counts are then not used)."""
    doubling = params["contradictions"]["epoch_rule"] == "doubling"
    variant = params["variants"][spec["variant"]]
    epochs = params["train"]["initial_epochs"] if doubling else spec.get("epochs") or variant["epochs"]
    if epochs is None:
        raise ValueError(f"params.yaml: variant '{spec['variant']}' has no epochs; give them in the experiment")
    warm = variant.get("warm_start") or {}
    train = params["train"]
    return Run(
        spec["variant"],
        spec.get("depth") or training_depth(params),
        float(params["training"]["slow_lr"] if spec.get("lr") == "slow" else spec.get("lr") or variant["lr"]),
        scaled_epochs(epochs, train["epoch_scale"], train["max_epochs"]),
        seed,
        warm.get("epochs", 0),
        float(warm.get("lr", 0.0)),
        doubling,
    )


def curve_runs(curves: list[dict], params: dict) -> list[list[Run]]:
    """Per curve, its runs over the train.seeds."""
    return [[make_run(spec, params, seed) for seed in params["train"]["seeds"]] for spec in curves]


def _entry(name: str, params: dict) -> dict:
    """The ``training:`` entry of params.yaml that defines a training target's runs
    (:attr:`pipeline.targets.Target.runs`: Fig. 16 names Fig. 15's)."""
    if name not in params["training"]:
        raise ValueError(f"'{name}' is not a training entry of params.yaml (one of {', '.join(params['training'])})")
    return params["training"][name]


def curve_panels(name: str, params: dict) -> list[tuple[str, list[list[Run]]]]:
    """The panels of a curve entry, each (panel name, its curves' runs over the seeds): one unnamed panel of its
    ``curves`` and its ``reference`` curves drawn beside them (Fig. 15: full BN and none), or its ``left`` and
    ``right`` panels (Fig. 17)."""
    e = _entry(name, params)
    if "curves" in e:
        return [("", curve_runs(e["curves"] + e.get("reference", []), params))]
    if "left" in e:
        return [(side, curve_runs(e[side], params)) for side in ("left", "right")]
    raise ValueError(f"training.{name} of params.yaml defines no curves")


def experiment_runs(name: str, params: dict) -> list[Run]:
    """Every run a training entry needs, without duplicates."""
    runs = [r for _, curves in curve_panels(name, params) for curve in curves for r in curve]
    return list(dict.fromkeys(runs))


def experiment_params(entry: str, params: dict) -> dict:
    """The part of ``params`` that rebuilds a training entry's runs with the functions above: the entry, the
    variants, and the keys that name, scale and feed its runs. A job that receives only this reruns when one of its
    runs changes, not when another target's sweep does."""
    train = params["train"]
    return {
        "training": {entry: params["training"][entry], "slow_lr": params["training"]["slow_lr"]},
        "variants": params["variants"],
        "model": {"depth": params["model"]["depth"]},
        "train": {
            key: train[key]
            for key in ("depth", "epoch_scale", "max_epochs", "seeds", "initial_epochs", "train_images", "test_images")
        },
        "contradictions": {"epoch_rule": params["contradictions"]["epoch_rule"]},
    }


# What changes a run's numbers besides its name (variant, depth, rate, epochs, seed, warm start): the keys of the
# train section a training job receives as tracked parameters. Sweep lists (curves, seeds), the epoch scaling
# (already in the name) and how steps execute (device, speed) are not among them, so editing those reruns nothing.
RECIPE_KEYS = (
    "momentum",
    "batch_size",
    "lr_milestones",
    "lr_decay",
    "divergence_loss",
    "chance_margin",
    "augment",
    "precision",
    "train_images",
    "test_images",
)


def run_recipe(params: dict, doubling: bool = False) -> dict:
    """The tracked parameters of a training run: :data:`RECIPE_KEYS`, the weight decay, and the plateau test
    only for a run under the doubling rule (the only runs it changes)."""
    train = params["train"]
    recipe = {key: train[key] for key in RECIPE_KEYS}
    recipe["weight_decay"] = params["contradictions"]["weight_decay"]
    if doubling:
        recipe["plateau"] = train["plateau"]
    return recipe


def step_recipe(params: dict) -> dict:
    """The tracked parameters of jobs that take the first steps of training on the full training set (stability
    and trainability searches, single updates): the training recipe without the data keys, which only size
    training runs."""
    return {k: v for k, v in run_recipe(params).items() if k not in ("train_images", "test_images")}


def gpus_per_job(device: str) -> int:
    """The GPUs a training-like job holds (Snakemake resource ``gpu``): 1 on ``cuda``, 0 on ``cpu``, and for
    ``auto`` 1 only when this machine shows an NVIDIA or AMD GPU device. A job on the CPU holds no GPU, so
    ``--resources gpu=N`` never serializes CPU runs; their share of the machine is their ``threads``. (A cluster
    profile that submits from a node without GPUs sets the resource per rule: profiles/slurm.)"""
    if device != "auto":
        return int(device == "cuda")
    devices = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd")
    return int(any(os.path.exists(d) for d in devices) or shutil.which("nvidia-smi") is not None)


@dataclass(frozen=True)
class Execution:
    """How a run executes: the device and the speed settings (``train.device``, ``train.speed``). They change
    how fast a run goes, not its numbers beyond floating-point reordering (a test holds the fast path to the
    reference within 1e-5), so they must never rerun a finished run. Passed to a Snakemake rule as a param of
    this (non-builtin) type, which Snakemake leaves out of its params rerun trigger by design: only builtin
    values are compared (snakemake.persistence: anything else is unrepresentable). tests/test_workflow.py holds
    this on a real build: after a speed or device edit Snakemake has nothing to do."""

    device: str
    speed: tuple[tuple[str, object], ...]

    @classmethod
    def from_params(cls, params: dict) -> Execution:
        return cls(params["train"]["device"], tuple(sorted(params["train"]["speed"].items())))

    def train_settings(self) -> dict:
        """The ``device`` and ``speed`` keys as in the train section (what the engine reads)."""
        return {"device": self.device, "speed": dict(self.speed)}
