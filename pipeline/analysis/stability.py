"""The largest stable learning rate vs depth (beyond the paper), beside the unnormalized net's activation growth.

§3.4 argues that without normalization the activations grow exponentially with depth (Fig. 3), so that a large
step makes the top layers explode: the rates an unnormalized network tolerates should fall with depth, while a
batch-normalized network's stay put. :func:`rates` reads the searches of :mod:`pipeline.train.stability` (one per
variant, depth and seed) into the largest stable rate at every K; :func:`variance_growth` gives, per network and
depth, the decades its channel variance rises over its layers at initialization (Fig. 3's statistic, from the
same probe; the stability target probes the unnormalized net); :func:`claims` decides the claims on the largest K.

Seeds: the answer at the edge of stability turns on small numerical differences (another machine's build gave
another answer for one search in ten), so every search runs for several seeds (initial weights and data order).
Each claim's value is the median over the seeds of the same quantity computed seed by seed (the depths of one
seed share its data order), and its spread their standard deviation: a claim within two spreads of its threshold
is undecided (:mod:`pipeline.claims`). The table shows every seed and the median.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis.moments import fitted_decades, layer_summary
from pipeline.claims import Check, Decision
from pipeline.train.runs import decimal, training_depth
from pipeline.train.stability import largest_stable


def rates(trials: pl.DataFrame, grid: list[float], steps: list[int]) -> pl.DataFrame:
    """Per (variant, depth, seed, K): the largest stable rate (null: none of the grid), whether it is the top of
    the grid (then only a lower bound), and the trials and seconds the search took."""
    rows = []
    for (variant, depth, seed), group in trials.group_by("variant", "depth", "seed", maintain_order=True):
        for k in sorted(steps):
            lr = largest_stable(group, grid, k)
            rows.append(
                {
                    "variant": variant,
                    "depth": depth,
                    "seed": seed,
                    "steps": k,
                    "largest_stable_lr": lr,
                    "at_grid_top": lr == grid[-1],
                    "below_grid": lr is None,
                    "trials": group.height,
                    "seconds": group["seconds"].sum(),
                }
            )
    return pl.DataFrame(rows, schema_overrides={"largest_stable_lr": pl.Float64}).sort(
        "variant", "depth", "steps", "seed"
    )


def floor_of(grid: list[float]) -> float:
    """Where a net that diverges at every rate of the grid is placed: half a grid step under its smallest rate."""
    return grid[0] / math.sqrt(grid[1] / grid[0])


def median_rate(rates: list[float | None]) -> float | None:
    """The median over seeds of a largest rate: a rate some seed found (the lower of the two middle values for an
    even number of seeds), where None (no rate of the grid) counts as below every rate, so a median below the grid
    is None."""
    ordered = sorted(rates, key=lambda lr: -math.inf if lr is None else lr)
    return ordered[(len(ordered) - 1) // 2]


def medians(frame: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, depth, K): the median over seeds of the largest stable rate (:func:`median_rate`) and the
    number of seeds."""
    rows = [
        {
            "variant": v,
            "depth": d,
            "steps": k,
            "seeds": group.height,
            "median_lr": median_rate(group["largest_stable_lr"].to_list()),
        }
        for (v, d, k), group in frame.group_by("variant", "depth", "steps", maintain_order=True)
    ]
    return pl.DataFrame(rows, schema_overrides={"median_lr": pl.Float64, "seeds": pl.UInt32})


