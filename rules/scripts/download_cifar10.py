"""Snakemake adapter: download and verify the canonical CIFAR-10 (needs internet)."""

from pathlib import Path

from pipeline.download import download
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    print(download(Path(sm.output[0]).parent.parent))  # outputs are DEST/cifar-10-batches-py/*
