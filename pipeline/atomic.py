"""Atomic file writes: write beside the target under a temporary name, fsync, then rename.

A reader (or a resumed job) sees either the old file or the complete new one, never a half-written file, even
if the writer is killed with SIGKILL. Every artifact of the pipeline is written through :func:`atomic_path`.

Each write also records the file's content hash beside it, in ``.<name>.sha256`` (the ``sha256sum`` format, so
``sha256sum -c`` reads it too): damage that keeps the file readable and its timestamp (a flipped byte) is found
by comparing the two (:mod:`pipeline.verify`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def hash_record(target: str | Path) -> Path:
    """Where the content hash of ``target`` is recorded: ``.<name>.sha256`` in its folder."""
    target = Path(target)
    return target.with_name(f".{target.name}.sha256")


def file_hash(path: str | Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def record_hash(target: str | Path, content: str | Path | None = None) -> None:
    """Record the content hash of ``content`` (default: ``target`` itself) as ``target``'s, atomically; also for
    files that arrive whole from elsewhere (a DVC pull)."""
    record = hash_record(target)
    tmp = record.with_name(f"{record.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{file_hash(content or target)}  {Path(target).name}\n")
    _replace(tmp, record)


def _replace(tmp: Path, target: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success its content hash is recorded
    (:func:`hash_record`) and it is renamed onto ``target``.

    On an exception the temporary file is removed and ``target`` is left as it was. The record is written first:
    a writer killed between the two leaves a record that the old file does not match, which asks for a rebuild
    rather than hiding one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; artifacts get the permissions of a plain open()
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        record_hash(target, tmp_path)
        _replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove(target: str | Path) -> None:
    """Delete a file written by :func:`atomic_path` and its hash record (either may be absent)."""
    Path(target).unlink(missing_ok=True)
    hash_record(target).unlink(missing_ok=True)


def write_text(target: str | Path, text: str) -> None:
    """Atomically write a text file."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
