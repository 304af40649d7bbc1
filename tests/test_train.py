"""The training engine: run identities, the schedule, augmentation on the device, divergence, chance, and an
exact resume after kill -9."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch
import torch.nn.functional as F
from conftest import RECIPE, fake_data, tiny_model

from pipeline import checkpoints, config, models, targets
from pipeline.train import runs
from pipeline.train.data import DeviceData, augment, epoch_generator
from pipeline.train.engine import Recipe, train
from pipeline.train.job import TrainJob, metrics_frame, run_job, train_doubling

REPO = Path(__file__).resolve().parent.parent


def test_run_names_round_trip_and_carry_every_identity_field():
    for run in (
        runs.Run("bn", 110, 0.1, 165, 0),
        runs.Run("warm_start", 110, 0.01, 2400, 3, 1, 0.0001),
        runs.Run("g_mu_s", 32, 0.00003, 1, 4),
        runs.Run("bn", 110, 10.0, 165, 0),
    ):
        assert runs.Run.parse(run.name) == run
    assert runs.Run("none", 110, 0.00003, 2400, 0).name == "none-d110-lr0.00003-e2400-s0-cold"
    with pytest.raises(ValueError, match="not a run name"):
        runs.Run.parse("bn-110-0.1")


def test_learning_rate_schedule_divides_after_half_and_three_quarters():
    run = runs.Run("bn", 8, 0.1, 8, 0)
    rates = [run.lr_at(e, [0.5, 0.75], 0.1) for e in range(8)]
    assert rates == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)
    assert runs.Run("bn", 8, 0.1, 165, 0).lr_at(82, [0.5, 0.75], 0.1) == 0.1  # 82 epochs done < 82.5
    assert runs.Run("bn", 8, 0.1, 165, 0).lr_at(83, [0.5, 0.75], 0.1) == pytest.approx(0.01)
    warm = runs.Run("warm_start", 8, 0.01, 4, 0, 1, 0.0001)
    assert [warm.lr_at(e, [0.5, 0.75], 0.1) for e in range(4)] == pytest.approx([0.0001, 0.01, 0.001, 0.0001])


def test_every_training_target_expands_to_runs_from_the_params():
    smoke = config.load(REPO / "params.yaml", {"profile": "smoke"})
    fig1 = runs.experiment_runs("fig1", smoke)
    assert len(fig1) == 4 * len(smoke["train"]["seeds"]) and {r.epochs for r in fig1} == {1}
    paper = config.load(REPO / "params.yaml", {"profile": "paper"})
    fig1 = runs.experiment_runs("fig1", paper)
    assert {(r.variant, r.lr, r.epochs) for r in fig1} == {
        ("bn", 0.1, 165),
        ("bn", 0.003, 1320),
        ("bn", 0.0001, 2400),
        ("none", 0.0001, 2400),
    }
    assert len(fig1) == 4 * 5
    with pytest.raises(ValueError, match="'fig99' is not a training entry"):
        runs.experiment_runs("fig99", paper)
    assert targets.TARGETS["fig16"].runs == "fig15"  # Fig. 16 draws Fig. 15's runs (the registry's one alias)
    assert {r.variant for r in runs.experiment_runs("fig15", paper)} == {"bn_top", "bn", "none"}  # + references


def test_a_reduced_profile_scales_depth_and_caps_epochs():
    cpu = config.load(REPO / "params.yaml", {"profile": "cpu"})
    train = cpu["train"]
    fig1 = runs.experiment_runs("fig1", cpu)
    assert {r.depth for r in fig1} == {train["depth"]}
    assert len(fig1) == len({(r.variant, r.lr, r.epochs) for r in fig1}) * len(train["seeds"])
    assert max(r.epochs for r in fig1) == train["max_epochs"]  # the 2400-epoch schedule, capped
    bn = next(r for r in fig1 if r.lr == 0.1)
    assert bn.epochs == runs.scaled_epochs(165, train["epoch_scale"]) < train["max_epochs"]
    assert runs.scaled_epochs(165, 0.0) == 1 and runs.scaled_epochs(2400, 0.05, 30) == 30


def test_the_slow_rate_is_one_key_that_every_slow_curve_reads():
    slow = 0.003
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "training": {"slow_lr": slow}})
    fig1 = runs.experiment_runs("fig1", params)
    assert {r.lr for r in fig1 if r.variant == "none"} == {slow}
    assert {(r.lr, r.epochs) for r in fig1 if r.variant == "bn"} >= {(slow, 1), (0.1, 1)}
    for entry in ("fig15", "fig17"):
        assert {r.lr for r in runs.experiment_runs(entry, params) if r.variant == "none"} == {slow}
    # the curves' other rates are their own; the variant's rate (Table 2's paper rate) stays the paper's
    assert params["variants"]["none"]["lr"] == 1e-4
    assert runs.experiment_params("fig1", params)["training"]["slow_lr"] == slow  # a slow-rate edit reruns it
    paper = config.load(REPO / "params.yaml", {"profile": "paper"})
    assert {r.lr for r in runs.experiment_runs("fig17", paper) if r.variant == "none"} == {1e-4}


def test_a_run_receives_only_what_changes_its_numbers(params):
    recipe = runs.run_recipe(params)
    assert set(recipe) == {*runs.RECIPE_KEYS, "weight_decay"}
    assert not {"lr_grid", "seeds", "speed", "device", "epoch_scale", "max_epochs", "plateau"} & set(recipe)
    assert "plateau" in runs.run_recipe(params, doubling=True)
    execution = runs.Execution.from_params(params)
    assert execution.train_settings() == {"device": params["train"]["device"], "speed": params["train"]["speed"]}
    # Snakemake compares only builtin-typed params between runs, so the execution object (not a dict) never
    # reruns a run; test_workflow.py holds that on a real build (a speed or device edit: nothing to do).
    assert not isinstance(execution, dict | list | tuple | str)


def test_augmentation_crops_the_padded_image_and_flips():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    out = augment(images, 4, True, torch.Generator().manual_seed(1))
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = F.pad(images, (4, 4, 4, 4))
    for b in range(6):
        crops = [padded[b, :, y : y + 32, x : x + 32] for y in range(9) for x in range(9)]
        assert any(torch.equal(out[b], c) or torch.equal(out[b], c.flip(2)) for c in crops)
    assert torch.equal(augment(images, 0, False, torch.Generator()), images)
    again = augment(images, 4, True, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)  # the same seed gives the same draws: what makes resume exact


def test_epochs_draw_different_orders_and_cover_the_data():
    data = DeviceData.from_cifar(fake_data(40), torch.device("cpu"))
    labels = [torch.cat([y for _, y in data.train_batches(16, 4, True, epoch_generator(0, e, "cpu"))]) for e in (0, 1)]
    assert sorted(labels[0].tolist()) == sorted(data.train_y.tolist())
    assert not torch.equal(labels[0], labels[1])
    assert data.batches_per_epoch(16) == 3


def _train(tmp_path: Path, recipe: Recipe = RECIPE, run=None, where="every", name="state.pt"):
    run = run or runs.Run("bn", 8, 0.05, 3, 0)
    data = DeviceData.from_cifar(fake_data(), torch.device("cpu"))
    return train(run, recipe, tiny_model(where), data, tmp_path / name, log=lambda _line: None)


def test_divergence_and_chance_end_the_run_cleanly(tmp_path):
    diverged = _train(tmp_path, dataclasses.replace(RECIPE, divergence_loss=0.5))
    assert diverged.status == "diverged" and diverged.detail["step"] == 0 and diverged.rows == []
    frame = metrics_frame(runs.Run("bn", 8, 0.05, 3, 0), diverged)
    assert set(frame["metric"]) == {"diverged_step", "diverged_loss"} and set(frame["status"]) == {"diverged"}
    exploded = _train(tmp_path, run=runs.Run("none", 8, 1e6, 3, 0), where="none", name="x.pt")
    assert exploded.status == "diverged" and exploded.detail["step"] >= 1  # a non-finite or huge loss after a step
    chance = _train(tmp_path, dataclasses.replace(RECIPE, chance_margin=1.0), name="c.pt")
    assert chance.status == "chance" and len(chance.rows) == 3 * 6


RESUMED = """
import sys, torch
sys.path.insert(0, {tests!r})
from test_train import _train_to
_train_to({state!r}, slow=True)
"""


def _train_to(state: str, slow: bool = False):
    """Train the resume test's run (5 epochs) with its state at ``state``; ``slow`` sleeps between steps so a
    kill lands mid-epoch."""
    torch.manual_seed(123)  # must not matter: every draw comes from the per-epoch generators
    torch.set_num_threads(1)
    run = runs.Run("bn", 8, 0.05, 5, 0)
    data = DeviceData.from_cifar(fake_data(96), torch.device("cpu"))
    model = tiny_model()
    if slow:
        forward = model.forward
        model.forward = lambda x: (time.sleep(0.02), forward(x))[1]
    return train(run, RECIPE, model, data, Path(state), log=lambda _line: None)


@pytest.fixture
def one_thread():
    """One thread for a bitwise comparison, restored afterwards: the count is process-wide, and later tests
    compare arithmetic paths whose kernels depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_run_killed_mid_epoch_resumes_to_a_bitwise_identical_result(tmp_path, one_thread):
    reference = _train_to(str(tmp_path / "reference.pt"))
    state = tmp_path / "killed.pt"
    code = RESUMED.format(tests=str(Path(__file__).parent), state=str(state))
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    done_before = torch.load(state, weights_only=True)["epoch"]
    assert 1 <= done_before < 5
    resumed = _train_to(str(state))
    strip = [{k: v for k, v in r.items()} for r in resumed.rows if r["metric"] != "seconds"]
    expected = [r for r in reference.rows if r["metric"] != "seconds"]
    assert strip == expected
    for key, value in reference.state_dict.items():
        assert torch.equal(value, resumed.state_dict[key]), key


