"""Every family's decide and every figure's draw function, on small data made by the pipeline's own jobs.

The smoke profile's measurements (ResNet-8 and -14, a few mini-batches of a synthetic CIFAR-10, 60 x 60 random
matrices) are made once, in process, by the same job functions the Snakemake adapters call. Then each claims unit
is decided and written, and each figure is drawn to a Vega-Lite spec (validated against its schema), so a broken
decide or draw function fails here, in `pytest -m unit`, and not only in the smoke build.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal
from snakemake.iocontainers import Namedlist

from pipeline import checkpoints, cifar10, claims, config, parquet, provenance, targets
from pipeline.analysis import decisions
from pipeline.analysis import trainability as trainability_rows
from pipeline.plots import figures
from pipeline.probes import activations, logits, moments
from pipeline.probes import gradients as gradient_probe
from pipeline.probes.job import ProbeJob
from pipeline.rmt import experiments
from pipeline.train import job as train_job
from pipeline.train import runs, stability_job, trainability_job
from pipeline.train.step_job import StepJob
from pipeline.updates import job as update_job
from tests.conftest import REPO, write_fake_cifar

PROFILE = "smoke"
# Smaller than the smoke profile where only time changes: mini-batches of 16 (its probe batch), 32 images per
# training run and per trainability trial. Every code path stays.
SMALLER = {
    "train": {"batch_size": 16, "train_images": 32, "test_images": 32},
    "trainability": {"test_images": 32},
    "probes": {"fig3_beside": ["gn"]},  # Fig. 3 with a network beyond the pair, through params alone
}
BEYOND_THE_PAPER = ("gn", "ln", "none_skipinit")


class Workspace:
    """The smoke profile's measurements under one folder, made on demand, each file once."""

    def __init__(self, root: Path) -> None:
        self.root, self.p = root, config.load(REPO / "params.yaml", {"profile": PROFILE, **SMALLER})
        self.npz, self.provenance = root / "data/cifar10.npz", root / "data/cifar10.json"
        self.npz.parent.mkdir(parents=True)
        cifar10.prepare(write_fake_cifar(root / "cifar"), self.npz, self.provenance)
        execution = runs.Execution.from_params(self.p).train_settings()
        self.steps = {**runs.step_recipe(self.p), **execution}
        self.train = {**runs.run_recipe(self.p), **execution}

    def path(self, name: str) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    def checkpoint(self, variant: str, depth: int, seed: int) -> str:
        path = self.path(f"init/{variant}-d{depth}-s{seed}.pt")
        if not Path(path).exists():
            entry = self.p["variants"][variant]
            checkpoints.save(checkpoints.initial_state(variant, entry, self.p["model"], depth, seed), path)
        return path

    def probe(self, variant: str, depth: int, outputs: dict[str, str]) -> ProbeJob:
        checkpoint = self.checkpoint(variant, depth, self.p["probes"]["seed"])
        stem = self.p["contradictions"]["stem_is_layer_1"]
        return ProbeJob(checkpoint, str(self.npz), str(self.provenance), self.p["probes"], stem, outputs, PROFILE)

    def steps_job(self, variant: str, depth: int, seed: int, settings: dict, outputs: dict, state=None) -> StepJob:
        checkpoint = self.checkpoint(variant, depth, seed)
        return StepJob(checkpoint, str(self.npz), str(self.provenance), self.steps, settings, outputs, PROFILE, state)

    def moments(self, variant: str, depth: int) -> str:
        out = self.path(f"moments/{variant}-d{depth}.parquet")
        if not Path(out).exists():
            moments.run(self.probe(variant, depth, {"moments": out}))
        return out

    def logits(self, variant: str, depth: int) -> str:
        out = self.path(f"logits/{variant}-d{depth}.parquet")
        if not Path(out).exists():
            logits.run(self.probe(variant, depth, {"logits": out}))
        return out

    def stability_search(self, variant: str, depth: int, seed: int) -> str:
        out = self.path(f"stability/{variant}-d{depth}-s{seed}.parquet")
        if not Path(out).exists():
            settings = {key: self.p["stability"][key] for key in ("lrs", "steps")}
            stability_job.run(self.steps_job(variant, depth, seed, settings, {"search": out}))
        return out

    def probe_outputs(self, probe, variant: str) -> dict[str, str]:
        outs = {kind: self.path(f"{probe.__name__}/{variant}.{kind}.parquet") for kind in probe.OUTPUTS}
        probe.run(self.probe(variant, self.p["model"]["depth"], outs))
        return outs

    def family_data(self, family: str) -> dict:
        """The files by kind that the family's claims jobs read, as rules/common.smk lays them out."""
        compared = self.p["probes"]["variants"]
        if family == "moments":
            drawn = [*compared, *self.p["probes"]["fig3_beside"]]
            return {"moments": [self.moments(v, self.p["model"]["depth"]) for v in drawn]}
        if family in ("gradients", "activations"):
            probe = gradient_probe if family == "gradients" else activations
            made = [self.probe_outputs(probe, v) for v in compared]
            return {kind: [outs[kind] for outs in made] for kind in probe.OUTPUTS}
        if family == "rmt":
            r = self.p["rmt"]
            frames = {
                "theory": experiments.theory_frame(r["spectrum_factors"], r["curve_points"]),
                "spectra": experiments.spectra_frame(r["seed"], r["n"], r["runs"], r["spectrum_factors"]),
                "condition": experiments.condition_frame(r["seed"], r["n"], r["runs"], r["condition_factors"]),
            }
            for kind, frame in frames.items():
                parquet.write(frame, self.path(f"rmt/{kind}.parquet"), provenance.record(PROFILE, r))
            return {kind: self.path(f"rmt/{kind}.parquet") for kind in frames}
        if family == "updates":
            u = self.p["updates"]
            depth, seed = self.p["model"]["depth"], u["seed"]
            outs = {kind: self.path(f"updates/fig5.{kind}.parquet") for kind in ("path", "moments")}
            fig5 = {**u["fig5"], "stem_is_layer_1": self.p["contradictions"]["stem_is_layer_1"]}
            update_job.run_diverging_update(self.steps_job(fig5["variant"], depth, seed, fig5, outs))
            landscapes = []
            for network in u["fig24"]["networks"]:
                landscapes.append(self.path(f"updates/{network['variant']}.landscape.parquet"))
                settings = {**u["fig24"], "lr": network["lr"]}
                job = self.steps_job(network["variant"], depth, seed, settings, {"landscape": landscapes[-1]})
                update_job.run_batch_landscape(job)
            return {**outs, "landscapes": landscapes}
        if family == "stability":
            s = self.p["stability"]
            searches = [
                self.stability_search(v, d, seed) for v in s["variants"] for d in s["depths"] for seed in s["seeds"]
            ]
            _, unnormalized = s["variants"]  # its variance growth at each depth
            return {"searches": searches, "moments": [self.moments(unnormalized, d) for d in s["depths"]]}
        if family == "normalizers":
            n, seeds = self.p["normalizers"], self.p["stability"]["seeds"]
            networks = [(v, d) for v in n["variants"] for d in n["depths"]]
            return {
                "searches": [self.stability_search(v, d, seed) for v, d in networks for seed in seeds],
                "moments": [self.moments(v, d) for v, d in networks],
                "logits": [self.logits(v, d) for v, d in networks],
            }
        if family == "trainability":
            t = self.p["trainability"]
            searches = []
            for (variant, depth), seed in itertools.product(
                trainability_rows.searches(t, self.p["variants"]), t["seeds"]
            ):
                searches.append(self.path(f"trainability/{variant}-d{depth}-s{seed}.parquet"))
                settings = trainability_rows.search_settings(t, variant, depth)
                state = self.path(f"trainability-state/{variant}-d{depth}-s{seed}.parquet")
                trainability_job.run(self.steps_job(variant, depth, seed, settings, {"search": searches[-1]}, state))
            return {"searches": searches}
        raise KeyError(family)

    def training_data(self, target: targets.Target) -> dict:
        """The metrics of exactly the runs of one training target, each trained by the training job."""
        metrics = []
        for run in runs.experiment_runs(target.runs, self.p):
            metrics.append(self.path(f"train/{run.name}.parquet"))
            if not Path(metrics[-1]).exists():
                outputs = {"metrics": metrics[-1], "weights": self.path(f"train/{run.name}.pt")}
                initial = self.checkpoint(run.variant, run.depth, run.seed)
                state = self.path(f"train-state/{run.name}.pt")
                data = (str(self.npz), str(self.provenance))
                train_job.run_job(train_job.TrainJob(run, initial, *data, self.train, outputs, state, PROFILE))
        return {"metrics": metrics}


