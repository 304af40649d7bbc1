"""Identical measurements give byte-identical claims, run after run.

Polars aggregates a group in parallel pieces whose order changes from one process to the next, so a plain
``group_by().agg(mean())`` over floats differs in its last bits between runs (the cpu build's Fig. 3, Fig. 18 and
stability numbers did). The analyses sort each group's values before summing; this test runs them in separate
processes and compares the bytes.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl

from tests.conftest import REPO

SCRIPT = """
import hashlib, sys
import polars as pl
from pipeline.analysis import channels, gradients, moments
frame = pl.read_parquet(sys.argv[1])
summary = moments.layer_summary(frame)
points = frame.rename({"channel": "in_channel", "value": "magnitude"}).with_columns(channel_mean=pl.col("param"))
rules = {"min_none_correlation": 0, "min_none_spread": 0, "max_bn_spread": 1}
fig18 = [check.value.hex() for check in channels.fig18_claims(points, "bn", "none", rules)]
bias = gradients.channel_summary(frame)
digest = hashlib.md5(summary.write_ipc(None).getvalue() + bias.write_ipc(None).getvalue())
print(digest.hexdigest(), *fig18)
"""


def test_aggregations_give_the_same_bits_in_every_process(tmp_path):
    rng = np.random.default_rng(0)
    n = 400_000  # large enough that polars splits groups across threads
    pl.DataFrame(
        {
            "variant": rng.choice(["bn", "none"], n),
            "layer": rng.integers(0, 110, n),
            "stat": rng.choice(["mean", "var"], n),
            "channel": rng.integers(0, 64, n),
            "param": rng.integers(0, 10, n),
            "value": rng.lognormal(0, 3, n),
        }
    ).write_parquet(tmp_path / "frame.parquet")
    runs = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "frame.parquet")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(4)
    }
    assert len(runs) == 1, runs
