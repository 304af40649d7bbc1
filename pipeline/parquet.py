"""Long-format Parquet with a provenance record in the file's metadata.

Every measurement the pipeline writes is a Parquet table whose schema metadata holds, under the key
``ubn.provenance``, a JSON record of how it was made (profile, parameters, data md5s, code version). Figures
read only Parquet, and take their subtitle's provenance from there.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipeline.atomic import atomic_path

KEY = b"ubn.provenance"


def write(frame: pl.DataFrame, path: str | Path, provenance: dict) -> None:
    """Atomically write ``frame`` to ``path`` with ``provenance`` in the schema metadata."""
    table = frame.to_arrow()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), KEY: json.dumps(provenance)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def provenance(path: str | Path) -> dict:
    """The provenance record of a Parquet file written by :func:`write`."""
    metadata = pq.read_schema(path).metadata or {}
    if KEY not in metadata:
        raise ValueError(f"{path}: no '{KEY.decode()}' record in the Parquet metadata (not written by the pipeline?)")
    return json.loads(metadata[KEY])
