"""What every Snakemake script adapter needs: its log file, its thread count, and readable progress.

Progress goes to the job's log as one line at a time (at most every 10% or every 30 s), so it reads the same in
a terminal, a log file and a SLURM output file; carriage-return progress bars do not.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import torch


@contextlib.contextmanager
def logged(snakemake: Any) -> Iterator[None]:
    """Send stdout and stderr to the job's ``log:`` file and use the job's ``threads`` for torch."""
    torch.set_num_threads(max(1, int(snakemake.threads)))
    with open(snakemake.log[0], "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        start = time.perf_counter()
        print(f"[{snakemake.rule}] start, {torch.get_num_threads()} threads, outputs {list(snakemake.output)}")
        try:
            yield
        except Exception as error:
            # The traceback goes to the log; the one-line reason also to the terminal running Snakemake.
            print(f"error in rule {snakemake.rule}: {type(error).__name__}: {error}", file=sys.__stderr__, flush=True)
            raise
        print(f"[{snakemake.rule}] done in {time.perf_counter() - start:.1f} s")


def progress(items: Iterable, total: int, what: str) -> Iterator:
    """Yield ``items``, printing 'what: i/total, elapsed, estimated time left' lines to stdout."""
    start = last = time.perf_counter()
    for i, item in enumerate(items, start=1):
        yield item
        now = time.perf_counter()
        if i == total or now - last > 30 or i % max(1, total // 10) == 0:
            left = (now - start) / i * (total - i)
            print(f"{what}: {i}/{total}, {now - start:.1f} s elapsed, ~{left:.1f} s left", flush=True)
            last = now
