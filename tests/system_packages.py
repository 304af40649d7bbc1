"""Debian packages some tests drive for real (Chromium, a SLURM cluster).

The test run installs them itself when they are missing, so the README's test command stays the whole set-up on a
fresh machine (these machines reach Debian's registry). Without root the test fails, naming the command to run;
it never skips. Two test runs on one machine (two checkouts, or a person beside CI) share its packages and its one
SLURM cluster, so both are taken under a machine-wide lock (:func:`machine_lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_updated = False


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Hold a lock shared by every process on this machine (a file lock in the temporary folder) until the block
    ends: a second test run waits here instead of colliding with the first."""
    with open(Path(tempfile.gettempdir()) / f"ubn-tests-{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def require(binary: str, packages: list[str]) -> str:
    """The path of ``binary``, installing ``packages`` with apt-get first if it is not on PATH."""
    global _updated
    found = shutil.which(binary)
    if found:
        return found
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        pytest.fail(f"{binary} not found; install it first: sudo {' '.join(command)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with machine_lock("apt"):
        if shutil.which(binary):  # another test run installed it while this one waited
            return shutil.which(binary)
        if not _updated:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
            _updated = True
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode or not shutil.which(binary):
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return shutil.which(binary)