def test_run_job_writes_metrics_and_a_loadable_checkpoint_then_drops_the_state(tmp_path, fake_cifar):
    from pipeline import cifar10

    params = config.load(REPO / "params.yaml", {"profile": "smoke"})
    npz, provenance = tmp_path / "c.npz", tmp_path / "c.json"
    cifar10.prepare(fake_cifar, npz, provenance)
    run = runs.Run("bn", 8, 0.1, 2, 0)
    initial = tmp_path / "init.pt"
    checkpoints.save(checkpoints.initial_state("bn", params["variants"]["bn"], params["model"], 8, 0), initial)
    outputs = {"metrics": str(tmp_path / "m.parquet"), "weights": str(tmp_path / "w.pt")}
    state = tmp_path / "state.pt"
    settings = {
        **runs.run_recipe(params, doubling=True),
        **runs.Execution.from_params(params).train_settings(),
        "train_images": 64,
        "test_images": 32,
    }

    def job(run):
        return TrainJob(run, str(initial), str(npz), str(provenance), settings, outputs, str(state), "smoke")

    outcome = run_job(job(run))
    frame = pl.read_parquet(outputs["metrics"])
    assert set(frame["metric"]) == {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}
    assert frame["epoch"].max() == 2 and set(frame["run"]) == {run.name} and set(frame["status"]) == {outcome.status}
    model, saved = checkpoints.load_model(outputs["weights"])
    assert saved["run"] == run.name and isinstance(model, models.ResNet)
    assert not state.exists()
    doubling = runs.Run("bn", 8, 0.1, 1, 0, doubling=True)
    run_job(job(doubling))
    frame = pl.read_parquet(outputs["metrics"])
    assert set(frame["run"]) == {doubling.name} and frame["trained_epochs"][0] == frame["epoch"].max()
    assert not state.with_suffix("").exists()  # the attempts' folder goes once the outputs are written
    wrong = runs.Run("none", 8, 0.1, 2, 0)
    with pytest.raises(ValueError, match="initial checkpoint of another run"):
        run_job(job(wrong))


