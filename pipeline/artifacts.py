"""Reading artifacts that may be damaged: one line that names the file and says what to do, never a bare library
error, and a damaged resume state set aside rather than blocking its run.

Every artifact is written atomically (:mod:`pipeline.atomic`), so a damaged one was truncated or changed after it
was written (a full disk, a copy cut short, a hand edit, a bad pull). The readers of checkpoints, Parquet files,
resume states and the prepared data set go through :func:`reading`; :mod:`pipeline.verify` finds the damage that
still reads (a flipped byte) by the content hash recorded at write time.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

MADE = ("results/", "figures/", "tables/")  # where the workflow writes: the inputs whose loss makes an output stale
REBUILD = "delete it (or run `python -m pipeline.verify --set-aside`) and rerun: Snakemake rebuilds it"


class ArtifactError(RuntimeError):
    """An artifact that cannot be read; the message names the file and what to do."""


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


@contextlib.contextmanager
def reading(path: str | Path, kind: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Turn the library's ``errors`` raised while reading ``path`` (a ``kind``: checkpoint, Parquet file, ...) into
    one :class:`ArtifactError` line: the file, that it is truncated or corrupt, the library's first line, and how
    to rebuild it. A missing file says so."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: {kind} missing; rerun the Snakemake target that needs it to rebuild it")
    try:
        yield
    except errors as error:
        raise ArtifactError(f"{path}: unreadable {kind}, truncated or corrupt ({_reason(error)}); {REBUILD}") from error


def set_aside(path: Path, error: BaseException, what_next: str) -> Path:
    """Rename an unreadable file to ``<name>.unreadable`` (kept for inspection, out of every reader's way), print
    one line saying so and ``what_next``; returns the new path."""
    aside = path.with_name(path.name + ".unreadable")
    path.replace(aside)
    reason = _reason(error.__cause__ or error)
    print(f"{path}: unreadable, set aside as {aside.name} ({reason}); {what_next}", flush=True)
    return aside


def stale_outputs(metadata: Path = Path(".snakemake/metadata")) -> Iterator[tuple[str, str]]:
    """(output, missing input) for every existing output whose job, by Snakemake's own record of it, read a file
    the workflow made (under results/, figures/ or tables/) that no longer exists.

    Snakemake deletes the outputs of a job that fails, and a file can be deleted or set aside by hand, but it
    never rebuilds a missing file for an output that exists: that output would look current. Files outside the
    workflow's folders (a CIFAR-10 copy that moved, a code module) do not count: moving the data must not redo
    everything, and a code change has its own trigger."""
    if not metadata.is_dir():
        return
    for record in sorted(metadata.rglob("*")):
        if not record.is_file():
            continue
        name = "".join(record.relative_to(metadata).parts)  # Snakemake splits names over 255 characters
        try:
            output = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
            inputs = json.loads(record.read_text()).get("input") or []
        except (ValueError, UnicodeDecodeError, OSError):
            continue  # not a record of Snakemake's format: not ours to judge
        if not Path(output).is_file():
            continue
        missing = next((f for f in inputs if f.startswith(MADE) and not Path(f).exists()), None)
        if missing:
            yield output, missing
