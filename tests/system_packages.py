"""Debian packages some tests drive for real (Chromium, a SLURM cluster).

The test run installs them itself when they are missing, so the README's test command stays the whole set-up on a
fresh machine (these machines reach Debian's registry). Without root the test fails, naming the command to run;
it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

_updated = False


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
    if not _updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        _updated = True
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode or not shutil.which(binary):
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return shutil.which(binary)
