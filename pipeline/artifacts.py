"""Reading artifacts that may be damaged: one line that names the file and says what to do, never a bare library
error, and a damaged resume state set aside rather than blocking its run.

Every artifact is written atomically (:mod:`pipeline.atomic`), so a damaged one was truncated or changed after it
was written (a full disk, a copy cut short, a hand edit, a bad pull). The readers of checkpoints, Parquet files,
resume states and the prepared data set go through :func:`reading`; :mod:`pipeline.verify` finds the damage that
still reads (a flipped byte) by the content hash recorded at write time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

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
