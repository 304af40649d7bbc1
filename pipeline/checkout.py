"""A working copy of this checkout in another folder: the files git knows (tracked, and untracked but not ignored),
as they are now, committed or not. Tests and benchmarks build the DAG there, away from the user's results."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def copy_checkout(dest: Path, repo: Path = REPO) -> Path:
    """Copy the files git lists in ``repo`` (tracked and untracked-not-ignored) to ``dest``; returns ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (repo / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, dest / name)
    return dest
