"""Benchmark: time of the single-update jobs (Fig. 5/6 and Fig. 24) at the cpu profile's settings.

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/single_updates.py

Builds each seeded initial checkpoint, then times the diverging update of Fig. 5/6 (train until divergence,
replay, 101 losses and 21 moment sweeps along the path) and the batch landscape of Fig. 24 for each network, on
the training device (CUDA when there is one), with the job's own code.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from pipeline import checkpoints, config
from pipeline.train import runs
from pipeline.train.step_job import StepJob
from pipeline.updates import job as update_job

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "results/data"


def job_for(p: dict, variant: str, folder: str, settings: dict, outputs: dict[str, str]) -> StepJob:
    """A StepJob on a freshly built initial checkpoint of ``variant`` (ResNet of model.depth, updates.seed)."""
    path = Path(folder, f"{variant}.pt")
    state = checkpoints.initial_state(
        variant, p["variants"][variant], p["model"], p["model"]["depth"], p["updates"]["seed"]
    )
    checkpoints.save(state, path)
    return StepJob(
        str(path),
        str(DATA / "cifar10.npz"),
        str(DATA / "cifar10.json"),
        {**runs.step_recipe(p), **runs.Execution.from_params(p).train_settings()},
        settings,
        outputs,
        "cpu",
    )


def main() -> None:
    p = config.load(REPO / "params.yaml", {"profile": "cpu"})
    u = p["updates"]
    print(
        f"Single updates, cpu profile (ResNet-{p['model']['depth']}, batch {p['train']['batch_size']}), "
        f"{torch.get_num_threads()} threads"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fig5 = {**u["fig5"], "stem_is_layer_1": p["contradictions"]["stem_is_layer_1"]}
        outputs = {"path": str(Path(tmp, "path.parquet")), "moments": str(Path(tmp, "moments.parquet"))}
        info = update_job.run_diverging_update(job_for(p, u["fig5"]["variant"], tmp, fig5, outputs))
        print(
            f"  fig5/6 {u['fig5']['variant']} lr {u['fig5']['lr']:g}: {time.perf_counter() - start:.1f} s "
            f"(diverged after update {info['step']})"
        )
        for network in u["fig24"]["networks"]:
            start = time.perf_counter()
            settings, outputs = {**u["fig24"], "lr": network["lr"]}, {"landscape": str(Path(tmp, "landscape.parquet"))}
            update_job.run_batch_landscape(job_for(p, network["variant"], tmp, settings, outputs))
            print(f"  fig24 {network['variant']} lr {network['lr']:g}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
