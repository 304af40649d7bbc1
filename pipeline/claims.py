"""The claims record: one row per check of a paper claim against the reproduction's own numbers.

Every experiment turns its measurements into :class:`Check` rows (target, the paper's claim in short, the
quantity measured, its value, the rule that decides, which side of the rule the value falls on, the profile, and for
claims over repeated runs the spread of the value over the seeds). They are written as Parquet
beside the figure's data and as a small Markdown table next to the figure, and the ``claims`` target gathers all
of them into one table.

Three verdicts (:attr:`Check.verdict`): *agrees*, *disagrees*, or *undecided*. A check is undecided when the data
cannot settle it: its value lies within two seed spreads of the rule's threshold (the seeds, not the data, would
decide), or its measurement itself says it is unsettled (``unsettled``: e.g. a search answer that moves with the
horizon it was measured over). An undecided check neither agrees nor disagrees, and every tally says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pipeline import parquet
from pipeline.atomic import write_text

SCHEMA = {
    "target": pl.String,
    "claim": pl.String,
    "quantity": pl.String,
    "value": pl.Float64,
    "rule": pl.String,
    "agrees": pl.Boolean,
    "profile": pl.String,
    "spread": pl.Float64,
    "limit": pl.Float64,
    "unsettled": pl.String,
    "verdict": pl.String,
}
VERDICTS = ("agrees", "disagrees", "undecided")
SHOWN = {"agrees": "yes", "disagrees": "**no**", "undecided": "undecided"}  # the Markdown tables' verdict column
SHOUTED = {"agrees": "agrees", "disagrees": "DISAGREES", "undecided": "UNDECIDED"}  # subtitles and the HTML report


@dataclass(frozen=True)
class Check:
    target: str
    claim: str
    quantity: str
    value: float
    rule: str
    agrees: bool  # the value lies on the paper's side of the rule (the verdict, unless undecided)
    spread: float | None = None  # standard deviation of the value over seeds (None: one run per point)
    limit: float | None = None  # the rule's threshold, for rules that compare the value with a number
    unsettled: str | None = None  # why the measurement cannot decide, whatever the spread (None: it can)

    @property
    def verdict(self) -> str:
        """'undecided' when the value lies within two seed spreads of the threshold (:func:`decided` is False) or
        the measurement is ``unsettled``; otherwise 'agrees' or 'disagrees' as the rule says."""
        if self.unsettled or decided(self.value, self.limit, self.spread) is False:
            return "undecided"
        return "agrees" if self.agrees else "disagrees"

    @classmethod
    def at_least(cls, target: str, claim: str, quantity: str, value: float, limit: float, spread=None) -> Check:
        """A check that agrees when ``value >= limit``; the rule text is made from the same limit."""
        return cls(target, claim, quantity, value, f">= {limit:g}", value >= limit, spread, limit)

    @classmethod
    def at_most(cls, target: str, claim: str, quantity: str, value: float, limit: float, spread=None) -> Check:
        """A check that agrees when ``value <= limit``; the rule text is made from the same limit."""
        return cls(target, claim, quantity, value, f"<= {limit:g}", value <= limit, spread, limit)

    @classmethod
    def below(cls, target: str, claim: str, quantity: str, value: float, limit: float, spread=None) -> Check:
        """A check that agrees when ``value < limit``."""
        return cls(target, claim, quantity, value, f"< {limit:g}", value < limit, spread, limit)

    @classmethod
    def above(cls, target: str, claim: str, quantity: str, value: float, limit: float, spread=None) -> Check:
        """A check that agrees when ``value > limit`` (an ordering: a margin above zero)."""
        return cls(target, claim, quantity, value, f"> {limit:g}", value > limit, spread, limit)


def decided(value: float, limit: float | None, spread: float | None, sigmas: float = 2.0) -> bool | None:
    """Whether the data, not the seed noise, decides a check: its value lies more than ``sigmas`` seed spreads from
    the rule's threshold, or every seed gives the same value (spread 0: the seeds cannot move it, even at the
    threshold). None when that cannot be told (no numeric threshold, no spread: one run per point, or no value: a
    quantity that could not be computed, which the rule then decides against)."""
    if limit is None or spread is None or math.isnan(value) or math.isnan(spread):
        return None
    return spread == 0 or abs(value - limit) > sigmas * spread


def frame(checks: Iterable[Check], profile: str) -> pl.DataFrame:
    """The checks as a claims table, with each check's verdict and the profile they were decided at."""
    rows = [{**asdict(c), "profile": profile, "verdict": c.verdict} for c in checks]
    return pl.DataFrame(rows, schema=SCHEMA)


