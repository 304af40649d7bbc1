"""Benchmark: training runs per hour on this machine's cores, through Snakemake as a user runs them.

    uv run --locked python benchmarks/train_throughput.py [--target fig17] [--runs 4] [--repeats 2] [--cores 2]
        [--modes threads2 threads1 compile2 compile1] [--config cifar10_root=../shared/cifar10]

Builds, in a temporary copy of the checkout (the files git knows), the first ``--runs`` training runs of one
target at the active profile (cpu: its reduced scale), once per mode and repeat, each from nothing (the data set
and the initial checkpoints are made first and not timed):

- ``threads2``: every run a 2-thread job, one at a time on 2 cores (``--set-threads train_run=2``);
- ``threads1``: 1-thread jobs, two at once (``--set-threads train_run=1``);
- ``compile2`` / ``compile1``: the same with ``train.speed.compile: default`` (torch.compile, inductor).

The modes alternate within each repeat (A B C D A B C D ...), so a slow spell of a shared machine hits them
alike. Prints every build, then per mode the median wall time, runs per hour and the ratio to the first mode
(threads2 by default: one 2-thread run at a time); writes the builds to results/benchmarks/train_throughput.parquet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pipeline import config
from pipeline import targets as registry
from pipeline.checkout import copy_checkout
from pipeline.train import runs

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results/benchmarks/train_throughput.parquet"
COMPILE = ["train={speed: {compile: default}}"]
MODES = {
    "threads2": (["--set-threads", "train_run=2"], []),
    "threads1": (["--set-threads", "train_run=1"], []),
    "compile2": (["--set-threads", "train_run=2"], COMPILE),
    "compile1": (["--set-threads", "train_run=1"], COMPILE),
}


def snakemake(work: Path, cores: int, targets: list[str], args: list[str], config_items: list[str]) -> float:
    """Run Snakemake in ``work``; returns the wall seconds (an error stops the benchmark with its log tail)."""
    command = [str(Path(sys.executable).parent / "snakemake"), "--cores", str(cores), *targets, *args]
    if config_items:
        command += ["--config", *config_items]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="fig17", choices=[t.name for t in registry.of_family("training")])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--config", nargs="*", default=[], help="Snakemake --config items, e.g. cifar10_root=...")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.config)
    params = config.load(REPO / "params.yaml", overrides)
    chosen = runs.experiment_runs(registry.TARGETS[args.target].runs, params)[: args.runs]
    targets = [f"results/{params['profile']}/train/{r.name}.parquet" for r in chosen]
    setup = [f"results/init/{r.variant}-d{r.depth}-s{r.seed}.pt" for r in chosen] + ["results/data/cifar10.npz"]
    print(
        f"{len(chosen)} runs of {args.target} at profile {params['profile']}, "
        f"{args.cores} cores ({os.cpu_count()} on this machine):"
    )
    for r in chosen:
        print(f"  {r.name}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_checkout(Path(tmp) / "repo")
        snakemake(work, args.cores, sorted(set(setup)), [], args.config)
        for repeat in range(args.repeats):
            for mode in args.modes:
                extra, items = MODES[mode]
                for folder in ("train", "train-state"):
                    shutil.rmtree(work / "results" / params["profile"] / folder, ignore_errors=True)
                seconds = snakemake(work, args.cores, targets, extra, args.config + items)
                rows.append({"repeat": repeat, "mode": mode, "runs": len(chosen), "seconds": seconds})
                print(f"repeat {repeat} {mode:9} {seconds:7.1f} s", flush=True)
    table = pl.DataFrame(rows)
    summary = table.group_by("mode", maintain_order=True).agg(pl.col("seconds").median())
    summary = summary.with_columns(runs_per_hour=len(chosen) * 3600 / pl.col("seconds"))
    base = summary.filter(pl.col("mode") == args.modes[0])["runs_per_hour"][0]
    for row in summary.iter_rows(named=True):
        print(
            f"{row['mode']:9} median {row['seconds']:7.1f} s  {row['runs_per_hour']:6.1f} runs/hour  "
            f"{row['runs_per_hour'] / base:.2f}x {args.modes[0]}"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(OUT)
    print(f"table: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
