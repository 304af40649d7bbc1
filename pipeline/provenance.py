"""The provenance record every artifact carries: profile, parameters, data set identity, code version."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipeline import cifar10

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def code_version() -> str:
    """The git commit of the code (with ``-dirty`` if it has uncommitted changes), or ``unknown`` outside git."""
    try:
        commit = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "pipeline", "rules", "Snakefile")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def record(profile: str, params: dict, data: dict | None = None) -> dict:
    """A provenance record: what was computed with which parameters, on which data, by which code."""
    rec = {"profile": profile, "params": params, "code_version": code_version()}
    if data is not None:
        rec["data"] = {k: data[k] for k in ("source", "md5", "canonical", "noncanonical_files")}
        rec["data"]["digest"] = cifar10.digest(data["md5"])
    return rec
