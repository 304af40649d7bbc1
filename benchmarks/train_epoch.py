"""Benchmark: seconds per training step of the project's training engine, ResNet bn and none, one device.

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/train_epoch.py [--depth 110] [--images 2560] [--device auto]

From the seeded initial weights, one epoch of the paper's recipe (batch 128, augmentation on the device) on the
first ``--images`` training images, timed around the training steps only (evaluation excluded). Prints per
variant the measured seconds per step, images per second, what 391 such steps (one epoch of 50,000 images) take,
and peak memory (GPU allocator peak on CUDA, process RSS on the CPU).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch

from pipeline import batches, checkpoints, config, models
from pipeline.train.data import DeviceData
from pipeline.train.engine import Recipe, make_optimizer, train_epoch
from pipeline.train.job import pick_device

REPO = Path(__file__).resolve().parent.parent


def measure(variant: str, p: dict, depth: int, data: DeviceData, recipe: Recipe) -> tuple[float, float]:
    """(seconds per step, peak MB) of one epoch of ``variant``."""
    device = data.train_x.device
    model = models.build(p["variants"][variant], p["model"], depth)
    model.load_state_dict(
        checkpoints.initial_state(variant, p["variants"][variant], p["model"], depth, 0)["state_dict"]
    )
    model.to(device)
    optimizer = make_optimizer(model, recipe, p["variants"][variant]["lr"])
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train_epoch(model, optimizer, data, recipe, 0, 0, p["variants"][variant]["lr"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if "diverged" in result:
        print(f"  ({variant} diverged at step {result['diverged']}: the time covers the steps before it)")
    steps = result.get("diverged", data.batches_per_epoch(recipe.batch_size))
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return seconds / max(steps, 1), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=110)
    parser.add_argument("--images", type=int, default=2560)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    p = config.load(REPO / "params.yaml", {"profile": "paper"})
    device = pick_device(args.device)
    recipe = Recipe.from_params(p["train"], p["contradictions"]["weight_decay"])
    data = DeviceData.from_cifar(batches.load_prepared(REPO / "results/data/cifar10.npz"), device, args.images, 1000)
    steps = data.batches_per_epoch(recipe.batch_size)
    print(
        f"ResNet-{args.depth}, batch {recipe.batch_size}, {args.images} images = {steps} steps, device {device}, "
        f"{torch.get_num_threads()} CPU threads"
    )
    print(f"  {'variant':<8} {'s/step':>8} {'images/s':>9} {'391 steps (s)':>14} {'peak MB':>8}")
    for variant in ("bn", "none"):
        per_step, peak = measure(variant, p, args.depth, data, recipe)
        print(f"  {variant:<8} {per_step:8.3f} {recipe.batch_size / per_step:9.0f} {per_step * 391:14.1f} {peak:8.0f}")


if __name__ == "__main__":
    main()