def test_the_doubling_rule_doubles_until_learning_plateaus(tmp_path):
    params = config.load(REPO / "params.yaml", {"profile": "smoke", "contradictions": {"epoch_rule": "doubling"}})
    run = runs.experiment_runs("fig1", params)[0]
    assert run.doubling and run.name.endswith(f"-e{run.epochs}d-s0-cold") and runs.Run.parse(run.name) == run
    assert runs.plateaued([0.1, 0.5, 0.8, 0.802], 0.25, 0.005)
    assert not runs.plateaued([0.1, 0.5, 0.8, 0.9], 0.25, 0.005)
    data = DeviceData.from_cifar(fake_data(), torch.device("cpu"))
    lines = []
    never = {"window": 0.5, "min_gain": -1.0, "max_doublings": 2}  # no gain is below -1: it always doubles
    first = runs.Run("bn", 8, 0.05, 1, 0, doubling=True)
    recipe = dataclasses.replace(RECIPE, chance_margin=-1.0)  # random labels: never call a run "at chance" here
    outcome, epochs = train_doubling(first, recipe, tiny_model(), data, tmp_path / "d", never, lines.append)
    assert epochs == 4 and len([r for r in outcome.rows if r["metric"] == "test_acc"]) == 4
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if not p.name.startswith(".")) == sorted(
        f"{dataclasses.replace(first, epochs=e, doubling=False).name}.done.pt" for e in (1, 2, 4)
    )
    lines.clear()  # a restarted job redoes no finished attempt
    again, epochs = train_doubling(first, recipe, tiny_model(), data, tmp_path / "d", never, lines.append)
    assert epochs == 4 and not any(line.startswith("epoch") for line in lines)
    assert again.rows == outcome.rows
    settles = {"window": 0.5, "min_gain": 1.0, "max_doublings": 2}  # every gain is below 1: a plateau once it can
    _, epochs = train_doubling(first, recipe, tiny_model(), data, tmp_path / "s", settles, lines.append)
    assert epochs == 2  # one epoch cannot show a plateau; two can