def tally(table: pl.DataFrame) -> str:
    """'12 claim checks: 9 agree, 2 disagree, 1 undecided (...)' for a claims table."""
    counts = {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
    undecided = (
        f", {counts['undecided']} undecided (within two seed spreads of the rule's threshold, or a measurement "
        "that moves with its horizon)"
        if counts["undecided"]
        else ""
    )
    return (
        f"{table.height} claim checks: {counts['agrees']} agree with the paper, {counts['disagrees']} disagree"
        f"{undecided}."
    )


def markdown(table: pl.DataFrame) -> str:
    """The claims as a Markdown table (values to 3 significant digits, ± the spread over seeds where there is one)."""
    lines = ["| target | claim | quantity | value | rule | verdict | profile |", "|---|---|---|---|---|---|---|"]
    for row in table.iter_rows(named=True):
        verdict = SHOWN[row["verdict"]] + (f" ({row['unsettled']})" if row["unsettled"] else "")
        spread = row.get("spread")
        cells = [
            row["target"],
            row["claim"],
            row["quantity"],
            f"{row['value']:.3g}" + ("" if spread is None else f" ± {spread:.2g} (seeds)"),
            row["rule"],
            verdict,
            row["profile"],
        ]
        lines.append("| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(table: pl.DataFrame, markdown_path: str | Path) -> None:
    """Write claim rows as the Markdown table shown next to a figure."""
    write_text(markdown_path, markdown(table))


def write_per_target(checks: dict[str, list[Check]], markdown_paths: Iterable[str | Path], profile: str) -> None:
    """Write each target's rows to the path named after it (``.../<target>.claims.md``); every target needs one."""
    paths = {Path(p).name.removesuffix(".claims.md"): p for p in markdown_paths}
    if set(paths) != set(checks):
        raise ValueError(f"claims for {sorted(checks)} but Markdown outputs for {sorted(paths)}")
    for target, rows in checks.items():
        write_markdown(frame(rows, profile), paths[target])


@dataclass
class Decision:
    """What a claims job decided (a family's ``decide`` function, :mod:`pipeline.analysis.decisions`): each
    target's checks, the provenance record its claims file carries, and the tables it computed on the way (by
    target: the table as Parquet and as Markdown)."""

    checks: dict[str, list[Check]]
    record: dict
    tables: dict[str, tuple[pl.DataFrame, str]] = field(default_factory=dict)


def _by_stem(paths: Iterable[str | Path], suffix: str) -> dict[str, str | Path]:
    return {Path(p).name.removesuffix(suffix): p for p in paths}


def write_decision(decision: Decision, outputs: Mapping, profile: str) -> pl.DataFrame:
    """Write a decision of the ``profile``'s build (the one place a check gets its profile) to a claims job's
    outputs: every check in one Parquet file (``claims``), each target's
    checks as Markdown (``markdown``: ``<target>.claims.md`` files), and each table as Markdown (``tables``) with its
    Parquet twin (``table_parquets``). Returns the checks."""
    table = frame((c for rows in decision.checks.values() for c in rows), profile)
    parquet.write(table, outputs["claims"], decision.record)
    write_per_target(decision.checks, outputs["markdown"], profile)
    if decision.tables:
        markdowns, twins = _by_stem(outputs["tables"], ".md"), _by_stem(outputs["table_parquets"], ".parquet")
        for name, (rows, text) in decision.tables.items():
            write_text(markdowns[name], text)
            parquet.write(rows, twins[name], decision.record)
    return table


def summary(table: pl.DataFrame, title: str, not_built: str) -> str:
    """``figures/claims.md`` of an aggregate target: what it covers, the tally, the checks, what it left out."""
    lines = [f"# {title}", "", tally(table), "", markdown(table)]
    return "\n".join(lines + ([not_built, ""] if not_built else []))


def gather(paths: Iterable[str | Path]) -> pl.DataFrame:
    """All claim rows of the given Parquet files, in the given order."""
    return parquet.read_all(paths)
