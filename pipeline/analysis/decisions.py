"""Which function decides the claims of each family of targets: the family's name (pipeline/targets.py) to the
``decide`` function of its analysis module. Each takes the claims job's inputs (``data``: the files by kind), its
parameters (``settings``) and the targets it decides, and returns their checks and tables (the profile is
stamped on them once, where they are written: :func:`pipeline.claims.write_decision`).

A plain mapping, so that grep and an IDE follow a target to its claims in one hop; a test holds it and the
registry to the same names.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.analysis import (
    activations,
    gradients,
    moments,
    normalizers,
    rmt,
    stability,
    trainability,
    training,
    updates,
)
from pipeline.claims import Decision

Decide = Callable[..., Decision]  # (data, settings: dict, targets: list[str]) -> Decision

DECIDE: dict[str, Decide] = {
    "moments": moments.decide,
    "rmt": rmt.decide,
    "gradients": gradients.decide,
    "activations": activations.decide,
    "training": training.decide,
    "trainability": trainability.decide,
    "updates": updates.decide,
    "stability": stability.decide,
    "normalizers": normalizers.decide,
}


def decide(family: str, data, settings: dict, targets: list[str]) -> Decision:
    """The checks (and tables) of ``targets`` of ``family``; an unknown family is a KeyError that says where
    families are registered."""
    if family not in DECIDE:
        raise KeyError(f"no decide function for family {family!r}: add it to DECIDE in pipeline/analysis/decisions.py")
    return DECIDE[family](data, settings, targets)
