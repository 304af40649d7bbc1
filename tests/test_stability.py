"""The largest stable learning rate: the top-down scan at several K, against trying every rate; its analysis."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import torch
from conftest import RECIPE, fake_data, tiny_model

from pipeline import checkpoints, cifar10
from pipeline.analysis import stability as analysis
from pipeline.train import stability, stability_job
from pipeline.train.data import DeviceData
from pipeline.train.engine import make_optimizer, train_epoch
from pipeline.train.speed import Speed
from pipeline.train.step_job import StepJob

GRID = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def _network(threshold: float):
    """A fake network: a rate at or above ``threshold`` diverges, sooner the larger it is (step 40 at the
    threshold, 10 steps earlier per half decade above it)."""

    def run(lr: float, k: int) -> tuple[int | None, float | None, int]:
        if lr < threshold:
            return None, None, k
        step = max(0, 40 - 10 * round(2 * (torch.log10(torch.tensor(lr / threshold))).item()))
        return (step, 1e4, step + 1) if step < k else (None, None, k)

    return run


def _frame(trials):
    return pl.DataFrame([t.__dict__ for t in trials])


@pytest.mark.parametrize("threshold", [2e-5, 5e-4, 0.05, 2.0, 1e-6, 100.0])
def test_the_scan_finds_the_largest_stable_rate_at_every_k_as_trying_every_rate_does(threshold):
    lines = []
    trials = stability.search(GRID, [10, 30, 100], stability.timed(_network(threshold)), lines.append)
    frame = _frame(trials)
    for k in (10, 30, 100):
        every = [lr for lr in GRID if _network(threshold)(lr, k)[0] is None]  # every rate tried
        assert stability.largest_stable(frame, GRID, k) == (max(every) if every else None)
    answer = stability.largest_stable(frame, GRID, 100)
    assert [t.lr for t in trials] == [lr for lr in reversed(GRID) if answer is None or lr >= answer]  # top down
    assert all(t.steps <= 100 for t in trials) and len(lines) == len(trials)


def test_the_scan_finds_a_stable_rate_above_a_diverging_one():
    def islands(lr: float, k: int) -> tuple[int | None, float | None, int]:
        """Stable at 1e-3 and below, and at 0.1 alone (a non-monotone network: a bisection from 0.01 stops at 1e-3)."""
        return (None, None, k) if lr <= 1e-3 or lr == 0.1 else (2, 1e4, 3)

    frame = _frame(stability.search(GRID, [100], stability.timed(islands), lambda line: None))
    assert stability.largest_stable(frame, GRID, 100) == 0.1
    assert frame["steps"].sum() == 100 + 3 * len([lr for lr in GRID if lr > 0.1])  # one full trial


def test_a_trial_that_stopped_early_only_answers_for_fewer_steps():
    stable_for_10 = stability.Trial(0.1, 10, None, None, 0.0)
    diverged_at_12 = stability.Trial(0.3, 13, 12, 5e3, 0.0)
    assert stable_for_10.stable(10) and stable_for_10.stable(30) is None
    assert diverged_at_12.stable(12) and not diverged_at_12.stable(13)
    incomplete = _frame([stable_for_10])  # nothing shows that 0.3 (or any rate above) diverges
    with pytest.raises(ValueError, match="incomplete search"):
        stability.largest_stable(incomplete, GRID, 10)
    with pytest.raises(ValueError, match="strictly increasing"):
        stability.search([0.1, 0.01], [10], stability.timed(_network(1.0)))


def test_max_steps_trains_exactly_the_first_mini_batches_of_the_epoch():
    data = DeviceData.from_cifar(fake_data(train_images=64), torch.device("cpu"))
    recipe = RECIPE  # batch 16: 4 mini-batches per epoch
    full, first = tiny_model(), tiny_model()
    steps = train_epoch(full, make_optimizer(full, recipe, 0.01), data, recipe, 0, 0, 0.01, Speed.reference())
    two = train_epoch(first, make_optimizer(first, recipe, 0.01), data, recipe, 0, 0, 0.01, Speed.reference(), None, 2)
    assert len(two["step_losses"]) == 2 and two["step_losses"] == steps["step_losses"][:2]
    huge = tiny_model()
    diverged = train_epoch(huge, make_optimizer(huge, recipe, 1e4), data, recipe, 0, 0, 1e4, Speed.reference(), None, 4)
    assert "diverged" in diverged and diverged["diverged"] < 4  # stops at the first loss above the threshold


def _searches(per_seed: dict[int, dict[str, dict[int, float | None]]]) -> pl.DataFrame:
    """A stability table (one row per variant, depth, seed at K = 100) from each seed's largest stable rates."""
    rows = []
    for seed, networks in per_seed.items():
        for variant, rates in networks.items():
            for depth, lr in rates.items():
                rows.append(
                    {
                        "variant": variant,
                        "depth": depth,
                        "seed": seed,
                        "steps": 100,
                        "largest_stable_lr": lr,
                        "at_grid_top": False,
                        "below_grid": lr is None,
                        "trials": 4,
                        "seconds": 1.0,
                    }
                )
    frame = pl.DataFrame(rows, schema_overrides={"largest_stable_lr": pl.Float64})
    growth = pl.DataFrame({"variant": "none", "depth": [20, 56, 110], "variance_decades": [0.5, 2.0, 4.0]})
    return analysis.table(frame, growth), growth


RULES = {"from_depth": 20, "to_depth": 110, "min_none_fall": 2.0, "max_bn_fall": 1.0, "max_rank_correlation": -0.8}
SEARCH = {"variants": ["bn", "none"], "lrs": GRID}


