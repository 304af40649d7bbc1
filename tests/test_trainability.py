"""Tables 2 and 3 as trainability searches: the search against a full scan, its completeness checks, the chance
rule, the claims (with the answer moving with the horizon), and the job on a warm-started and an alternating
network."""

from __future__ import annotations

import math

import polars as pl
import pytest
import torch

from pipeline import checkpoints, cifar10, parquet
from pipeline.analysis import trainability as analysis
from pipeline.train import trainability, trainability_job
from pipeline.train.step_job import StepJob

GRID = [3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]
CEILING = 0.12


def _network(diverge_at: float, learns_at: float, slow: int = 0):
    """A fake network: rates >= ``diverge_at`` diverge at step 5; rates >= ``learns_at`` leave chance, those below
    stay at it; with ``slow``, a rate leaves chance only from horizon ``slow`` on."""

    def run(lr: float, h: int):
        if lr >= diverge_at:
            return (6, 5, 1e4, {}) if h > 5 else (h, None, None, {h: 0.5})
        accuracy = {k: (0.5 if lr >= learns_at and k >= slow else 0.1) for k in (50, 100) if k <= h}
        return h, None, None, accuracy

    return run


def _scan(diverge_at, learns_at, slow, h):
    """The answer by trying every rate of the grid."""
    run = _network(diverge_at, learns_at, slow)
    trainable = [lr for lr in GRID if run(lr, h)[1] is None and run(lr, h)[3][h] > CEILING]
    return max(trainable) if trainable else None


@pytest.mark.parametrize(
    ("diverge_at", "learns_at", "slow"),
    [(1.0, 0.01, 0), (0.01, 1e-4, 0), (1e-3, 1e-3, 0), (1e-5, 1.0, 0), (1.0, 1.0, 0), (0.05, 3e-3, 100)],
)
def test_the_search_finds_the_largest_trainable_rate_at_every_horizon_as_a_full_scan_does(diverge_at, learns_at, slow):
    lines = []
    trials = trainability.search(
        GRID, [50, 100], CEILING, trainability.timed(_network(diverge_at, learns_at, slow)), lines.append
    )
    for h in (50, 100):
        assert trainability.answer(trials, GRID, h, CEILING).trainable == _scan(diverge_at, learns_at, slow, h)
    assert len(lines) == len(trials) <= len(GRID)
    assert all(t.steps <= 100 for t in trials)


def test_a_network_that_trains_at_the_top_of_the_grid_needs_one_trial():
    trials = trainability.search(GRID, [50, 100], CEILING, trainability.timed(_network(1.0, 1e-4)))
    assert [t.lr for t in trials] == [0.1]
    assert trainability.answer(trials, GRID, 50, CEILING) == trainability.Answer(0.1, 0.1)


def test_an_incomplete_search_and_a_trial_too_short_are_not_answers():
    short = trainability.Trial(0.1, 50, None, None, {50: 0.5})
    assert short.diverged(50) is False and short.diverged(100) is None and short.trainable(100, CEILING) is None
    diverged_late = trainability.Trial(0.1, 80, 79, 1e4, {50: 0.5})
    assert diverged_late.trainable(50, CEILING) and diverged_late.diverged(100)
    at_chance = trainability.Trial(1e-3, 100, None, None, {100: 0.1})  # nothing shows that 3e-3 diverges
    with pytest.raises(ValueError, match="incomplete search"):
        trainability.answer([at_chance], GRID, 100, CEILING)
    top_at_chance = trainability.Trial(0.1, 100, None, None, {100: 0.1})  # 0.03 below it never tried
    with pytest.raises(ValueError, match=r"no trial of rate 0\.03 over 100 steps"):
        trainability.answer([top_at_chance], GRID, 100, CEILING)


def test_the_chance_ceiling_is_set_by_the_number_of_test_images():
    assert trainability.chance_ceiling(2000, 10, 3.0) == pytest.approx(0.1 + 3 * math.sqrt(0.09 / 2000))
    assert trainability.chance_ceiling(256, 10, 3.0) > trainability.chance_ceiling(10000, 10, 3.0) > 0.1