def variance_growth(moments: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, depth): the decades the channel variance rises over the layers after the stem (least-squares
    line through log10 of the per-layer mean over channels: exactly Fig. 3's statistic), from Fig. 3 probe outputs
    of networks at several depths."""
    rows = []
    for (variant, depth), network in moments.group_by("variant", "depth"):
        var = layer_summary(network).filter(pl.col("stat") == "var")
        var = var.filter(pl.col("layer") > var["layer"].min()).sort("layer")
        decades = fitted_decades(var["layer"].to_list(), var["mean"].to_list())
        rows.append({"variant": variant, "depth": depth, "variance_decades": decades})
    return pl.DataFrame(rows, schema_overrides={"depth": pl.Int32}).sort("variant", "depth")


def table(rates_frame: pl.DataFrame, growth: pl.DataFrame) -> pl.DataFrame:
    """The table of the target: one row per (variant, depth, seed, K), with the variance growth of the networks
    that were probed (the unnormalized one) on their rows."""
    return rates_frame.join(growth, on=["variant", "depth"], how="left").sort("variant", "depth", "steps", "seed")


def _rates(frame: pl.DataFrame, variant: str, depth: int, k: int) -> pl.DataFrame:
    """One search's rows at K, one per seed, in seed order."""
    found = frame.filter(pl.col("variant") == variant, pl.col("depth") == depth, pl.col("steps") == k).sort("seed")
    if found.is_empty():
        raise ValueError(f"the claims read a search of {variant} at depth {depth} that the table lacks")
    return found


def over_seeds(per_seed: np.ndarray) -> tuple[float, float | None]:
    """A claim's value (the median over seeds) and spread (their standard deviation; None with one seed)."""
    return float(np.median(per_seed)), float(np.std(per_seed)) if len(per_seed) > 1 else None


def fall(frame: pl.DataFrame, variant: str, rules: dict, k: int, grid: list[float]) -> tuple[np.ndarray, str]:
    """Per seed, the decades the largest stable rate falls from ``from_depth`` to ``to_depth``, and a note when an
    end is censored (the grid's top is a lower bound on the rate; none of the grid: below its smallest rate)."""
    top, bottom = (_rates(frame, variant, rules[key], k) for key in ("from_depth", "to_depth"))
    if top["seed"].to_list() != bottom["seed"].to_list():
        raise ValueError(
            f"the searches of {variant} at depths {rules['from_depth']} and {rules['to_depth']} differ in seeds"
        )
    floor = floor_of(grid)
    high = top["largest_stable_lr"].fill_null(floor).to_numpy()
    low = bottom["largest_stable_lr"].fill_null(floor).to_numpy()
    notes = [
        f"depth {row['depth']} seed {row['seed']}: "
        + ("at least the grid top" if row["at_grid_top"] else "below the grid")
        for part in (top, bottom)
        for row in part.iter_rows(named=True)
        if row["at_grid_top"] or row["below_grid"]
    ]
    return np.log10(high / low), f" ({'; '.join(notes)})" if notes else ""


def rank_correlation(points: pl.DataFrame, grid: list[float]) -> float:
    """Spearman correlation, over the rows (one network's depths, or several networks'), of the variance growth
    and log10 of the largest stable rate (NaN when the rate does not vary)."""
    log_rate = np.log10(points["largest_stable_lr"].fill_null(floor_of(grid)).to_numpy())
    if len(set(log_rate)) < 2:
        return float("nan")
    ranks = [pl.Series(v).rank().to_numpy() for v in (points["variance_decades"].to_numpy(), log_rate)]
    return float(np.corrcoef(*ranks)[0, 1])


def claims(frame: pl.DataFrame, growth: pl.DataFrame, rules: dict, search: dict) -> list[Check]:
    """The unnormalized net's largest stable rate falls with depth by at least ``min_none_fall`` decades (from
    ``from_depth`` to ``to_depth``), the normalized net's by at most ``max_bn_fall``; across depths the
    unnormalized rate falls as its activation variance grows (rank correlation at most ``max_rank_correlation``).
    ``search`` is the stability section (the two variants, normalized first, and the rate grid)."""
    k = frame["steps"].max()
    grid = search["lrs"]
    normalized, unnormalized = search["variants"]
    seeds = frame["seed"].n_unique()
    span = f"from depth {rules['from_depth']} to {rules['to_depth']}, K = {k} steps, median of {seeds} seeds"
    none_falls, none_note = fall(frame, unnormalized, rules, k, grid)
    bn_falls, bn_note = fall(frame, normalized, rules, k, grid)
    none_fall, none_spread = over_seeds(none_falls)
    bn_fall, bn_spread = over_seeds(bn_falls)
    none = frame.filter(pl.col("variant") == unnormalized, pl.col("steps") == k)
    correlations = np.array(
        [rank_correlation(part.sort("depth"), grid) for _, part in none.group_by("seed", maintain_order=True)]
    )
    correlation, correlation_spread = over_seeds(correlations)
    probed = growth.filter(pl.col("variant") == unnormalized)
    g = dict(zip(probed["depth"], probed["variance_decades"], strict=True))
    growth_span = g[rules["to_depth"]] - g[rules["from_depth"]]
    return [
        Check.at_least(
            "stability",
            "unnormalized: the largest stable rate falls with depth",
            f"{unnormalized}: decades the largest stable rate falls {span}{none_note}",
            none_fall,
            rules["min_none_fall"],
            none_spread,
        ),
        Check.at_most(
            "stability",
            "batch-normalized: the largest stable rate stays put",
            f"{normalized}: decades the largest stable rate falls {span}{bn_note}",
            bn_fall,
            rules["max_bn_fall"],
            bn_spread,
        ),
        Check.at_most(
            "stability",
            "the fall follows the activation growth at initialization (Fig. 3)",
            f"{unnormalized}: rank correlation over depths of its variance growth (Fig. 3's decades) and log10 of"
            f" its largest stable rate; {span}: the rate falls {none_fall:.2g} decades while the variance growth"
            f" rises {growth_span:.2g} decades",
            correlation,
            rules["max_rank_correlation"],
            correlation_spread,
        ),
    ]


def premise(frame: pl.DataFrame, rules: dict, search: dict, training: dict) -> Check:
    """The premise of the training figures' claims (issue 21): at the depth they train at, the unnormalized net's
    largest stable rate lies at least ``min_premise_decades`` below the rate the normalized net trains at (at a
    shallower depth none trains at bn's rate, and a comparison of the two says nothing about §3.4's mechanism).
    ``training``: the figures' depth and the normalized net's training rate."""
    k = frame["steps"].max()
    normalized, unnormalized = search["variants"]
    depth, lr = training["depth"], training["lr"]
    if depth not in frame["depth"].unique().to_list():
        raise ValueError(
            f"params.yaml: key 'train.depth': the training figures' depth {depth} has no stability search "
            f"(add it to stability.depths)"
        )
    stable = _rates(frame, unnormalized, depth, k)["largest_stable_lr"].fill_null(floor_of(search["lrs"]))
    value, spread = over_seeds(np.log10(lr / stable.to_numpy()))
    return Check.at_least(
        "stability",
        "the training figures train at a depth where the unnormalized net cannot use bn's rate",
        f"decades from {normalized}'s training rate {decimal(lr)} down to {unnormalized}'s largest stable rate at "
        f"the training depth {depth}, K = {k} steps, median of {stable.len()} seeds",
        value,
        rules["min_premise_decades"],
        spread,
    )


def shown_rate(lr: float | None, at_top: bool, grid: list[float]) -> str:
    """A largest stable rate as the table shows it: '>= 30' at the grid's top, '< 1e-05' below the grid."""
    return f"< {decimal(grid[0])}" if lr is None else f"{'>= ' if at_top else ''}{decimal(lr)}"


def rate_cells(network: pl.DataFrame, middle: pl.DataFrame, grid: list[float]) -> list[str]:
    """A table's cells of one network at one depth: per K, each seed's largest stable rate, then their median
    (from ``middle``: :func:`medians`)."""
    cells = []
    for (variant, depth, k), per_k in network.group_by("variant", "depth", "steps", maintain_order=True):
        each = " / ".join(
            shown_rate(r["largest_stable_lr"], r["at_grid_top"], grid) for r in per_k.sort("seed").iter_rows(named=True)
        )
        median = middle.filter(pl.col("variant") == variant, pl.col("depth") == depth, pl.col("steps") == k)
        lr = median["median_lr"][0]
        cells.append(f"{each} -> **{shown_rate(lr, lr == grid[-1], grid)}**")
    return cells


def markdown(frame: pl.DataFrame, grid: list[float], profile: str) -> str:
    """The table: per variant and depth, the largest stable rate at every K (each seed's, then their median), and
    the variance growth."""
    steps = sorted(frame["steps"].unique())
    seeds = sorted(frame["seed"].unique())
    middle = medians(frame)
    lines = [
        "# Largest stable learning rate vs depth",
        "",
        f"Profile {profile}; rates {decimal(grid[0])}..{decimal(grid[-1])}; stable = no mini-batch loss above the "
        "divergence threshold in the first K steps of the paper's recipe; '>=' marks the top of the grid, '<' a net "
        f"that diverges at every rate. Each cell: seeds {', '.join(map(str, seeds))}, then their median.",
        "",
        "| variant | depth | " + " | ".join(f"K = {k}" for k in steps) + " | variance growth at init (decades) |",
        "|---|---|" + "---|" * len(steps) + "---|",
    ]
    for (variant, depth), group in frame.group_by("variant", "depth", maintain_order=True):
        cells = rate_cells(group, middle, grid)
        growth = group["variance_decades"][0]
        lines.append(
            f"| {variant} | {depth} | " + " | ".join(cells) + f" | {'' if growth is None else f'{growth:.2f}'} |"
        )
    return "\n".join(lines) + "\n"


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The stability table (largest stable rate per variant, depth and K, with the unnormalized net's variance
    growth: ``data.searches``, ``data.moments``) and its claims."""
    search, rules = settings["stability"], dict(settings["figures"]["stability"])
    found = rates(parquet.read_all(data.searches), search["lrs"], search["steps"])
    growth = variance_growth(parquet.read_all(data.moments))
    normalized = search["variants"][0]
    frame = table(found, growth)
    record = parquet.combined_provenance(data.searches, ("variant", "depth", "seed"))
    depth = training_depth({"train": {"depth": settings["train/depth"]}, "model": {"depth": settings["model/depth"]}})
    training = {"depth": depth, "lr": settings["variants"][normalized]["lr"]}
    checks = [*claims(frame, growth, rules, dict(search)), premise(frame, rules, search, training)]
    return Decision(
        {"stability": checks}, record, {"stability": (frame, markdown(frame, search["lrs"], record["profile"]))}
    )
