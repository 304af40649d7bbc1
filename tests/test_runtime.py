"""The job runtime: whole-line, flushed progress in every job's log, readable while the job runs."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import runtime
from pipeline.checkout import copy_checkout

BIN = Path(sys.executable).parent


def test_progress_writes_whole_lines_with_count_rate_and_estimate(monkeypatch):
    monkeypatch.setenv(runtime.INTERVAL_VARIABLE, "0")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert list(runtime.progress(range(4), 4, "items")) == [0, 1, 2, 3]
    text = out.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert lines[0].startswith("items: 0/4 [") and lines[-1].startswith("items: 4/4 [")
    assert all(re.fullmatch(r"items: \d/4 \[\d\d:\d\d<[\d:?]+, .*(it/s|s/it)\]", line) for line in lines), lines


@pytest.mark.workflow
def test_a_job_log_shows_progress_while_the_job_runs(tmp_path):
    """A real Snakemake job (the smoke RMT spectra, enlarged so it runs a few seconds) with a 0.1 s interval:
    its log has the start line and progress lines before the job ends."""
    work = copy_checkout(tmp_path / "repo")
    log = work / "logs/smoke/rmt_spectra.log"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", runtime.INTERVAL_VARIABLE: "0.1"}
    args = [str(BIN / "snakemake"), "--cores", "1", "results/smoke/rmt/spectra.parquet"]
    job = subprocess.Popen(
        [*args, "--config", "profile=smoke", "rmt={n: 400, runs: 12}"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen = ""
    try:
        deadline = time.monotonic() + 300
        while job.poll() is None and time.monotonic() < deadline:
            seen = log.read_text() if log.is_file() else ""
            if re.search(r"spectra runs: ([1-9]|1[01])/12 \[", seen):
                break
            time.sleep(0.05)
        running = job.poll() is None
    finally:
        job.wait(timeout=300)
    assert running, f"the job ended before its log showed progress:\n{seen}"
    assert seen.startswith("[rmt_spectra] start, 1 threads")
    assert job.returncode == 0 and "spectra runs: 12/12" in log.read_text()