def test_trials_survive_the_parquet_round_trip():
    trials = [
        trainability.Trial(0.1, 6, 5, 1e4, {}, 1.0),
        trainability.Trial(0.01, 100, None, None, {50: 0.3, 100: 0.4}, 2.0),
    ]
    assert trainability.from_frame(trainability.to_frame(trials)) == trials


def _searches(answers: dict[tuple[str, int], dict[int, float | None]], seed: int = 0, app_j=(None, 1)) -> pl.DataFrame:
    """A gathered search frame of one seed whose searches give the stated answer per horizon (None: no rate of the
    grid), with App. J's trials at 3.0 and 10.0 diverging at the steps ``app_j`` (None: stable)."""
    frames = []
    for (variant, depth), by_h in answers.items():
        runs = {h: lr for h, lr in by_h.items()}

        def run(lr, h, runs=runs):
            accuracy = {k: (0.5 if runs[k] is not None and lr <= runs[k] else 0.1) for k in (50, 100) if k <= h}
            return (6, 5, 1e4, {}) if lr > 0.1 else (h, None, None, accuracy)

        trials = trainability.search(GRID, [50, 100], CEILING, trainability.timed(run))
        for lr, step in zip((3.0, 10.0), app_j, strict=True):  # App. J's rates
            outcome = (100, None, None, {50: 0.1, 100: 0.1}) if step is None else (step + 1, step, 1e5, {})
            trials.append(trainability.timed(lambda lr, h, outcome=outcome: outcome)(lr, 100))
        identity = {"variant": pl.lit(variant), "depth": pl.lit(depth), "seed": pl.lit(seed)}
        frames.append(trainability.to_frame(trials).with_columns(**identity))
    return pl.concat(frames)


SECTION = {
    "seeds": [0],
    "grid": GRID,
    "horizons": [50, 100],
    "table2": {"variants": ["bn", "mu_s", "s", "mu", "none"], "depth": 110},
    "table3": {
        "rows": [
            {"label": "32", "variant": "bn", "depth": 32, "paper_lr": 0.1},
            {"label": "56", "variant": "bn", "depth": 56, "paper_lr": 0.01},
            {"label": "warm", "variant": "warm_start", "depth": 110, "paper_lr": 0.01},
            {"label": "alt", "variant": "alternating", "depth": 110, "paper_lr": 0.01},
            {"label": "bn", "variant": "bn", "depth": 110, "paper_lr": 0.1},
            {"label": "cold", "variant": "none", "depth": 110, "paper_lr": 1e-4},
        ],
        "stability": {"variant": "bn", "depth": 110, "lrs": [3.0, 10.0]},
    },
}
VARIANTS = {"bn": {"lr": 0.1}, "mu_s": {"lr": 0.1}, "s": {"lr": 0.01}, "mu": {"lr": 3e-3}, "none": {"lr": 1e-4}}
RULES2 = {"max_grid_steps": 1, "unnormalized": "none", "both_moments": "mu_s", "one_moment": ["s", "mu"]}


def _table2(answers):
    table = analysis.answers(_searches(answers), analysis.table_rows("table2", SECTION, VARIANTS), SECTION, CEILING)
    rows = analysis.Rows(table, "table2")
    return {c.claim + c.quantity[:12]: c for c in analysis.table2_claims(rows, RULES2, GRID)}


