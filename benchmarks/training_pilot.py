"""Pilot: which reduced training scale lets the data, not the seed noise, decide each training claim?

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/training_pilot.py \\
        --scale depth=56,train_images=5000,test_images=2000,epoch_scale=0.06,max_epochs=12,seeds=0-2,slow_lr=0.003 \\
        --scale depth=56,... [--targets fig1 fig15 fig16 fig17] [--jobs 2 --threads 1] [--runs-dir results/pilot/...]

Each ``--scale`` overrides keys of the cpu profile's ``train`` section, and ``slow_lr`` the slow rate
(``training.slow_lr``; Tables 2 and 3 are trainability searches, whose horizons are chosen by their own pilot:
docs/training.md).
For every candidate the script expands the runs of the chosen targets exactly as the pipeline does
(:mod:`pipeline.train.runs`), trains them through the pipeline's own job (:func:`pipeline.train.job.run_job`,
``--jobs`` processes of ``--threads`` torch threads, longest first) and computes every claim with
:mod:`pipeline.analysis.training` and the cpu profile's rules. Finished runs are kept under
results/pilot/<images>/ and reused by later candidates that need the same run on the same data (a run's name
holds everything else), so a pilot can be stopped and resumed. ``--runs-dir`` reads and writes the runs in
another folder instead, e.g. results/cpu/train to score what the pipeline has built.

Prints, per candidate: the runs, the wall time of training them here (and the sum of the runs' own times, what a
fresh build costs on a quiet machine at this parallelism), then every claim with its value, its spread over the
seeds, the rule and the verdict (agrees, disagrees, or undecided: the value lies within two seed spreads of the
rule's threshold, so the seeds, not the data, would decide it). Writes the table to
results/benchmarks/training_pilot.parquet.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from types import SimpleNamespace

import polars as pl

from pipeline import checkpoints, claims, config, parquet
from pipeline import targets as registry
from pipeline.analysis import training
from pipeline.train import runs

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "results/data/cifar10.npz"
PROVENANCE = REPO / "results/data/cifar10.json"
OUT = REPO / "results/benchmarks/training_pilot.parquet"


def parse_scale(text: str) -> dict:
    """'depth=8,train_images=5000,seeds=0-2' -> the train overrides (seeds as a list)."""
    scale = {}
    for item in text.split(","):
        key, value = item.split("=")
        if key == "seeds":
            first, _, last = value.partition("-")
            scale[key] = list(range(int(first), int(last or first) + 1))
        else:
            scale[key] = None if value == "null" else float(value) if "." in value else int(value)
    return scale


def folder(params: dict) -> Path:
    """Where a candidate's runs live by default: one folder per (training images, test images)."""
    t = params["train"]
    return REPO / "results/pilot" / f"i{t['train_images']}-t{t['test_images']}"


def train_one(run_name: str, settings: dict, init: str, where: str, threads: int) -> tuple[str, float]:
    """Train one run in this worker process (its log beside its metrics); returns (name, wall seconds)."""
    import torch

    from pipeline.train.job import TrainJob, run_job

    torch.set_num_threads(threads)
    where = Path(where)
    start = time.perf_counter()
    with open(where / f"{run_name}.log", "a") as log, contextlib.redirect_stdout(log):
        outputs = {"metrics": str(where / f"{run_name}.parquet"), "weights": str(where / f"{run_name}.pt")}
        state = str(where / f"{run_name}.state.pt")
        run_job(TrainJob(runs.Run.parse(run_name), init, str(DATA), str(PROVENANCE), settings, outputs, state, "cpu"))
    return run_name, time.perf_counter() - start


def initial_checkpoint(run: runs.Run, params: dict) -> str:
    path = REPO / "results/pilot/init" / f"{run.variant}-d{run.depth}-s{run.seed}.pt"
    if not path.is_file():
        state = checkpoints.initial_state(
            run.variant, params["variants"][run.variant], params["model"], run.depth, run.seed
        )
        checkpoints.save(state, path)
    return str(path)


def train_all(
    params: dict, targets: list[str], where: Path, jobs: int, threads: int
) -> tuple[list[runs.Run], float, float]:
    """Train the runs of ``targets`` that are not in ``where`` yet; returns (runs, wall seconds here, summed run
    seconds)."""
    needed = list(dict.fromkeys(r for t in targets for r in runs.experiment_runs(registry.TARGETS[t].runs, params)))
    where.mkdir(parents=True, exist_ok=True)
    missing = [r for r in needed if not (where / f"{r.name}.parquet").is_file()]
    missing.sort(key=lambda r: -r.epochs * r.depth)  # longest first: the pool ends together
    settings = {**runs.run_recipe(params), **runs.Execution.from_params(params).train_settings()}
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        futures = [
            pool.submit(train_one, r.name, settings, initial_checkpoint(r, params), str(where), threads)
            for r in missing
        ]
        for done, future in enumerate(as_completed(futures), start=1):
            name, seconds = future.result()
            print(f"  [{done}/{len(missing)}] {name}: {seconds:.0f} s", flush=True)
    wall = time.perf_counter() - start
    metrics = parquet.read_all([str(where / f"{r.name}.parquet") for r in needed])
    run_seconds = metrics.filter(pl.col("metric") == "seconds")["value"].sum()
    return needed, wall, float(run_seconds)


def claims_of(params: dict, targets: list[str], where: Path) -> list[claims.Check]:
    """The claim checks of each target, decided as its claims job decides them (pipeline.analysis.training)."""
    checks = []
    for name in targets:
        entry = registry.TARGETS[name].runs
        data = SimpleNamespace(metrics=[str(where / f"{r.name}.parquet") for r in runs.experiment_runs(entry, params)])
        settings = registry.job_settings([registry.TARGETS[name]], params)
        checks += training.decide(data, settings, [name]).checks[name]
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", action="append", required=True, help="train overrides, e.g. depth=8,seeds=0-2")
    parser.add_argument("--targets", nargs="+", default=[t.name for t in registry.of_family("training")])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--runs-dir", type=Path, help="read and write the runs here (e.g. results/cpu/train)")
    args = parser.parse_args()
    rows = []
    for text in args.scale:
        scale = parse_scale(text)
        slow = {"slow_lr": scale.pop("slow_lr")} if "slow_lr" in scale else {}
        params = config.load(REPO / "params.yaml", {"profile": "cpu", "train": scale, "training": slow})
        print(f"scale {text}: training {', '.join(args.targets)}", flush=True)
        where = args.runs_dir.resolve() if args.runs_dir else folder(params)
        needed, wall, run_seconds = train_all(params, args.targets, where, args.jobs, args.threads)
        print(
            f"scale {text}: {len(needed)} runs, {sum(r.epochs for r in needed)} run-epochs; trained here in "
            f"{wall / 60:.1f} min; the runs' own times sum to {run_seconds / 60:.1f} min "
            f"({args.jobs} at once, {args.threads} thread(s) each)"
        )
        for c in claims_of(params, args.targets, where):
            spread = "" if c.spread is None else f" ± {c.spread:.3g}"
            print(f"  {c.target:7} {c.value:9.4g}{spread:10} {c.rule:24} {c.verdict:10} {c.claim}: {c.quantity}")
            rows.append(
                {
                    "scale": text,
                    "runs": len(needed),
                    "train_minutes": wall / 60,
                    "run_minutes": run_seconds / 60,
                    **{k: getattr(c, k) for k in ("target", "claim", "quantity", "value", "spread", "rule", "verdict")},
                }
            )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_parquet(OUT)
    print(f"table: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
