"""What a variant's normalization is, as params.yaml says it: where the network normalizes, which parts of eq. (1)
it keeps, whether it alternates, and over what it takes the moments. No torch here: the params check reads it
before any job runs, and the layers are built from it in pipeline/norms.py.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTS = ("gamma", "beta", "mu", "sigma")
KINDS = ("batch", "group", "layer")  # what a norm's moments are taken over: the batch, a channel group, the image


@dataclass(frozen=True)
class NormSpec:
    """Where the network normalizes and how: the ``where``/``parts``/``alternate``/``norm``/``groups`` keys of a
    variant."""

    where: str = "every"  # every | top | none
    parts: frozenset[str] = frozenset(PARTS)
    alternate: bool = False
    kind: str = "batch"  # batch | group | layer (KINDS)
    groups: int | None = None  # channel groups of a group norm

    def __post_init__(self):
        problem = spec_problem(self.where, self.parts, self.alternate, self.kind, self.groups)
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")

    @classmethod
    def from_variant(cls, variant: dict) -> NormSpec:
        """Build from a ``variants.<name>`` entry of params.yaml."""
        return cls(
            variant["where"],
            frozenset(variant["parts"]),
            bool(variant.get("alternate", False)),
            variant.get("norm", "batch"),
            variant.get("groups"),
        )


def spec_problem(where: str, parts, alternate: bool, kind: str, groups: int | None) -> tuple[str, str] | None:
    """(the variant key at fault, why) for a combination no network has, else None: the one place that says which
    normalizer settings go together (params.yaml is checked with it before any job runs)."""
    if where not in ("every", "top", "none"):
        return "where", f"must be every, top or none, not {where!r}"
    unknown = set(parts) - set(PARTS)
    if unknown:
        return "parts", f"unknown norm parts {sorted(unknown)}; choose from {PARTS}"
    if where != "none" and not parts:
        return "parts", f"where={where!r} needs at least one part"
    if kind not in KINDS:
        return "norm", f"must be one of {KINDS}, not {kind!r}"
    if where == "none" and kind != "batch":
        return "norm", "a network without normalization (where: none) has no norm kind"
    if kind != "batch" and (set(parts) != set(PARTS) or alternate):
        return "norm", f"a {kind} norm keeps all of eq. (1)'s parts {list(PARTS)} and does not alternate"
    if (kind == "group") != (groups is not None):
        return "groups", "a group norm needs its channel groups (groups: G), and only a group norm has them"
    if groups is not None and groups < 1:
        return "groups", f"must be at least 1, not {groups}"
    return None