def test_the_probes_write_the_kinds_of_data_the_registry_lays_out():
    for probe, family in ((gradient_probe, "gradients"), (activations, "activations")):
        assert targets.FAMILIES[family].data == probe.OUTPUTS


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("families"))


@pytest.mark.parametrize(("unit", "members"), targets.claim_units(), ids=[u for u, _ in targets.claim_units()])
def test_every_claims_unit_decides_and_every_figure_draws(workspace, unit, members, monkeypatch):
    monkeypatch.chdir(workspace.root)  # where a figure finds the table its claims job wrote (tables/<name>.parquet)
    family = members[0].family
    data = workspace.training_data(members[0]) if family == "training" else workspace.family_data(family)
    settings = targets.job_settings(members, workspace.p)
    made = [t for t in members if t.table and not t.table_rule]
    outputs = Namedlist(
        fromdict={
            "claims": workspace.path(f"claims/{unit}.parquet"),
            "markdown": [workspace.path(f"claims/{t.name}.claims.md") for t in members],
            "tables": [workspace.path(f"tables/{t.name}.md") for t in made],
            "table_parquets": [workspace.path(f"tables/{t.name}.parquet") for t in made],  # figure_data's path
        }
    )
    decision = decisions.decide(family, Namedlist(fromdict=data), settings, [t.name for t in members])
    checks = claims.write_decision(decision, outputs, PROFILE)
    assert set(checks["target"]) == {t.name for t in members}, unit
    assert set(checks["profile"]) == {PROFILE}
    for target in members:
        if not target.figure:
            continue
        shown = Namedlist(fromdict=target.figure_data(data))
        chart = figures.draw(target.name, shown, settings, checks.filter(target=target.name))
        assert chart.to_dict()["$schema"], target.name  # to_dict validates the spec against Vega-Lite's schema


