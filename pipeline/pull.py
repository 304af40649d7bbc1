"""Take results from the DVC remote and make Snakemake trust them: ``python -m pipeline.pull [dvc pull options]``.

`dvc pull` restores files with the time of the pull, in no particular order, and a fresh clone has no Snakemake
metadata, so Snakemake would rerun every job whose input happens to look newer than its output. This command:

1. runs `dvc pull` (extra arguments go to it, e.g. ``-r <remote>``);
2. checks `dvc status`: every pulled stage must have been computed from the params, code and inputs of this
   checkout (dvc.lock records them). If one was not, it stops and names the stages: those results are not
   trusted, `dvc repro` (or Snakemake) recomputes them;
3. marks the pulled outputs up to date with `snakemake --touch --forceall` on the DVC stages' aggregate targets
   (each stage of dvc.yaml is named after the Snakemake rule it runs). Touching every job in DAG order gives
   consistent times and writes Snakemake's metadata (params, code, input checksums) for each, so a later change
   of one parameter reruns exactly the jobs that read it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml


class PullError(RuntimeError):
    """The pulled results cannot be trusted as they are (the message says why and what to do)."""


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise PullError(f"`{' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def locked_stages(lock_file: Path = Path("dvc.lock")) -> list[str]:
    """The stages dvc.lock records (the ones whose results a pull can restore)."""
    if not lock_file.is_file():
        raise PullError(f"{lock_file}: not found; nothing was ever pushed from this history (run `dvc repro`)")
    stages = (yaml.safe_load(lock_file.read_text()) or {}).get("stages")
    if not isinstance(stages, dict) or not stages:
        raise PullError(f"{lock_file}: key 'stages': no stage recorded")
    return list(stages)


def stale_stages(status: dict) -> list[str]:
    """Stages `dvc status --json` reports as changed (params, code, inputs or missing outputs)."""
    return sorted(name.split(":")[-1] for name, changes in status.items() if changes)


def pull(dvc_args: list[str]) -> list[str]:
    """Pull, check, mark; returns the Snakemake targets that were marked up to date."""
    bin_dir = Path(sys.executable).parent
    dvc = str(bin_dir / "dvc")
    _run([dvc, "pull", *dvc_args])
    stale = stale_stages(json.loads(_run([dvc, "status", "--json"]) or "{}"))
    if stale:
        raise PullError(
            f"dvc status: stage(s) {', '.join(stale)} differ from what this checkout would compute (params, code "
            "or inputs changed since they were pushed); not marking them up to date. Run `dvc repro`."
        )
    targets = locked_stages()
    _run([str(bin_dir / "snakemake"), "--cores", "1", "--touch", "--forceall", *targets])
    return targets


def main(argv: list[str]) -> int:
    try:
        targets = pull(argv)
    except PullError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"pulled and marked up to date: {', '.join(targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
