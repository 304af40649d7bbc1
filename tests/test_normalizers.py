"""The normalizers target's statistics and claims (issue 24), on synthetic data on both sides of every rule."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from pipeline.analysis import normalizers

pytestmark = pytest.mark.unit

GRID = [1e-5, 3e-5, 1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
SEARCH = {"lrs": GRID}
VARIANTS = ["bn", "gn", "ln", "none", "none_skipinit"]
RULES = {
    "growth_within": ["gn", "ln", "none_skipinit"],
    "max_growth": 1.0,
    "fall_within": ["gn", "none_skipinit"],
    "max_fall": 1.0,
    "from_depth": 20,
    "to_depth": 110,
    "max_rank_correlation": -0.6,
}
DEPTHS = (20, 56, 110)
# What the claims expect: the normalized nets and SkipInit keep their growth and their rate, none does not, and a
# smaller growth goes with a larger rate across networks (SkipInit's variance shrinks through its layers: the
# smallest growth, so the largest rate). Per network: the variance growth and the largest stable rate at each depth
# (the same every seed).
EXPECTED = {
    "bn": ((0.3, 0.3, 0.4), (3.0, 3.0, 1.0)),
    "gn": ((0.2, 0.2, 0.2), (3.0, 3.0, 1.0)),
    "ln": ((0.3, 0.3, 0.3), (3.0, 1.0, 1.0)),
    "none": ((0.1, 3.3, 5.5), (0.3, 0.003, 3e-4)),
    "none_skipinit": ((-0.8, -0.8, -0.9), (10.0, 10.0, 10.0)),
}


def _table(networks: dict, seeds: int = 1, per_seed: dict | None = None) -> pl.DataFrame:
    """The target's table at K = 100 from each network's (growth per depth, rate per depth); ``per_seed`` replaces
    a network's rates by one tuple per seed."""
    rates, statistics = [], []
    for variant, (growth, rate) in networks.items():
        for i, depth in enumerate(DEPTHS):
            statistics.append(
                {"variant": variant, "depth": depth, "variance_decades": growth[i], "spread": 0.1, "modal_share": 0.5}
            )
            for seed in range(seeds):
                lr = (per_seed or {}).get(variant, [rate] * seeds)[seed][i]
                rates.append(
                    {
                        "variant": variant,
                        "depth": depth,
                        "seed": seed,
                        "steps": 100,
                        "largest_stable_lr": lr,
                        "at_grid_top": lr == GRID[-1],
                        "below_grid": lr is None,
                        "trials": 4,
                        "seconds": 1.0,
                    }
                )
    frame = pl.DataFrame(rates, schema_overrides={"largest_stable_lr": pl.Float64, "depth": pl.Int32})
    return normalizers.table(frame, pl.DataFrame(statistics, schema_overrides={"depth": pl.Int32}), VARIANTS)


def test_the_mechanism_s_prediction_agrees_with_every_claim():
    checks = normalizers.claims(_table(EXPECTED), RULES, SEARCH)
    assert len(checks) == 3 + 2 + 1
    assert all(c.target == "normalizers" for c in checks)
    assert [c.verdict for c in checks] == ["agrees"] * 6
    skip_growth = checks[2]
    assert skip_growth.value == pytest.approx(0.9)  # the largest |growth| over depths, sign dropped
    assert (
        skip_growth.quantity.startswith("none_skipinit:") and "20: -0.80, 56: -0.80, 110: -0.90" in skip_growth.quantity
    )
    gn_fall = next(c for c in checks if c.quantity.startswith("gn: decades the largest stable rate falls"))
    assert gn_fall.value == pytest.approx(math.log10(3.0))
    assert checks[-1].value < -0.6 and "15 networks and depths" in checks[-1].quantity


def test_a_growth_beyond_a_decade_either_way_disagrees():
    grown = {**EXPECTED, "gn": ((0.2, 0.6, 1.4), EXPECTED["gn"][1]), "ln": ((-0.2, -0.7, -1.3), EXPECTED["ln"][1])}
    checks = normalizers.claims(_table(grown), RULES, SEARCH)
    assert [c.verdict for c in checks[:3]] == ["disagrees", "disagrees", "agrees"]
    assert checks[0].value == pytest.approx(1.4) and checks[1].value == pytest.approx(1.3)


def test_a_stable_rate_that_falls_more_than_a_decade_disagrees():
    falling = {**EXPECTED, "none_skipinit": (EXPECTED["none_skipinit"][0], (10.0, 1.0, 0.3))}
    checks = normalizers.claims(_table(falling), RULES, SEARCH)
    skip = next(c for c in checks if c.quantity.startswith("none_skipinit: decades"))
    assert skip.value == pytest.approx(math.log10(10.0 / 0.3)) and skip.verdict == "disagrees"


