"""Snakemake adapter: verify the cifar-10-batches-py layout and write the prepared data set + provenance."""

from pathlib import Path

from pipeline import cifar10
from pipeline.runtime import logged

sm = snakemake  # noqa: F821 (snakemake is injected by the script directive)
with logged(sm):
    record = cifar10.prepare(Path(sm.input.sources[0]).parent, sm.output.npz, sm.output.provenance)
    print(f"{record['n_train']} train / {record['n_test']} test images, canonical: {record['canonical']}")
    print(f"per-channel mean {record['mean']}, std {record['std']}")
