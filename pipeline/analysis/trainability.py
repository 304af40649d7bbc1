"""Tables 2 and 3 from the trainability searches (:mod:`pipeline.train.trainability`): each row's largest trainable
rate at every horizon H, and the paper's claims on the longest horizon.

A row is a variant at a depth (Table 2: every BN-parts variant at the paper's depth; Table 3: the original ResNet
at 32 and 56 layers, the warm-started and the alternating network, and the bn and none rows they are compared
with). Its answer is the largest rate of the grid at which the paper's recipe neither diverges nor stays at chance
within H steps, or none. An answer that differs between the horizons *moves with H*: every claim that reads it is
undecided, whatever its value, since a longer horizon might change it again.

Seeds: the deciding trials of a search often end near the chance line, where one seed's answer turned on small
numerical differences (two machines' builds of the same code gave other answers for 6 of 11 rows), so every row is
searched for several seeds (initial weights and data order). A row's answer at H is the median over its seeds
(:func:`pipeline.analysis.stability.median_rate`); each claim's value is the median over the seeds of the same
quantity computed seed by seed, and its spread their standard deviation: a claim within two spreads of its threshold
is undecided (:mod:`pipeline.claims`). The tables show every seed and the median.

The claims (rules fixed in params.yaml before any search ran, from the paper's words):

- Table 2 (App. H: "the normalization has much more dramatic effects on accuracy and enables larger learning
  rate", "both the mean and variance normalization are important"): every normalizing variant's answer above the
  unnormalized network's; mean and variance normalization together above either alone. The paper's first
  sentence about Table 2, "the highest learning rates that don't diverge give the best results", compares final
  accuracies over a full training per rate, which a search does not measure: it is not checked here.
- Table 3 (App. J: "less deep Resnets enables larger learning rates, and ... warm-starting unnormalized nets allow
  for higher learning rates"; §3.4's "safe landing" for full BN over alternating normalization): each ordering;
  and "the network [does] not diverge for 3.0 but diverge[s] for 10.0", bn at the paper's depth, within H.
- Every row with a paper rate: its answer within ``max_grid_steps`` steps of the search grid of the paper's rate.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis.stability import floor_of, median_rate, over_seeds
from pipeline.claims import Check, Decision
from pipeline.train.runs import decimal
from pipeline.train.trainability import Trial, answer, from_frame

SEARCH_KEYS = ("variant", "depth", "seed", "warm_steps", "extra_lrs")  # what differs between the searches


def table_rows(target: str, section: dict, variants: dict) -> list[dict]:
    """The rows of Table 2 or 3: label, variant, depth, the paper's rate (None: no paper value to compare)."""
    entry = section[target]
    if target == "table2":
        depth = entry["depth"]
        return [{"label": v, "variant": v, "depth": depth, "paper_lr": variants[v]["lr"]} for v in entry["variants"]]
    return [
        {"label": r["label"], "variant": r["variant"], "depth": r["depth"], "paper_lr": r.get("paper_lr")}
        for r in entry["rows"]
    ]


def searches(section: dict, variants: dict) -> list[tuple[str, int]]:
    """Every (variant, depth) searched for Tables 2 and 3, in table order, without repeats."""
    rows = [r for target in ("table2", "table3") for r in table_rows(target, section, variants)]
    return list(dict.fromkeys((r["variant"], r["depth"]) for r in rows))


def search_settings(section: dict, variant: str, depth: int) -> dict:
    """What the search of ``variant`` at ``depth`` reads (its job's settings): the section's search keys, and the
    rates App. J tries beside the search (bn at 3.0 and 10.0) for the search of that variant and depth only."""
    extra = section["table3"]["stability"]
    tried = list(extra["lrs"]) if (variant, depth) == (extra["variant"], extra["depth"]) else []
    keys = ("grid", "horizons", "test_images", "chance_sigmas", "warm_steps")
    return {key: section[key] for key in keys} | {"extra_lrs": tried}


def trials_of(frame: pl.DataFrame, variant: str, depth: int, seed: int) -> list[Trial]:
    """The trials of one search in the gathered frame of every search."""
    rows = frame.filter(pl.col("variant") == variant, pl.col("depth") == depth, pl.col("seed") == seed)
    if rows.is_empty():
        raise ValueError(f"params.yaml: key 'trainability': no search of {variant} at depth {depth}, seed {seed}")
    return from_frame(rows)


def answers(frame: pl.DataFrame, rows: list[dict], section: dict, ceiling: float) -> pl.DataFrame:
    """Per row, seed and horizon: the largest trainable rate and the largest non-diverging one (null: none of the
    grid)."""
    grid = section["grid"]
    out = []
    for row in rows:
        for seed in section["seeds"]:
            trials = [t for t in trials_of(frame, row["variant"], row["depth"], seed) if t.lr in grid]
            for h in sorted(section["horizons"]):
                found = answer(trials, grid, h, ceiling)
                out.append(
                    {**row, "seed": seed, "horizon": h, "trainable_lr": found.trainable, "stable_lr": found.stable}
                )
    return pl.DataFrame(
        out, schema_overrides={"paper_lr": pl.Float64, "trainable_lr": pl.Float64, "stable_lr": pl.Float64}
    )


