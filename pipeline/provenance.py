"""The provenance record every artifact carries: profile, parameters, data set identity, code version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl

from pipeline import cifar10, parquet

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


def write_checkpoint_measurement(
    frame: pl.DataFrame, path: str | Path, profile: str, settings: dict, state: dict, data_provenance: str | Path
) -> None:
    """Write a measurement of one initial checkpoint (a probe, a single update, a stability search): ``frame`` with
    the checkpoint's identity columns (variant, depth, seed), and a provenance record of the settings, that
    identity and the prepared data the job read."""
    identity = {"variant": state["variant_name"], "depth": state["depth"], "seed": state["seed"]}
    data = cifar10.load_provenance(data_provenance)
    parquet.write(
        frame.with_columns(**{k: pl.lit(v) for k, v in identity.items()}),
        path,
        record(profile, {**settings, **identity}, data),
    )
