"""Snakemake adapter: verify the cifar-10-batches-py layout and write the prepared data set + provenance."""

from pipeline import data
from pipeline.jobs import logged

with logged(snakemake):  # noqa: F821 (snakemake is injected by the script directive)
    record = data.prepare(snakemake.params.root, snakemake.output.npz, snakemake.output.provenance)  # noqa: F821
    print(f"{record['n_train']} train / {record['n_test']} test images, canonical: {record['canonical']}")
    print(f"per-channel mean {record['mean']}, std {record['std']}")