class Rows:
    """The answers of one table, by row label, for the claims: each seed's at the longest horizon (``per_seed``, in
    seed order), and the median over the seeds at every horizon; a row *moves* when its median differs between
    the horizons."""

    def __init__(self, table: pl.DataFrame, target: str):
        self.target = target
        self.horizon = table["horizon"].max()
        self.seeds = sorted(table["seed"].unique())
        self.rows, self.by_horizon, self.per_seed = {}, {}, {}
        for (label,), part in table.group_by("label", maintain_order=True):
            self.by_horizon[label] = {
                h: median_rate(at_h.sort("seed")["trainable_lr"].to_list())
                for (h,), at_h in part.sort("horizon").group_by("horizon", maintain_order=True)
            }
            last = part.filter(pl.col("horizon") == self.horizon).sort("seed")
            self.per_seed[label] = last["trainable_lr"].to_list()
            self.rows[label] = {
                **last.row(0, named=True),
                "trainable_lr": self.by_horizon[label][self.horizon],
                "moves": len(set(self.by_horizon[label].values())) > 1,
            }

    def _known(self, label: str) -> str:
        if label not in self.rows:
            raise ValueError(f"params.yaml: key 'figures.{self.target}' names row {label!r} that the table lacks")
        return label

    def __getitem__(self, label: str) -> dict:
        return self.rows[self._known(label)]

    def seed_rates(self, label: str) -> list[float | None]:
        """Row ``label``'s answer at the longest horizon, seed by seed."""
        return self.per_seed[self._known(label)]

    def where(self, labels: list[str]) -> str:
        """Where these rows ran: their depths, the horizon and the seeds."""
        depths = sorted({self[label]["depth"] for label in labels})
        seeds = f"median of {len(self.seeds)} seeds" if len(self.seeds) > 1 else f"seed {self.seeds[0]}"
        return f"ResNet-{'/'.join(map(str, depths))}, H = {self.horizon} steps, {seeds}"

    def unsettled(self, labels: list[str], grid: list[float] | None = None) -> str | None:
        """Why the claims reading these rows are undecided: the rows whose answer (the median) moves with the
        horizon; and, for an ordering of rows (``grid`` given), answers that all sit at the top of the grid (only a
        lower bound on each rate) or all below it (no rate trains within H), which cannot be ordered."""
        answers = {self[label]["trainable_lr"] for label in labels}
        if grid is not None and len(answers) == 1 and answers <= {grid[-1], None}:
            (answer,) = answers
            where = "below the grid (none trains within H)" if answer is None else "at the grid's top (a lower bound)"
            return f"every answer is {where}"
        moving = [label for label in labels if self[label]["moves"]]
        if not moving:
            return None
        shown = "; ".join(
            f"{label} "
            + ", ".join(f"{decimal(lr) if lr else 'none'} at H = {h}" for h, lr in self.by_horizon[label].items())
            for label in moving
        )
        return f"the answer moves with H: {shown}"


def decades(higher: float | None, lower: float | None, floor: float) -> float:
    """log10(higher / lower) of two answers; a row with no trainable rate counts as ``floor`` (half a grid step
    below the grid's smallest rate: :func:`pipeline.analysis.stability.floor_of`)."""
    return math.log10((higher or floor) / (lower or floor))


def order_check(rows: Rows, claim: str, pair: list[str], grid: list[float]) -> Check:
    """Row ``pair[0]``'s answer is above row ``pair[1]``'s (in decades, > 0), seed by seed; the value is the median
    over the seeds."""
    floor = floor_of(grid)
    high, low = (rows.seed_rates(label) for label in pair)
    value, spread = over_seeds(np.array([decades(h, lo, floor) for h, lo in zip(high, low, strict=True)]))
    return Check(
        rows.target,
        claim,
        f"largest trainable rate, {pair[0]} over {pair[1]} (decades; {rows.where(pair)})",
        value,
        "> 0",
        value > 0,
        spread,
        limit=0.0,
        unsettled=rows.unsettled(pair, grid),
    )


def grid_steps(lr: float | None, paper_lr: float, grid: list[float]) -> int:
    """Steps of the grid from the paper's rate to ours; no trainable rate counts as one step below the grid (an
    upper bound on ours, so the distance is at least that)."""
    return (-1 if lr is None else grid.index(lr)) - grid.index(paper_lr)


