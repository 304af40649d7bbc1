"""Normalizers beyond BN (beyond the paper, issue 24): is the mechanism batch normalization's, or any control of
activation growth's?

The paper explains BN's benefit by one chain: without normalization the activations grow with depth (Fig. 3), the
output stops depending on the input (Fig. 4), and the largest stable learning rate shrinks (§3.4). This target
measures the three links for every network of ``normalizers.variants`` (the paper's bn and none, group norm, layer
norm, none with SkipInit) at every depth of ``normalizers.depths``:

- :func:`init_statistics`: the decades the channel variance rises over the layers at initialization (Fig. 3's
  statistic, :func:`pipeline.analysis.stability.variance_growth`) and the softmax spread across images (Fig. 4's,
  :func:`pipeline.analysis.gradients.softmax_spread`), at the probes' seed;
- the largest stable rate at every K, from the stability searches (:func:`pipeline.analysis.stability.rates`),
  over stability's seeds.

:func:`claims` decides the issue's claims, written before any number was measured, on the largest K; a claim
over seeds reads their median and is undecided within two spreads of its threshold (:mod:`pipeline.claims`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis import stability
from pipeline.analysis.gradients import softmax_spread
from pipeline.claims import Check, Decision
from pipeline.train.runs import decimal

TARGET = "normalizers"


def init_statistics(moments: pl.DataFrame, logits: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, depth): the variance growth over the layers (decades), the softmax spread across images (mean
    total-variation distance of an image's softmax to the batch mean) and the share of images whose most probable
    class is the batch's most common one."""
    spread = pl.concat(
        [
            softmax_spread(network).select("variant", "spread", "modal_share").with_columns(depth=pl.lit(depth))
            for (depth,), network in logits.group_by("depth")
        ]
    ).with_columns(pl.col("depth").cast(pl.Int32))
    return stability.variance_growth(moments).join(spread, on=["variant", "depth"], how="full", coalesce=True)


def table(rates: pl.DataFrame, statistics: pl.DataFrame, variants: list[str]) -> pl.DataFrame:
    """One row per (variant, depth, seed, K): the search's answer beside the network's statistics at
    initialization, the variants in ``variants`` order."""
    order = pl.Enum(variants)
    joined = rates.with_columns(pl.col("depth").cast(pl.Int32)).join(statistics, on=["variant", "depth"], how="left")
    return joined.sort(pl.col("variant").cast(order), "depth", "steps", "seed")


def _largest_growth(frame: pl.DataFrame, variant: str) -> tuple[float, str]:
    """The variance growth of largest size over the depths, and each depth's signed growth for the quantity."""
    per_depth = frame.filter(pl.col("variant") == variant).unique("depth").sort("depth")
    if per_depth.is_empty():
        raise ValueError(f"params.yaml: key 'figures.normalizers': {variant} is not in the table")
    growth = per_depth["variance_decades"].to_list()
    shown = ", ".join(f"{d}: {g:+.2f}" for d, g in zip(per_depth["depth"], growth, strict=True))
    return max(abs(g) for g in growth), shown


def claims(frame: pl.DataFrame, rules: dict, search: dict) -> list[Check]:
    """The issue's claims on the largest K: the variance growth of each ``growth_within`` network stays within
    ``max_growth`` decades at every depth; the largest stable rate of each ``fall_within`` network falls at most
    ``max_fall`` decades from ``from_depth`` to ``to_depth``; over every network and depth, the rank correlation of
    the variance growth and log10 of the largest stable rate is at most ``max_rank_correlation``. ``search`` is the
    stability section (the rate grid)."""
    k = frame["steps"].max()
    grid = search["lrs"]
    seeds = frame["seed"].n_unique()
    checks = []
    for variant in rules["growth_within"]:
        size, shown = _largest_growth(frame, variant)
        checks.append(
            Check.at_most(
                TARGET,
                "the variance growth at initialization stays within a decade, like bn's",
                f"{variant}: largest |decades| the channel variance rises over the layers, over depths "
                f"(Fig. 3's statistic; per depth {shown})",
                size,
                rules["max_growth"],
            )
        )
    span = f"from depth {rules['from_depth']} to {rules['to_depth']}, K = {k} steps, median of {seeds} seeds"
    for variant in rules["fall_within"]:
        falls, note = stability.fall(frame, variant, rules, k, grid)
        value, spread = stability.over_seeds(falls)
        checks.append(
            Check.at_most(
                TARGET,
                "the largest stable rate falls at most a decade with depth",
                f"{variant}: decades the largest stable rate falls {span}{note}",
                value,
                rules["max_fall"],
                spread,
            )
        )
    at_k = frame.filter(pl.col("steps") == k)
    correlations = np.array(
        [stability.rank_correlation(part, grid) for _, part in at_k.group_by("seed", maintain_order=True)]
    )
    correlation, spread = stability.over_seeds(correlations)
    networks = at_k.select("variant", "depth").unique().height
    checks.append(
        Check.at_most(
            TARGET,
            "a larger activation growth goes with a smaller stable rate, whatever controls the growth",
            f"rank correlation over {networks} networks and depths of the variance growth at initialization and "
            f"log10 of the largest stable rate (K = {k} steps; per seed, median of {seeds} seeds)",
            correlation,
            rules["max_rank_correlation"],
            spread,
        )
    )
    return checks


def markdown(frame: pl.DataFrame, grid: list[float], profile: str) -> str:
    """The table: per network and depth, the statistics at initialization and the largest stable rate at every K
    (each seed's, then their median)."""
    steps = sorted(frame["steps"].unique())
    seeds = sorted(frame["seed"].unique())
    middle = stability.medians(frame)
    lines = [
        "# Normalizers beyond BN: activation growth, output spread and the largest stable rate",
        "",
        f"Profile {profile}. Variance growth: decades the mean channel variance rises over the layers at "
        "initialization (Fig. 3's statistic). Softmax spread: mean total-variation distance of an image's softmax to "
        "the batch mean (Fig. 4's statistic; ~0 when the output ignores the input), with the share of images that "
        "favor the batch's most common class. Largest stable rate: no mini-batch loss above the divergence threshold "
        f"in the first K steps of the paper's recipe, rates {decimal(grid[0])}..{decimal(grid[-1])}; '>=' marks the "
        f"top of the grid, '<' a net that diverges at every rate. Each rate cell: seeds {', '.join(map(str, seeds))}, "
        "then their median.",
        "",
        "| network | depth | variance growth (decades) | softmax spread | favor one class | "
        + " | ".join(f"largest stable rate, K = {k}" for k in steps)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(steps),
    ]
    for (variant, depth), group in frame.group_by("variant", "depth", maintain_order=True):
        cells = stability.rate_cells(group, middle, grid)
        row = group.row(0, named=True)
        lines.append(
            f"| {variant} | {depth} | {row['variance_decades']:+.2f} | {row['spread']:.3g} | "
            f"{row['modal_share']:.0%} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The normalizers table (``data.searches``, ``data.moments``, ``data.logits``) and its claims."""
    search, networks = settings["stability"], settings["normalizers"]
    rules = dict(settings["figures"][TARGET])
    rates = stability.rates(parquet.read_all(data.searches), search["lrs"], search["steps"])
    statistics = init_statistics(parquet.read_all(data.moments), parquet.read_all(data.logits))
    frame = table(rates, statistics, networks["variants"])
    record = parquet.combined_provenance(data.searches, ("variant", "depth", "seed"))
    checks = claims(frame, rules, dict(search))
    return Decision({TARGET: checks}, record, {TARGET: (frame, markdown(frame, search["lrs"], record["profile"]))})
