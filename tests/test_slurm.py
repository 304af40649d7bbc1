"""The slurm profile against a real single-node SLURM cluster brought up on this machine.

profiles/slurm/local-cluster.sh installs Debian's SLURM, munge and MariaDB if they are missing and starts the
daemons (loopback only); a slice of the smoke DAG then runs with `--workflow-profile profiles/slurm`, so every
job goes through sbatch and its state through sacct. The fixture stops the daemons afterwards.

The slice has every kind of job (data, init checkpoints, a probe, a training run, the single updates, claims,
figures) in about 15 jobs: on 2 cores each SLURM job costs ~15 s of start-up, so the whole smoke DAG (~80 jobs,
10 minutes) is run by hand, not in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
import yaml

from pipeline.checkout import copy_checkout
from tests.conftest import BIN, ENV, REPO, write_fake_cifar
from tests.system_packages import machine_lock

pytestmark = pytest.mark.system

CLUSTER = REPO / "profiles/slurm/local-cluster.sh"
PROFILE = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
# Test-cluster settings: its account, small jobs, the 2 cores it has, and fast status polling (the default waits
# 40 s before the first check). --set-resources on the command line replaces the profile's list, so the profile's
# own per-rule resources are passed again (its gpu lines are what the test checks), with memory and run time
# shrunk to what the one-node test cluster has.
SMALL = {"mem_mb": 1000, "runtime": 30}
LOCAL = [
    "--default-resources",
    "slurm_account=ubn",
    *(f"{name}={value}" for name, value in SMALL.items()),
    "--set-resources",
    *(
        f"{rule}:{name}={SMALL.get(name, value)}"
        for rule, resources in PROFILE["set-resources"].items()
        for name, value in resources.items()
    ),
    "--max-threads",
    "2",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail(f"{CLUSTER} needs root (it installs Debian packages and writes /etc/slurm)")
    state = tmp_path_factory.mktemp("slurm-state")
    env = {**os.environ, "UBN_SLURM_STATE": str(state)}
    with machine_lock("slurm"):  # one cluster per machine: a second test run waits for the first to stop it
        with machine_lock("apt"):  # starting may install packages
            subprocess.run([str(CLUSTER), "start"], check=True, env=env, timeout=600)
        try:
            yield state
        finally:
            subprocess.run([str(CLUSTER), "stop"], check=True, env=env, timeout=120)


def _sacct(job_ids: list[str], since: str) -> dict[str, tuple[str, str, str]]:
    """job id -> (name, state, allocated TRES) of allocations (not steps) since ``since`` (ids restart when the
    cluster's state is new, while the accounting database keeps older jobs)."""
    listed = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-S", since, "-j", ",".join(job_ids), "-o", "JobID,JobName,State,AllocTRES"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row.split("|")[0]: tuple(row.split("|")[1:]) for row in listed.splitlines() if row}


def _snakemake_slurm(work, targets: list[str], config: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), "--workflow-profile", "profiles/slurm", *LOCAL, *targets, "--config", *config],
        cwd=work,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=1500,
    )


SLICE = ["figures/fig3.svg", "figures/fig5.svg", "results/smoke/train/bn-d8-lr0.1-e1-s0-cold.parquet"]


def test_smoke_jobs_run_through_sbatch_and_only_gpu_rules_hold_a_gpu(cluster, tmp_path):
    work = copy_checkout(tmp_path / "repo")
    cifar = write_fake_cifar(tmp_path / "data", images_per_batch=40)
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    done = _snakemake_slurm(work, SLICE, ["profile=smoke", f"cifar10_root={cifar}"])
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert all((work / target).is_file() for target in SLICE)
    submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", log))
    assert len(submitted) >= 12 and len(set(submitted.values())) >= 10, log[-3000:]
    accounted = _sacct(list(submitted), since)
    assert set(accounted) == set(submitted)
    assert {state for _, state, _ in accounted.values()} == {"COMPLETED"}
    gpus = {rule for job, rule in submitted.items() if "gres/gpu=1" in accounted[job][2]}
    assert gpus == {"train_run", "diverging_update", "batch_landscape"}  # exactly the jobs that declare a GPU
    # A job that fails on its node is FAILED in sacct and fails the workflow (asking for CUDA where there is none).
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    run = "results/smoke/train/bn-d8-lr0.003-e1-s0-cold.parquet"
    failed = _snakemake_slurm(work, [run], ["profile=smoke", f"cifar10_root={cifar}", "train={device: cuda}"])
    log = failed.stdout + failed.stderr
    assert failed.returncode == 1 and "torch sees no GPU" in log
    (job,) = re.findall(r"submitted with SLURM jobid (\d+)", log)
    assert _sacct([job], since)[job][1] == "FAILED"