def test_table2_claims_agree_disagree_and_stay_undecided_when_an_answer_moves_with_the_horizon():
    paper = {("bn", 110): 0.1, ("mu_s", 110): 0.1, ("s", 110): 0.01, ("mu", 110): 3e-3, ("none", 110): 1e-4}
    agreeing = _table2({k: {50: v, 100: v} for k, v in paper.items()})
    assert {c.verdict for c in agreeing.values()} == {"agrees"}
    normalization = next(c for c in agreeing.values() if c.claim == "normalization enables larger rates")
    assert normalization.value == pytest.approx(math.log10(3e-3 / 1e-4))  # mu is the closest to none
    tied = {**paper, ("s", 110): 1e-4}  # s no higher than none: the ordering disagrees
    checks = _table2({k: {50: v, 100: v} for k, v in tied.items()})
    normalization = next(c for c in checks.values() if c.claim == "normalization enables larger rates")
    assert normalization.value == 0 and normalization.verdict == "disagrees"
    s_row = next(c for c in checks.values() if c.quantity.startswith("s: grid steps"))
    assert s_row.value == -4 and s_row.verdict == "disagrees"
    moving = {k: {50: v, 100: v} for k, v in paper.items()} | {("none", 110): {50: None, 100: 1e-4}}
    checks = _table2(moving)
    normalization = next(c for c in checks.values() if c.claim == "normalization enables larger rates")
    assert normalization.agrees and normalization.verdict == "undecided"
    assert normalization.unsettled == "the answer moves with H: none none at H = 50, 0.0001 at H = 100"
    both = next(c for c in checks.values() if c.claim.startswith("both"))
    assert both.verdict == "agrees"  # it reads mu_s, s and mu only, which do not move
    capped = {**paper, ("s", 110): 0.1}  # mu_s and s both at the grid's top: only lower bounds, no ordering
    both = next(
        c for c in _table2({k: {50: v, 100: v} for k, v in capped.items()}).values() if c.claim.startswith("both")
    )
    assert both.value == 0 and both.verdict == "undecided" and "at the grid's top" in both.unsettled


def test_table3_reads_app_j_rates_and_the_orderings_at_the_paper_depths():
    answers = {
        ("bn", 32): 0.1,
        ("bn", 56): 0.01,
        ("warm_start", 110): 0.01,
        ("alternating", 110): 0.01,
        ("bn", 110): 0.1,
        ("none", 110): 1e-4,
    }
    frame = _searches({k: {50: v, 100: v} for k, v in answers.items()})
    table = analysis.answers(frame, analysis.table_rows("table3", SECTION, VARIANTS), SECTION, CEILING)
    rules = {"max_grid_steps": 1, "shallow_vs_deep": ["32", "56"], "warm_vs_cold": ["warm", "cold"]}
    rules["bn_vs_alternating"] = ["bn", "alt"]
    checks = analysis.table3_claims(analysis.Rows(table, "table3"), frame, rules, SECTION)
    assert [c.verdict for c in checks] == ["agrees"] * len(checks)
    assert [c.value for c in checks[-5:-2]] == pytest.approx([1.0, 2.0, 1.0])
    assert "ResNet-32/56, H = 100 steps, seed 0" in checks[-5].quantity
    assert [c.claim for c in checks[-2:]] == ["bn does not diverge at 3", "bn diverges at 10"]
    text = analysis.markdown(
        "table3", table, analysis.Rows(table, "table3"), {**SECTION, "test_images": 2000}, CEILING, "t"
    )
    assert "| 56 | 56 | 0.01 | 0.01 | 0.01 |  | 0.1 | 0.1 |" in text and "(seed 0)" in text
    cold = {**answers, ("warm_start", 110): None, ("none", 110): None}  # neither trains within H: no ordering
    frame = _searches({k: {50: v, 100: v} for k, v in cold.items()})
    table = analysis.answers(frame, analysis.table_rows("table3", SECTION, VARIANTS), SECTION, CEILING)
    warm = analysis.table3_claims(analysis.Rows(table, "table3"), frame, rules, SECTION)[-4]
    assert warm.claim.startswith("warm-starting") and warm.value == 0 and warm.verdict == "undecided"
    assert warm.unsettled == "every answer is below the grid (none trains within H)"


