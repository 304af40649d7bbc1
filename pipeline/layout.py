"""Where every artifact of a build lives: each file pattern named once.

The rules use a pattern as it is, its ``{wildcards}`` open; the lists of what a target needs fill it in with
``.format``. ``{kind}`` names one of the several files a job writes (a probe's outputs, a single update's path and
moments); :func:`kinds` opens it into one pattern per kind, as a rule's named outputs.
"""

from __future__ import annotations

DATA_NPZ = "results/data/cifar10.npz"
DATA_PROVENANCE = "results/data/cifar10.json"
INIT_CHECKPOINT = "results/init/{variant}-d{depth}-s{seed}.pt"
MOMENTS = "results/{profile}/moments/{variant}-d{depth}-s{seed}.parquet"
GRADIENTS = "results/{profile}/gradients/{variant}-d{depth}-s{seed}.{kind}.parquet"
LOGITS = "results/{profile}/logits/{variant}-d{depth}-s{seed}.parquet"
ACTIVATIONS = "results/{profile}/activations/{variant}-d{depth}-s{seed}.{kind}.parquet"
RMT = "results/{profile}/rmt/{kind}.parquet"
UPDATE = "results/{profile}/updates/{variant}-d{depth}-lr{lr}-s{seed}.{kind}.parquet"
TRAIN_METRICS = "results/{profile}/train/{run}.parquet"
TRAIN_WEIGHTS = "results/{profile}/train/{run}.pt"
TRAIN_STATE = "results/{profile}/train-state/{run}.pt"  # not an output: Snakemake never deletes it
STABILITY_SEARCH = "results/{profile}/stability/{variant}-d{depth}-s{seed}.parquet"
TRAINABILITY_SEARCH = "results/{profile}/trainability/{variant}-d{depth}-s{seed}.parquet"
TRAINABILITY_STATE = "results/{profile}/trainability-state/{variant}-d{depth}-s{seed}.parquet"  # not an output
CLAIMS = "results/{profile}/claims/{unit}.parquet"


def kinds(pattern: str, names) -> dict[str, str]:
    """One pattern per kind (``{kind}`` filled in, the other wildcards left open): a rule's named outputs."""
    return {name: pattern.replace("{kind}", name) for name in names}
