"""Take results from the DVC remote without losing local work, and make Snakemake trust them:
``python -m pipeline.pull [dvc fetch options]``.

`dvc pull --force` replaces every output that differs from dvc.lock with the locked version and deletes the files
of an output folder that the lock does not list, whether or not the DVC cache holds them: results built locally
by Snakemake are lost. And `dvc pull` reports a missing lock file, a missing remote folder or an incomplete remote
as "Everything is up to date" among many warnings. This command:

1. names a missing `dvc.lock` and a missing remote folder, each in one line, before DVC runs;
2. fetches into the DVC cache only (`dvc fetch`, extra arguments go to it, e.g. ``-r <remote>``): the workspace
   is not touched yet. If the cache then lacks an object the lock names, the remote is incomplete: one line says
   how many and stops;
3. says what it will do: the outputs the lock names, how many exist locally, which differ from the lock;
4. refuses, naming them, when a local file that differs from the lock (or that the lock does not list, inside
   an output folder) is not held by the cache: restoring would destroy it. Nothing is changed;
5. checks out the locked outputs, then checks `dvc status`: every pulled stage must have been computed from the
   params, code and inputs of this checkout. If one was not, it stops and names the stages;
6. marks the pulled outputs up to date with `snakemake --touch --forceall` on the DVC stages' aggregate targets
   (each stage of dvc.yaml is named after the Snakemake rule it runs). Touching every job in DAG order gives
   consistent times and writes Snakemake's metadata (params, code, input checksums) for each, so a later change
   of one parameter reruns exactly the jobs that read it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from dvc.exceptions import DvcException
from dvc.repo import Repo

from pipeline.atomic import file_hash, record_hash

SHOWN = 8  # files named in a refusal; the count says how many more


class PullError(RuntimeError):
    """The pulled results cannot be trusted as they are (the message says why and what to do)."""


def _last_line(done: subprocess.CompletedProcess) -> str:
    return ((done.stderr or done.stdout).strip().splitlines() or ["no message"])[-1]


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise PullError(f"`{Path(args[0]).name} {' '.join(args[1:])}` failed: {_last_line(done)}")
    return done.stdout


def locked_stages(lock_file: Path = Path("dvc.lock")) -> list[str]:
    """The stages dvc.lock records (the ones whose results a pull can restore)."""
    if not lock_file.is_file():
        raise PullError(f"{lock_file}: not found; nothing was ever pushed from this history (run `dvc repro`)")
    try:
        stages = (yaml.safe_load(lock_file.read_text()) or {}).get("stages")
    except (OSError, yaml.YAMLError, AttributeError) as error:
        reason = type(error).__name__
        raise PullError(f"{lock_file}: not a readable lock file ({reason}); restore it with git") from error
    if not isinstance(stages, dict) or not stages:
        raise PullError(f"{lock_file}: key 'stages': no stage recorded")
    return list(stages)


def locked_outputs(lock_file: Path = Path("dvc.lock")) -> dict[str, str]:
    """Every output dvc.lock records, with its md5 (``<md5>.dir`` for a folder)."""
    stages = yaml.safe_load(lock_file.read_text())["stages"]
    return {out["path"]: out["md5"] for stage in stages.values() for out in stage.get("outs", [])}


def cached(md5: str, cache: Path) -> bool:
    return (cache / md5[:2] / md5[2:]).is_file()


def missing_objects(outputs: dict[str, str], cache: Path) -> list[str]:
    """The outputs (or files inside an output folder) whose locked content the cache does not hold."""
    missing = []
    for path, md5 in outputs.items():
        if not cached(md5, cache):
            missing.append(path)
        elif md5.endswith(".dir"):
            listing = json.loads((cache / md5[:2] / md5[2:]).read_text())
            missing += [f"{path}/{entry['relpath']}" for entry in listing if not cached(entry["md5"], cache)]
    return missing


@dataclass(frozen=True)
class Plan:
    """What restoring the locked outputs would do to the workspace."""

    outputs: list[str]  # every output the lock names
    present: list[str]  # those that exist locally
    differing: list[str]  # files that differ from the lock, or that an output folder holds beyond it
    unsaved: list[str]  # ... of which the cache does not hold the local content: restoring would destroy them

    def summary(self) -> str:
        absent = [o for o in self.outputs if o not in self.present]
        named = f" ({', '.join(absent[:SHOWN])}{' ...' if len(absent) > SHOWN else ''})" if absent else ""
        return (
            f"dvc.lock names {len(self.outputs)} outputs; {len(self.present)} exist here, {len(absent)} will be "
            f"restored{named}; {len(self.differing)} local files differ from the lock ({len(self.unsaved)} of them "
            "not in the DVC cache; the others are replaced by the locked version)"
        )


def plan(outputs: dict[str, str], data_status: dict, cache: Path) -> Plan:
    """The plan from the lock's outputs and `dvc data status --granular --json` (its "uncommitted" files are the
    local ones that differ from the lock: modified, or added inside an output folder)."""
    uncommitted = data_status.get("uncommitted", {})
    differing = sorted(f for kind in ("modified", "added") for f in uncommitted.get(kind, []) if not f.endswith("/"))
    unsaved = [f for f in differing if Path(f).is_file() and not cached(file_hash(f, "md5"), cache)]
    return Plan(list(outputs), [o for o in outputs if Path(o).exists()], differing, unsaved)


def refusal(unsaved: list[str]) -> str:
    """One line naming the local files a pull would destroy, and the safe choices."""
    named = ", ".join(unsaved[:SHOWN]) + (f" and {len(unsaved) - SHOWN} more" if len(unsaved) > SHOWN else "")
    return (
        f"refused: restoring the locked outputs would overwrite or delete {len(unsaved)} local file(s) that the "
        f"DVC cache does not hold: {named}. Nothing was changed. To pull anyway, move them out of the way first "
        "(e.g. `mv results results.local`); to go on with them, do not pull. `dvc pull --force` would destroy them"
    )


@dataclass(frozen=True)
class Storage:
    """Where a fetch with some arguments reads (DVC's own resolution of -r, the default remote and relative urls)
    and where the DVC cache of this checkout lies."""

    remote: str
    url: str
    local: bool  # the remote is a folder on this machine
    cache: Path
    uncached: frozenset[str]  # outputs DVC neither caches nor pushes (cache: false: the git-tracked metrics)

    @classmethod
    def of(cls, dvc_args: list[str]) -> Storage:
        named = [dvc_args[i + 1] for i, a in enumerate(dvc_args[:-1]) if a in ("-r", "--remote")]
        named += [a.split("=", 1)[1] for a in dvc_args if a.startswith("--remote=")]
        try:
            repo = Repo(".")
            remote = repo.cloud.get_remote(named[-1] if named else None)
        except DvcException as error:
            raise PullError(f"no remote to pull from: {error} (`dvc remote list` names the configured ones)") from error
        uncached = frozenset(str(out.def_path) for out in repo.index.outs if not out.use_cache)
        return cls(remote.name, remote.path, remote.fs.protocol == "local", Path(repo.cache.local.path), uncached)


def restored_files(outputs: dict[str, str]) -> list[Path]:
    """The files of the locked outputs as they are now (an output folder's files, without hash records)."""
    files = []
    for output in map(Path, outputs):
        if output.is_dir():
            files += [f for f in sorted(output.rglob("*")) if f.is_file() and not f.name.startswith(".")]
        elif output.is_file():
            files.append(output)
    return files


def stale_stages(status: dict) -> list[str]:
    """Stages `dvc status --json` reports as changed (params, code, inputs or missing outputs)."""
    return sorted(name.split(":")[-1] for name, changes in status.items() if changes)


def pull(dvc_args: list[str]) -> list[str]:
    """Check, fetch, plan, restore, check, mark; returns the Snakemake targets that were marked up to date."""
    bin_dir = Path(sys.executable).parent
    dvc = str(bin_dir / "dvc")
    targets = locked_stages()
    storage = Storage.of(dvc_args)
    name, url = storage.remote, storage.url
    if storage.local and not Path(url).is_dir():
        raise PullError(
            f"remote '{name}': folder {url} does not exist; nothing was ever pushed there, or the remote points "
            f"elsewhere (`dvc remote list`; `dvc remote modify --local {name} url PATH`)"
        )
    print(f"fetching into the DVC cache from remote '{name}' ({url}); the workspace is not touched yet", flush=True)
    fetched = subprocess.run([dvc, "fetch", *dvc_args], capture_output=True, text=True)
    outputs = {path: md5 for path, md5 in locked_outputs().items() if path not in storage.uncached}
    missing = missing_objects(outputs, storage.cache)
    if fetched.returncode and not any(cached(md5, storage.cache) for md5 in outputs.values()):
        raise PullError(  # nothing came: the remote could not be read at all
            f"remote '{name}' ({url}) cannot be read: `dvc fetch` says: {_last_line(fetched)}. Nothing was changed"
        )
    if missing:
        raise PullError(
            f"remote '{name}' is incomplete: {len(missing)} locked file(s) are neither there nor in the cache "
            f"({', '.join(missing[:SHOWN])}{' ...' if len(missing) > SHOWN else ''}); whoever ran `dvc repro` must "
            "`dvc push`. Nothing was changed"
        )
    what = plan(outputs, json.loads(_run([dvc, "data", "status", "--granular", "--json"]) or "{}"), storage.cache)
    print(what.summary(), flush=True)
    if what.unsaved:
        raise PullError(refusal(what.unsaved))
    # Every differing file is held by the cache (a checkout can bring it back): replacing it loses nothing.
    _run([dvc, "checkout", *(["--force"] if what.differing else [])])
    for path in restored_files(outputs):  # the records of write time now describe the locked content
        record_hash(path)
    stale = stale_stages(json.loads(_run([dvc, "status", "--json"]) or "{}"))
    if stale:
        raise PullError(
            f"dvc status: stage(s) {', '.join(stale)} differ from what this checkout would compute (params, code "
            "or inputs changed since they were pushed); not marking them up to date. Run `dvc repro`."
        )
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