def test_app_j_rates_are_undecided_when_their_divergence_moves_with_the_horizon():
    late = trainability.Trial(3.0, 80, 79, 1e4, {50: 0.1})  # stable for 50 steps, diverged by 100
    early = trainability.Trial(10.0, 2, 1, 1e5, {})
    identity = {"variant": pl.lit("bn"), "depth": pl.lit(110), "seed": pl.lit(0)}
    search = trainability.to_frame([late, early]).with_columns(**identity)
    low, high = analysis.stability_claims(search, SECTION["table3"]["stability"], SECTION)
    assert not low.agrees and low.verdict == "undecided" and low.unsettled == "the divergence moves with H"
    assert high.verdict == "agrees"
    assert high.quantity == "bn at lr 10: diverged within 100 steps (first diverging step, seed by seed: 1; ResNet-110)"
    unfinished = trainability.to_frame([trainability.Trial(3.0, 50, None, None, {50: 0.1}), early])
    with pytest.raises(ValueError, match="did not run 100 steps"):
        analysis.stability_claims(unfinished.with_columns(**identity), SECTION["table3"]["stability"], SECTION)


SEEDS = {**SECTION, "seeds": [0, 1, 2]}


def _seeds(per_seed: list[dict], app_j=((None, 1),) * 3) -> pl.DataFrame:
    """The searches of three seeds: per seed, the answer of each search at both horizons."""
    return pl.concat(
        _searches({k: {50: v, 100: v} for k, v in found.items()}, seed, j)
        for seed, (found, j) in enumerate(zip(per_seed, app_j, strict=True))
    )


def test_over_seeds_a_row_is_the_median_and_a_claim_within_two_spreads_is_undecided():
    """The claims read the median over seeds of each seed's value, with its spread; the tables show every seed."""
    paper = {("bn", 110): 0.1, ("mu_s", 110): 0.1, ("s", 110): 0.01, ("mu", 110): 3e-3, ("none", 110): 1e-4}
    frame = _seeds([paper, {**paper, ("bn", 110): 0.03}, {**paper, ("bn", 110): 0.01, ("none", 110): None}])
    table = analysis.answers(frame, analysis.table_rows("table2", SEEDS, VARIANTS), SEEDS, CEILING)
    rows = analysis.Rows(table, "table2")
    assert rows["bn"]["trainable_lr"] == 0.03 and rows.seed_rates("bn") == [0.1, 0.03, 0.01]
    assert rows["none"]["trainable_lr"] == 1e-4 and not rows["bn"]["moves"]  # None counts below every rate
    checks = {c.quantity.split(":")[0]: c for c in analysis.table2_claims(rows, RULES2, GRID)}
    bn = checks["bn"]  # steps 0, -1, -2 from the paper's 0.1: median -1 (agrees), one spread 0.82 from -1
    assert bn.value == -1 and bn.spread == pytest.approx(math.sqrt(2 / 3)) and bn.verdict == "undecided"
    assert "median of 3 seeds" in bn.quantity
    none = checks["none"]  # 0, 0, -2 (no rate: one step below the grid): median 0, 1 step from the limit
    assert none.value == 0 and none.verdict == "undecided"
    s = checks["s"]  # the same in every seed: spread 0 decides, even with several seeds
    assert s.value == 0 and s.spread == 0 and s.verdict == "agrees"
    text = analysis.markdown("table2", table, rows, {**SEEDS, "test_images": 2000}, CEILING, "t")
    assert "| bn | 110 | 0.1 / 0.03 / 0.01 -> **0.03** | 0.1 / 0.03 / 0.01 -> **0.03** | 0.1 |" in text
    assert (
        "| none | 110 | 0.0001 / 0.0001 / none -> **0.0001** |" in text and "seeds 0, 1, 2, then their median" in text
    )
    far = _seeds([paper, {**paper, ("s", 110): 3e-3}, {**paper, ("s", 110): 0.03}])
    rows = analysis.Rows(analysis.answers(far, analysis.table_rows("table2", SEEDS, VARIANTS), SEEDS, CEILING), "t")
    both = next(c for c in analysis.table2_claims(rows, RULES2, GRID) if c.claim.startswith("both"))
    # mu_s over the best alone, per seed: 1, 1.52, 0.52 decades; median 1 lies 2.4 spreads above 0
    assert both.value == pytest.approx(1.0) and both.verdict == "agrees"


