"""Benchmark: time and peak memory of each initialization probe family, at the cpu profile's settings.

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/init_probes.py

Each (probe, variant) runs in a fresh Python process so that its peak resident memory is its own; the process
builds the seeded initial checkpoint, probes it with the cpu profile's parameters (ResNet-110, batch 128, real
mini-batches) and reports seconds (probe only) and peak RSS.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "results/data"
FAMILIES = ("moments", "gradients", "activations")


def one(family: str, variant: str) -> dict:
    """Run one probe in this process; return its seconds and this process's peak RSS in MB."""
    import torch

    from pipeline import checkpoints, config
    from pipeline.probes import activations, gradients, moments
    from pipeline.probes.job import ProbeJob

    torch.set_num_threads(2)
    p = config.load(REPO / "params.yaml", {"profile": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp, "init.pt")
        checkpoints.save(
            checkpoints.initial_state(
                variant, p["variants"][variant], p["model"], p["model"]["depth"], p["probes"]["seed"]
            ),
            ckpt,
        )
        probe = {"moments": moments, "gradients": gradients, "activations": activations}[family]
        kinds = ("moments",) if family == "moments" else probe.OUTPUTS
        job = ProbeJob(
            str(ckpt),
            str(DATA / "cifar10.npz"),
            str(DATA / "cifar10.json"),
            p["probes"],
            p["contradictions"]["stem_is_layer_1"],
            {k: str(Path(tmp, f"{k}.parquet")) for k in kinds},
            "cpu",
        )
        start = time.perf_counter()
        probe.run(job)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], sys.argv[3])))
        return
    if not (DATA / "cifar10.npz").is_file():
        sys.exit(f"{DATA / 'cifar10.npz'}: missing; make it first: snakemake --cores all prepared_data")
    print("Initialization probes, cpu profile (ResNet-110, batch 128), 2 threads, one process each")
    print(f"  {'probe':<10} {'variant':<8} {'seconds':>8} {'peak MB':>8}")
    total = 0.0
    for family in FAMILIES:
        for variant in ("bn", "none"):
            out = (
                subprocess.run(
                    [sys.executable, __file__, "--one", family, variant], capture_output=True, text=True, check=True
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            result = json.loads(out)
            total += result["seconds"]
            print(f"  {family:<10} {variant:<8} {result['seconds']:8.1f} {result['peak_mb']:8.0f}")
    print(f"  {'total':<19} {total:8.1f}")


if __name__ == "__main__":
    main()
