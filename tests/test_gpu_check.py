"""The GPU check's dry run on a CPU: every step works, with only what the GPU machine has installed (no polars),
and the summary has a row per number, each marked cpu."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import write_fake_cifar

from pipeline.checkout import copy_checkout

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import gpu_check  # a script of benchmarks/, importable once its folder is on the path


def test_the_step_limits_fit_the_eight_minute_budget():
    assert sum(gpu_check.STEPS.values()) <= 8 * 60


@pytest.mark.system
def test_the_dry_run_runs_every_step_without_polars_and_marks_its_rows_cpu(tmp_path):
    work = copy_checkout(tmp_path / "repo")
    cifar = write_fake_cifar(tmp_path / "data", images_per_batch=80)
    blocked = tmp_path / "blocked"  # the GPU machine has torch, numpy, pyarrow, PyYAML; not these
    for name in ("polars", "altair", "snakemake"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is not on the GPU machine')\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/gpu_check.py",
            str(out),
            "--device",
            "cpu",
            "--tiny",
            "--cifar10-root",
            str(cifar),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(blocked), "PYTHONUNBUFFERED": "1"},
        timeout=1800,
    )
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(out.glob("*.log")))
    assert done.returncode == 0, done.stdout + done.stderr + logs
    summary = pq.read_table(out / "summary.parquet").to_pylist()
    assert {r["step"] for r in summary} == set(gpu_check.STEPS)
    assert {r["status"] for r in summary} == {"ok"}, logs
    assert {r["device"] for r in summary} == {"cpu"} and all(r["tiny"] for r in summary)
    differences = [r["value"] for r in summary if "largest relative loss difference" in r["quantity"]]
    assert len(differences) == 4 and max(differences) < 1e-4  # bn and none, eager and compiled
    accuracy = [r for r in summary if r["step"] == "epochs" and "test accuracy" in r["quantity"]]
    assert len(accuracy) == 2 and all(0 <= r["value"] <= 1 for r in accuracy)
    assert (out / "summary.md").read_text().count("| ok |") == len(summary)
