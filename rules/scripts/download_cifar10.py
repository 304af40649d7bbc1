"""Snakemake adapter: download and verify the canonical CIFAR-10 (needs internet)."""

from pipeline import data
from pipeline.jobs import logged

with logged(snakemake):  # noqa: F821 (snakemake is injected by the script directive)
    print(data.download(snakemake.params.dest))  # noqa: F821