def test_claims_read_the_fall_in_decades_and_relate_it_to_the_variance_growth():
    networks = {"bn": {20: 3.0, 56: 3.0, 110: 1.0}, "none": {20: 0.3, 56: 0.001, 110: None}}
    frame, growth = _searches({0: networks})
    none_fall, bn_fall, relation = analysis.claims(frame, growth, RULES, SEARCH)
    below = GRID[0] / (GRID[1] / GRID[0]) ** 0.5  # a net diverging at every rate: half a grid step under it
    assert none_fall.value == pytest.approx(math.log10(0.3 / below)) and "below the grid" in none_fall.quantity
    assert bn_fall.value == pytest.approx(0.4771, abs=1e-3) and bn_fall.agrees and bn_fall.spread is None
    assert relation.value == pytest.approx(-1.0) and relation.agrees


def test_over_seeds_the_claims_read_the_median_and_are_undecided_within_two_spreads():
    """Three seeds: the value is the median of the per-seed quantity, the spread their standard deviation."""
    steady = {"bn": {20: 3.0, 56: 3.0, 110: 1.0}}
    frame, growth = _searches(
        {
            0: {**steady, "none": {20: 0.3, 56: 0.001, 110: 3e-4}},  # falls 3.0 decades
            1: {**steady, "none": {20: 0.1, 56: 0.001, 110: 3e-4}},  # 2.52
            2: {**steady, "none": {20: 1.0, 56: 0.01, 110: 3e-4}},  # 3.52
        }
    )
    none_fall, bn_fall, relation = analysis.claims(frame, growth, RULES, SEARCH)
    falls = [math.log10(0.3 / 3e-4), math.log10(0.1 / 3e-4), math.log10(1.0 / 3e-4)]
    assert none_fall.value == pytest.approx(falls[0]) and none_fall.spread == pytest.approx(float(np.std(falls)))
    assert none_fall.verdict == "agrees" and "median of 3 seeds" in none_fall.quantity
    assert bn_fall.value == pytest.approx(math.log10(3)) and bn_fall.spread == 0 and bn_fall.verdict == "agrees"
    assert relation.value == pytest.approx(-1.0) and relation.spread == 0
    frame2, _ = _searches(
        {
            0: {**steady, "none": {20: 0.3, 56: 0.001, 110: 3e-3}},  # 2.0: at the threshold
            1: {**steady, "none": {20: 0.1, 56: 0.001, 110: 3e-4}},  # 2.52
            2: {**steady, "none": {20: 1.0, 56: 0.01, 110: 3e-2}},  # 1.52
        }
    )
    unsure, _, _ = analysis.claims(frame2, growth, RULES, SEARCH)
    assert unsure.value == pytest.approx(2.0) and unsure.agrees and unsure.verdict == "undecided"
    table = analysis.markdown(frame2, GRID, "t")
    assert "| none | 110 | 0.003 / 0.0003 / 0.03 -> **0.003** |" in table and "seeds 0, 1, 2" in table
    middle = analysis.medians(frame2)
    assert middle.filter(pl.col("variant") == "none", pl.col("depth") == 20)["median_lr"].item() == pytest.approx(0.3)


def test_the_premise_of_the_training_figures_is_a_stable_rate_well_below_bns_at_their_depth():
    """Issue 21: at the training depth none's largest stable rate lies >= 1.5 decades below bn's 0.1."""
    steady = {"bn": {20: 3.0, 56: 3.0, 110: 1.0}}
    frame, _ = _searches(
        {
            0: {**steady, "none": {20: 0.1, 56: 0.003, 110: 3e-4}},
            1: {**steady, "none": {20: 0.3, 56: 0.001, 110: 3e-4}},
            2: {**steady, "none": {20: 0.1, 56: 0.003, 110: 1e-4}},
        }
    )
    rules = {**RULES, "min_premise_decades": 1.5}
    deep = analysis.premise(frame, rules, SEARCH, {"depth": 56, "lr": 0.1})
    assert deep.value == pytest.approx(math.log10(0.1 / 0.003)) and deep.spread > 0
    assert deep.verdict == "undecided"  # 1.52 with a spread of 0.22: the seeds, not the depth, decide it
    assert "bn's training rate 0.1" in deep.quantity and "depth 56" in deep.quantity
    assert analysis.premise(frame, rules, SEARCH, {"depth": 110, "lr": 0.1}).verdict == "agrees"
    shallow = analysis.premise(frame, rules, SEARCH, {"depth": 20, "lr": 0.1})
    assert shallow.value == pytest.approx(0.0) and shallow.verdict == "disagrees"
    with pytest.raises(ValueError, match=r"key 'train\.depth': the training figures' depth 32 has no stability search"):
        analysis.premise(frame, rules, SEARCH, {"depth": 32, "lr": 0.1})


def test_a_k_beyond_one_epoch_stops_the_search_with_the_key_before_any_trial(fake_cifar, params, tmp_path):
    npz, provenance = tmp_path / "c.npz", tmp_path / "c.json"
    cifar10.prepare(fake_cifar, npz, provenance)  # 200 training images: 2 mini-batches of 128
    checkpoint = tmp_path / "bn-d8-s0.pt"
    checkpoints.save(checkpoints.initial_state("bn", params["variants"]["bn"], params["model"], 8, 0), checkpoint)
    settings = {**params["train"], "weight_decay": params["contradictions"]["weight_decay"]}
    out = tmp_path / "search.parquet"
    search = {"lrs": GRID, "steps": [1, 3]}
    job = StepJob(str(checkpoint), str(npz), str(provenance), settings, search, {"search": str(out)}, "t")
    with pytest.raises(ValueError, match=r"key 'stability.steps': K = 3 needs more than the 2 mini-batches"):
        stability_job.run(job)
    assert not out.exists()
