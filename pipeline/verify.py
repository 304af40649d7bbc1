"""Find artifacts whose content changed after they were written: ``python -m pipeline.verify [--set-aside] [PATH...]``.

Every artifact records its content hash beside it when it is written (:func:`pipeline.atomic.hash_record`). A
change that keeps the file readable and its timestamp (a flipped byte, a copy over it) is invisible to Snakemake,
which compares times and its own metadata. This command hashes every recorded file under the given folders
(default: results, figures, tables) and lists those that no longer match. With ``--set-aside`` it renames each
to ``<name>.damaged`` (kept for inspection), so that the next ``snakemake`` run of any target that needs it
rebuilds it, and everything downstream of it. Files without a record (pulled from a DVC remote, or written
before records existed) are counted, not judged. A folder named that does not exist is an error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic import file_hash

FOLDERS = ("results", "figures", "tables")
SUFFIX = ".sha256"


@dataclass(frozen=True)
class Damage:
    """A file whose content differs from the hash recorded when it was written."""

    path: Path
    recorded: str
    found: str


def _records(folder: Path) -> Iterator[tuple[Path, Path]]:
    """(file, its hash record) for every record under ``folder`` whose file exists."""
    for record in sorted(folder.rglob(f".*{SUFFIX}")):
        target = record.with_name(record.name[1 : -len(SUFFIX)])
        if target.is_file():
            yield target, record


def damaged(folders: Iterable[Path]) -> tuple[list[Damage], int, int]:
    """The files under ``folders`` that no longer match their record (an empty or garbled record counts as a
    mismatch), how many were checked, and how many files have no record (pulled before records existed)."""
    found, checked, unrecorded = [], 0, 0
    for folder in folders:
        records = dict(_records(folder))
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path not in records:
                unrecorded += 1
        for path, record in records.items():
            checked += 1
            digest, now = (record.read_text().split() or ["(empty)"])[0], file_hash(path)
            if now != digest:
                found.append(Damage(path, digest, now))
    return found, checked, unrecorded


def main(argv: list[str]) -> int:
    parsed = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parsed.add_argument("folders", nargs="*", default=list(FOLDERS), help="folders to check (default: %(default)s)")
    parsed.add_argument("--set-aside", action="store_true", help="rename each damaged file to <name>.damaged")
    args = parsed.parse_args(argv)
    folders = [Path(f) for f in args.folders]
    if args.folders != list(FOLDERS) and not all(f.is_dir() for f in folders):
        parsed.error(f"not a folder: {next(f for f in folders if not f.is_dir())}")
    found, checked, unrecorded = damaged(f for f in folders if f.is_dir())
    for damage in found:
        if args.set_aside:
            damage.path.replace(damage.path.with_name(damage.path.name + ".damaged"))
        print(
            f"{damage.path}: content changed since it was written (sha256 {damage.recorded[:12]} recorded, "
            f"{damage.found[:12]} now)" + ("; set aside as " + damage.path.name + ".damaged" if args.set_aside else "")
        )
    print(
        f"checked {checked} files under {', '.join(args.folders)}: {len(found)} damaged; {unrecorded} other files "
        "have no record (pulled, or written before records existed) and were not checked"
    )
    if found and not args.set_aside:
        print("rerun with --set-aside to move them out of the way, then rerun snakemake: it rebuilds them")
        return 1
    if found:
        print("rerun snakemake for your target: it rebuilds the files set aside and everything made from them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