def paper_rate_checks(rows: Rows, grid: list[float], max_steps: int) -> list[Check]:
    """Per row with a paper rate: our answer within ``max_steps`` steps of the grid of the paper's rate (the median
    over the seeds of each seed's steps)."""
    checks = []
    for label, row in rows.rows.items():
        if row["paper_lr"] is None:
            continue
        per_seed = [grid_steps(lr, row["paper_lr"], grid) for lr in rows.seed_rates(label)]
        value, spread = over_seeds(np.array(per_seed, dtype=float))
        ours = row["trainable_lr"]
        checks.append(
            Check(
                rows.target,
                "the row's rate as in the paper",
                f"{label}: grid steps from the paper's {decimal(row['paper_lr'])} to ours "
                f"({'none' if ours is None else decimal(ours)}; {rows.where([label])})",
                value,
                f"|steps| <= {max_steps}",
                abs(value) <= max_steps,
                spread,
                # the threshold on the value's side: its distance to the value is the margin of |value| <= max
                limit=math.copysign(max_steps, value),
                unsettled=rows.unsettled([label]),
            )
        )
    return checks


def table2_claims(rows: Rows, rules: dict, grid: list[float]) -> list[Check]:
    """App. H: normalization enables larger rates; both moments together above either alone (each seed by seed)."""
    floor = floor_of(grid)
    none = rules["unnormalized"]
    normalizing = [label for label in rows.rows if label != none]
    gaps = [
        {label: decades(rate, unnormalized, floor) for label, rate in zip(normalizing, rates, strict=True)}
        for unnormalized, *rates in zip(*(rows.seed_rates(label) for label in [none, *normalizing]), strict=True)
    ]
    lows = list(dict.fromkeys(min(seed, key=seed.get) for seed in gaps))
    low_value, low_spread = over_seeds(np.array([min(seed.values()) for seed in gaps]))
    both, alone = rules["both_moments"], rules["one_moment"]
    best_alone = max(alone, key=lambda label: rows[label]["trainable_lr"] or floor)
    both_gaps = [
        decades(together, max(singles, key=lambda lr: lr or floor), floor)
        for together, *singles in zip(*(rows.seed_rates(label) for label in [both, *alone]), strict=True)
    ]
    both_value, both_spread = over_seeds(np.array(both_gaps))
    return [
        *paper_rate_checks(rows, grid, rules["max_grid_steps"]),
        Check(
            "table2",
            "normalization enables larger rates",
            f"smallest gap of a normalizing variant's largest trainable rate over {none}'s ({', '.join(lows)}), "
            f"decades ({rows.where(list(rows.rows))})",
            low_value,
            "> 0",
            low_value > 0,
            low_spread,
            limit=0.0,
            unsettled=rows.unsettled([*lows, none], grid) or rows.unsettled(list(rows.rows)),
        ),
        Check(
            "table2",
            "both the mean and the variance normalization matter",
            f"largest trainable rate of {both} over the best of {', '.join(alone)} "
            f"(decades; {rows.where([both, *alone])})",
            both_value,
            "> 0",
            both_value > 0,
            both_spread,
            limit=0.0,
            unsettled=rows.unsettled([both, best_alone], grid) or rows.unsettled([both, *alone]),
        ),
    ]


def stability_claims(frame: pl.DataFrame, extra: dict, section: dict) -> list[Check]:
    """App. J: bn at the paper's depth does not diverge at the lower rate and diverges at the higher, within the
    longest H (the median over the seeds); undecided when the divergence differs between the horizons or between
    the seeds."""
    horizons, seeds = section["horizons"], section["seeds"]
    searches = {seed: {t.lr: t for t in trials_of(frame, extra["variant"], extra["depth"], seed)} for seed in seeds}
    checks = []
    for lr, should in zip(sorted(extra["lrs"]), (False, True), strict=True):
        diverged, steps, moves = [], [], False
        for seed, trials in searches.items():
            search = f"the search of {extra['variant']} at depth {extra['depth']}, seed {seed},"
            if lr not in trials:
                raise ValueError(f"{search} did not try {lr:g}")
            by_h = {h: trials[lr].diverged(h) for h in sorted(horizons)}
            if None in by_h.values():
                raise ValueError(f"{search} did not run {max(horizons)} steps at {lr:g}")
            diverged.append(by_h[max(horizons)])
            steps.append(trials[lr].diverged_step)
            moves = moves or len(set(by_h.values())) > 1
        value, spread = over_seeds(np.array(diverged, dtype=float))
        at = ", ".join("-" if step is None else str(step) for step in steps)
        why = [
            *(["the divergence moves with H"] if moves else []),
            *([f"the seeds disagree: {sum(diverged)} of {len(seeds)} diverged"] if len(set(diverged)) > 1 else []),
        ]
        checks.append(
            Check(
                "table3",
                f"{extra['variant']} {'diverges' if should else 'does not diverge'} at {decimal(lr)}",
                f"{extra['variant']} at lr {decimal(lr)}: diverged within {max(horizons)} steps (first diverging step, "
                f"seed by seed: {at}; ResNet-{extra['depth']})",
                value,
                f"== {int(should)} ({'diverged' if should else 'not diverged'})",
                value == should,
                spread,
                unsettled="; ".join(why) or None,
            )
        )
    return checks


