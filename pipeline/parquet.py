"""Long-format Parquet with a provenance record in the file's metadata.

Every measurement the pipeline writes is a Parquet table whose schema metadata holds, under the key
``ubn.provenance``, a JSON record of how it was made (profile, parameters, data md5s, code version). Figures
read only Parquet, and take their subtitle's provenance from there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.artifacts import reading
from pipeline.atomic import atomic_path

KEY = b"ubn.provenance"
# What polars and pyarrow raise on a truncated or altered file ("File out of specification", a bad footer).
READ_ERRORS = (OSError, ValueError, pa.ArrowException, pl.exceptions.PolarsError)


def write(frame: pl.DataFrame, path: str | Path, provenance: dict) -> None:
    """Atomically write ``frame`` to ``path`` with ``provenance`` in the schema metadata."""
    table = frame.to_arrow()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), KEY: json.dumps(provenance)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read(path: str | Path) -> pl.DataFrame:
    """The rows of one Parquet file; a damaged file is one line naming it (an ``ArtifactError``)."""
    with reading(path, "Parquet file", READ_ERRORS):
        return pl.read_parquet(path)


def read_all(paths: Iterable[str | Path]) -> pl.DataFrame:
    """The rows of several Parquet files of one schema (e.g. one per variant), in the given order."""
    return pl.concat([read(p) for p in paths], how="vertical")


def _data_identity(record: dict) -> dict | None:
    """Which data a record was computed from: its source and md5s (the digest and the list of non-canonical
    files are functions of them, and records written before the digest existed do not carry it)."""
    data = record.get("data")
    return None if data is None else {k: data.get(k) for k in ("source", "md5", "canonical")}


def combined_provenance(paths: Iterable[str | Path], varying: tuple[str, ...] = ("variant",)) -> dict:
    """One provenance record for files that differ only in the ``varying`` parameters (a figure comparing bn and
    none varies "variant"; a training figure varies the run, its seed and maybe the device).

    The first file's record, with each varying key ``k`` replaced by ``k + "s"``: the distinct values in order of
    first appearance. A file made with other parameters or data is an error (a stale input that should be rerun).
    """
    paths = list(paths)
    records = [provenance(p) for p in paths]
    shared = [{k: v for k, v in r["params"].items() if k not in varying} for r in records]
    data = [_data_identity(r) for r in records]
    if any(s != shared[0] for s in shared) or any(d != data[0] for d in data):
        raise ValueError(f"{paths}: made with different parameters or data; rerun them")
    collected = {
        f"{k}s": list({json.dumps(r["params"][k], sort_keys=True): r["params"][k] for r in records}.values())
        for k in varying
    }
    return {**records[0], "params": {**shared[0], **collected}}


def provenance(path: str | Path) -> dict:
    """The provenance record of a Parquet file written by :func:`write`."""
    with reading(path, "Parquet file", READ_ERRORS):
        metadata = pq.read_schema(path).metadata or {}
    if KEY not in metadata:
        raise ValueError(f"{path}: no '{KEY.decode()}' record in the Parquet metadata (not written by the pipeline?)")
    return json.loads(metadata[KEY])