@pytest.mark.parametrize("variant", BEYOND_THE_PAPER)
def test_every_init_probe_runs_for_a_network_beyond_the_paper(workspace, variant):
    """Moments, gradients (Table 1's statistics) and activations need nothing but the variant's params entry."""
    depth = workspace.p["model"]["depth"]
    moments_frame = parquet.read(workspace.moments(variant, depth))
    assert moments_frame["layer"].n_unique() == depth - 1 and moments_frame["value"].is_finite().all()
    for probe in (gradient_probe, activations):
        for kind, path in workspace.probe_outputs(probe, variant).items():
            frame = parquet.read(path)
            if (variant, kind) == ("none_skipinit", "summands"):
                # every block conv is in a branch that starts scaled by 0: no gradient reaches it, so Fig. 22's
                # layer has no parameter to show
                assert frame.height == 0
                continue
            assert frame.height > 0 and set(frame["variant"]) == {variant}, (probe.__name__, kind)


def test_the_softmax_probe_writes_the_gradient_probes_logits(workspace):
    """The normalizers target's light probe (one forward pass) gives Fig. 4's frame as the full gradient probe does."""
    variant, depth = workspace.p["probes"]["variants"][1], workspace.p["model"]["depth"]
    full = parquet.read(workspace.probe_outputs(gradient_probe, variant)["logits"])
    alone = parquet.read(workspace.logits(variant, depth))
    assert alone.columns == full.columns and alone.height == full.height > 0
    assert_frame_equal(alone, full, check_exact=False, rel_tol=1e-5, abs_tol=1e-7)