def table3_claims(rows: Rows, frame: pl.DataFrame, rules: dict, section: dict):
    """App. J: less deep ResNets, a warm start and full (not alternating) normalization each allow a higher
    rate; bn does not diverge at 3.0 and diverges at 10.0."""
    checks = paper_rate_checks(rows, section["grid"], rules["max_grid_steps"])
    for claim, key in (
        ("less deep ResNets enable larger rates", "shallow_vs_deep"),
        ("warm-starting an unnormalized net allows higher rates", "warm_vs_cold"),
        ("alternating normalization allows lower rates than BN", "bn_vs_alternating"),
    ):
        checks.append(order_check(rows, claim, rules[key], section["grid"]))
    return checks + stability_claims(frame, section["table3"]["stability"], section)


def seeds_cell(rates: list[float | None]) -> str:
    """A table cell of one row at one horizon: the rate of each seed, then their median in bold ('none': no rate
    of the grid); one seed's rate alone."""
    shown = ["none" if lr is None else decimal(lr) for lr in rates]
    if len(rates) == 1:
        return shown[0]
    median = median_rate(rates)
    return f"{' / '.join(shown)} -> **{'none' if median is None else decimal(median)}**"


def markdown(target: str, table: pl.DataFrame, rows: Rows, section: dict, ceiling: float, profile: str) -> str:
    """Table 2 or 3 in the paper's layout (row, our rate at each horizon, the paper's), then how each answer was
    reached (the largest non-diverging rate at each horizon); each cell shows every seed and their median."""
    horizons = sorted(section["horizons"])
    title = {"table2": "Table 2: largest trainable rate per BN part", "table3": "Table 3: highest achievable rate"}
    seeds = ", ".join(map(str, rows.seeds))
    lines = [
        f"# {title[target]}",
        "",
        f"Profile {profile}; the largest rate of {', '.join(map(decimal, section['grid']))} at which the paper's "
        f"recipe neither diverges nor stays at chance (test accuracy <= {ceiling:.4f} on the first "
        f"{section['test_images']} test images) within H steps, searched at H = {', '.join(map(str, horizons))}"
        + (f"; each cell: seeds {seeds}, then their median" if len(rows.seeds) > 1 else f" (seed {seeds})")
        + "; 'moves' marks an answer (the median) that differs between the horizons (its claims are undecided).",
        "",
        "| row | depth | "
        + " | ".join(f"ours, H = {h}" for h in horizons)
        + " | paper | moves | "
        + " | ".join(f"largest non-diverging, H = {h}" for h in horizons)
        + " |",
        "|---|---|" + "---|" * (2 * len(horizons) + 2),
    ]
    for (label,), part in table.group_by("label", maintain_order=True):
        by_h = [at_h.sort("seed") for _, at_h in part.sort("horizon").group_by("horizon", maintain_order=True)]
        ours = " | ".join(seeds_cell(at_h["trainable_lr"].to_list()) for at_h in by_h)
        stable = " | ".join(seeds_cell(at_h["stable_lr"].to_list()) for at_h in by_h)
        row = rows[label]
        paper = "" if row["paper_lr"] is None else decimal(row["paper_lr"])
        lines.append(f"| {label} | {row['depth']} | {ours} | {paper} | {'moves' if row['moves'] else ''} | {stable} |")
    return "\n".join(lines) + "\n"


# Each table's claims: (its rows, every search's trials, its rules, the trainability section) -> checks.
TABLE_CLAIMS = {
    "table2": lambda rows, frame, rules, section: table2_claims(rows, rules, section["grid"]),
    "table3": table3_claims,
}


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """Tables 2 and 3 from the searches (``data.searches``) and their claims."""
    section, variants = settings["trainability"], settings["variants"]
    frame = parquet.read_all(data.searches)
    record = parquet.combined_provenance(data.searches, SEARCH_KEYS)
    ceiling = record["params"]["chance_ceiling"]  # what the searches used (:func:`chance_ceiling` of their images)
    checks, tables = {}, {}
    for target in targets:
        table = answers(frame, table_rows(target, section, variants), section, ceiling)
        rows, rules = Rows(table, target), dict(settings["figures"][target])
        checks[target] = TABLE_CLAIMS[target](rows, frame, rules, section)
        shown = markdown(target, table, rows, {**section, **record["params"]}, ceiling, record["profile"])
        tables[target] = (table, shown)
    return Decision(checks, record, tables)