def test_app_j_over_seeds_is_undecided_when_the_seeds_disagree():
    answers = {("bn", 32): 0.1, ("bn", 56): 0.01, ("warm_start", 110): 0.01, ("alternating", 110): 0.01}
    answers |= {("bn", 110): 0.1, ("none", 110): 1e-4}
    frame = _seeds([answers] * 3, app_j=[(None, 1), (2, 1), (None, None)])
    low, high = analysis.stability_claims(frame, SEEDS["table3"]["stability"], SEEDS)
    assert low.value == 0 and low.verdict == "undecided" and low.unsettled == "the seeds disagree: 1 of 3 diverged"
    assert high.value == 1 and high.verdict == "undecided" and "seed by seed: 1, 1, -" in high.quantity
    agreeing = _seeds([answers] * 3)
    assert [c.verdict for c in analysis.stability_claims(agreeing, SEEDS["table3"]["stability"], SEEDS)] == [
        "agrees"
    ] * 2


def test_the_job_searches_a_warm_started_and_an_alternating_network(fake_cifar, params, tmp_path):
    npz, provenance = tmp_path / "c.npz", tmp_path / "c.json"
    cifar10.prepare(fake_cifar, npz, provenance)
    settings = {**params["train"], "weight_decay": params["contradictions"]["weight_decay"]}
    search = {"grid": [1e-3, 0.1, 100.0], "horizons": [1, 3], "test_images": 40, "chance_sigmas": 3.0}
    search["warm_steps"] = 2
    outputs = {}
    for variant, extra in (("warm_start", []), ("alternating", [1e4])):
        checkpoint = tmp_path / f"{variant}-d8-s0.pt"
        state = checkpoints.initial_state(variant, params["variants"][variant], params["model"], 8, 0)
        checkpoints.save(state, checkpoint)
        outputs[variant] = tmp_path / f"{variant}.parquet"
        state = str(tmp_path / f"{variant}.state.parquet")
        job = StepJob(str(checkpoint), str(npz), str(provenance), settings, {**search, "extra_lrs": extra},
                      {"search": str(outputs[variant])}, "t", state)  # fmt: skip
        trainability_job.run(job)
    warm, alternating = (parquet.provenance(outputs[v])["params"] for v in ("warm_start", "alternating"))
    assert warm["warm_steps"] == 2 and alternating["warm_steps"] == 0 and alternating["extra_lrs"] == [1e4]
    for variant, path in outputs.items():
        trials = trainability.from_frame(pl.read_parquet(path))
        assert trials[0].lr == 100.0 and trials[0].diverged(3)  # the top first; 100 diverges at once
        assert trainability.answer(trials, search["grid"], 3, 1.0).stable == 0.1, variant
    assert trainability.from_frame(pl.read_parquet(outputs["alternating"]))[-1].lr == 1e4