def test_a_net_below_the_grid_is_placed_half_a_step_under_it_and_named():
    below = {**EXPECTED, "gn": (EXPECTED["gn"][0], (3.0, 1e-5, None))}
    checks = normalizers.claims(_table(below), RULES, SEARCH)
    gn = next(c for c in checks if c.quantity.startswith("gn: decades"))
    floor = GRID[0] / math.sqrt(GRID[1] / GRID[0])
    assert gn.value == pytest.approx(math.log10(3.0 / floor)) and "below the grid" in gn.quantity


def test_a_shrinking_variance_with_a_middling_rate_weakens_the_correlation_below_the_rule():
    """SkipInit's variance shrinks (the smallest growth) while its rate stays under the normalized nets': the ranks no
    longer line up."""
    middling = {**EXPECTED, "none_skipinit": (EXPECTED["none_skipinit"][0], (1.0, 1.0, 1.0))}
    correlation = normalizers.claims(_table(middling), RULES, SEARCH)[-1]
    assert -0.6 < correlation.value < 0 and correlation.verdict == "disagrees"


def test_growth_that_goes_with_a_larger_rate_disagrees_with_the_correlation_claim():
    """Reverse the relation: the more a network's variance grows, the larger its stable rate."""
    reversed_ = {
        variant: (growth, tuple(10 ** (g - 1) for g in growth)) for variant, (growth, _rate) in EXPECTED.items()
    }
    correlation = normalizers.claims(_table(reversed_), RULES, SEARCH)[-1]
    assert correlation.value > 0.9 and correlation.verdict == "disagrees"


def test_over_seeds_the_fall_is_the_median_and_undecided_within_two_spreads():
    per_seed = {"gn": [(3.0, 3.0, 0.3), (3.0, 3.0, 1.0), (3.0, 3.0, 0.1)]}  # falls 1.0, 0.48, 1.48
    checks = normalizers.claims(_table(EXPECTED, seeds=3, per_seed=per_seed), RULES, SEARCH)
    gn = next(c for c in checks if c.quantity.startswith("gn: decades"))
    falls = [1.0, math.log10(3.0), math.log10(30.0)]
    assert gn.value == pytest.approx(1.0) and gn.spread == pytest.approx(float(np.std(falls)))
    assert gn.verdict == "undecided" and "median of 3 seeds" in gn.quantity
    assert checks[-1].spread is not None  # the correlation, seed by seed


def test_the_statistics_at_initialization_are_figure_3_and_figure_4_s():
    """Variance rising 10x every 4 layers after the stem: 2 decades over layers 2..10; an output that ignores its
    input: spread 0, every image favoring class 3."""
    moments, logits = [], []
    for variant, rate in (("none", 0.25), ("bn", 0.0)):
        for layer in range(1, 11):
            for channel in range(2):
                value = 10 ** (rate * layer)
                moments += [
                    {
                        "variant": variant,
                        "depth": 20,
                        "batch": 0,
                        "layer": layer,
                        "channel": channel,
                        "stat": s,
                        "value": v,
                    }
                    for s, v in (("var", value), ("mean", 0.0))
                ]
        for image in range(4):
            for cls in range(10):
                p = (0.91 if cls == 3 else 0.01) if variant == "none" else (0.91 if cls == image else 0.01)
                logits.append({"variant": variant, "depth": 20, "image": image, "class": cls, "probability": p})
    stats = normalizers.init_statistics(pl.DataFrame(moments), pl.DataFrame(logits)).sort("variant")
    row = {r["variant"]: r for r in stats.iter_rows(named=True)}
    assert row["none"]["variance_decades"] == pytest.approx(0.25 * 8) and row["bn"]["variance_decades"] == 0
    assert row["none"]["spread"] == pytest.approx(0) and row["none"]["modal_share"] == 1.0
    assert row["bn"]["spread"] == pytest.approx(0.9 * 0.75)  # |0.91 - 0.235| + 3 x |0.01 - 0.235|, halved
    assert stats["depth"].to_list() == [20, 20]


def test_the_table_shows_every_seed_and_the_median_per_network_and_depth():
    per_seed = {"none": [(0.3, 0.003, 3e-4), (0.1, 0.003, 1e-4), (0.3, 0.01, None)]}
    frame = _table(EXPECTED, seeds=3, per_seed=per_seed)
    text = normalizers.markdown(frame, GRID, "t")
    assert frame["variant"].unique(maintain_order=True).to_list() == VARIANTS
    assert "| none | 110 | +5.50 | 0.1 | 50% | 0.0003 / 0.0001 / < 0.00001 -> **0.0001** |" in text
    assert "| none_skipinit | 20 | -0.80 |" in text