def test_the_warm_phase_is_the_start_of_every_trial(fake_cifar, params, tmp_path, monkeypatch):
    """Every trial of a warm-started network starts from the warm phase's weights, not the initial ones nor the
    previous trial's: the first trial (0.5, at chance by fiat) moves the weights far; the second (1e-12) is
    measured at the warm weights, as a search that tries 1e-12 alone measures it."""
    npz, provenance = tmp_path / "c.npz", tmp_path / "c.json"
    cifar10.prepare(fake_cifar, npz, provenance)
    variant = {**params["variants"]["warm_start"], "warm_start": {"epochs": 1, "lr": 0.05}}
    checkpoint = tmp_path / "warm-d8-s0.pt"
    checkpoints.save(checkpoints.initial_state("warm_start", variant, params["model"], 8, 0), checkpoint)
    settings = {**params["train"], "weight_decay": 0.0}
    search = {"horizons": [1], "test_images": 40, "chance_sigmas": 0.0, "warm_steps": 3}
    seen = []

    def evaluate(model, data, speed):
        seen.append([p.detach().clone() for p in model.parameters()])
        return 0.0, 0.1 if len(seen) == 1 else 0.5  # the first trial at chance, the next trainable

    monkeypatch.setattr(trainability_job, "evaluate", evaluate)
    for n, grid in enumerate(([1e-12, 0.5], [1e-12])):
        outputs = {"search": str(tmp_path / f"w{n}.parquet")}
        searched = {**search, "grid": grid, "extra_lrs": []}
        trainability_job.run(StepJob(str(checkpoint), str(npz), str(provenance), settings, searched, outputs, "t",
                                     str(tmp_path / "state.parquet")))  # fmt: skip
    moved, second, alone = seen
    fresh, _ = checkpoints.load_model(checkpoint)

    def same(a, b):
        return all(torch.allclose(x, y.float(), atol=1e-9) for x, y in zip(a, b, strict=True))

    assert same(second, alone) and not same(second, moved)  # not the previous trial's weights
    assert not same(second, list(fresh.parameters()))  # not the initial ones: the warm phase moved them


def test_a_killed_search_resumes_after_its_last_finished_trial(fake_cifar, params, tmp_path, monkeypatch):
    npz, provenance = tmp_path / "c.npz", tmp_path / "c.json"
    cifar10.prepare(fake_cifar, npz, provenance)
    checkpoint = tmp_path / "bn-d8-s0.pt"
    checkpoints.save(checkpoints.initial_state("bn", params["variants"]["bn"], params["model"], 8, 0), checkpoint)
    settings = {**params["train"], "weight_decay": params["contradictions"]["weight_decay"]}
    search = {"grid": [1e-4, 1e-3, 0.01, 0.1], "horizons": [1, 2], "test_images": 40, "chance_sigmas": 3.0}
    search |= {"warm_steps": 1, "extra_lrs": []}
    out, state = tmp_path / "out.parquet", tmp_path / "state.parquet"
    job = StepJob(str(checkpoint), str(npz), str(provenance), settings, search, {"search": str(out)}, "t", str(state))
    ran = []
    timed = trainability.timed

    def killed_after(n):
        def wrap(run):
            def trial(lr, h):
                if len(ran) == n:
                    raise KeyboardInterrupt("killed")
                ran.append(lr)
                return timed(run)(lr, h)

            return trial

        return wrap

    monkeypatch.setattr(trainability, "timed", killed_after(2))
    with pytest.raises(KeyboardInterrupt):
        trainability_job.run(job)
    assert (
        not out.exists() and len(trainability.from_frame(pl.read_parquet(state).drop("variant", "depth", "seed"))) == 2
    )
    first_two = list(ran)
    monkeypatch.setattr(trainability, "timed", killed_after(100))
    trainability_job.run(job)
    assert ran[:2] == first_two and not set(ran[2:]) & set(first_two)  # no finished trial ran again
    assert not state.exists()
    resumed = trainability.from_frame(pl.read_parquet(out).drop("variant", "depth", "seed"))
    ran.clear()
    out.unlink()
    monkeypatch.setattr(trainability, "timed", killed_after(100))
    trainability_job.run(job)
    fresh = trainability.from_frame(pl.read_parquet(out).drop("variant", "depth", "seed"))
    same = [(t.lr, t.steps, t.diverged_step, t.accuracy) for t in fresh]
    assert [(t.lr, t.steps, t.diverged_step, t.accuracy) for t in resumed] == same  # resumed = uninterrupted
    state.write_bytes(b"PAR1 truncated")
    trainability_job.run(job)
    assert (tmp_path / "state.parquet.unreadable").exists()  # set aside, and the search ran from scratch
