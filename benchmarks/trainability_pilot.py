"""Pilot of the trainability searches (Tables 2 and 3): how the test accuracy of single rates moves over the first
steps of the paper's recipe, to choose the horizons H and the test images of a profile.

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/trainability_pilot.py bn:110:0.1 bn:110:0.01 none:110:0.0003 \\
        [--steps 300] [--at 25 50 100 150 200 300] [--test-images 2000] [--threads 1]

Each ``variant:depth:rate`` trains from the seeded initial network (seed 0), on the full training set in the data
order of a training run, at a constant rate, one 1-thread process per spec as the pipeline runs its searches, and
measures the test accuracy (evaluation mode) on the first ``--test-images`` test images after each step count of
``--at``, stopping at the first diverging mini-batch (§3.4). Prints a line per measurement with the seconds so far
and the chance ceiling of :func:`pipeline.train.trainability.chance_ceiling`; writes
results/benchmarks/trainability_pilot.parquet.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import polars as pl
import torch

from pipeline import batches, checkpoints, config
from pipeline.train.data import DeviceData
from pipeline.train.engine import (
    Recipe,
    descend,
    evaluate,
    first_divergence,
    make_optimizer,
    minibatch_loss,
    training_steps,
)
from pipeline.train.speed import Speed
from pipeline.train.trainability import chance_ceiling

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results/benchmarks/trainability_pilot.parquet"


def trajectory(spec: str, params: dict, data: DeviceData, steps: int, at: set[int]) -> list[dict]:
    """Test accuracy after each step count of ``at`` for one ``variant:depth:rate``, until ``steps`` or the first
    diverging mini-batch."""
    variant, depth, lr = spec.split(":")
    recipe = Recipe.from_params(params["train"], params["contradictions"]["weight_decay"])
    speed = dataclasses.replace(Speed.from_params(params["train"]), sync_free=False)
    model = checkpoints.initial_model(variant, params, int(depth), 0, "cpu")
    forward = speed.prepare(model)
    optimizer = make_optimizer(model, recipe, float(lr), speed.sgd_kernels())
    rows, start = [], time.perf_counter()
    with speed.numerics():
        for step, (images, labels) in enumerate(training_steps(data, recipe, 0)):
            if step in at:
                accuracy = evaluate(model, data, speed)[1]
                rows.append({"spec": spec, "step": step, "test_acc": accuracy, "diverged": False})
                rows[-1]["seconds"] = time.perf_counter() - start
                print(rows[-1], flush=True)
            if step == steps:
                return rows
            model.train()
            _, loss = minibatch_loss(forward, speed, images, labels)
            value = loss.detach().double().cpu()
            if first_divergence(value.view(1), recipe.divergence_loss) is not None:
                row = {"spec": spec, "step": step, "test_acc": None, "diverged": True}
                rows.append({**row, "seconds": time.perf_counter() - start})
                print(f"{spec}: diverged at step {step} (loss {float(value):.4g})", flush=True)
                return rows
            descend(optimizer, loss)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="+", help="variant:depth:rate, e.g. bn:110:0.1")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--at", type=int, nargs="+", default=[25, 50, 100, 150, 200, 300])
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = config.load(REPO / "params.yaml", {"profile": "cpu"})
    prepared = batches.load_prepared(REPO / "results/data/cifar10.npz")
    data = DeviceData.from_cifar(prepared, torch.device("cpu"), test_images=args.test_images)
    ceiling = chance_ceiling(
        data.test_x.shape[0], params["model"]["num_classes"], params["trainability"]["chance_sigmas"]
    )
    print(f"chance: test accuracy <= {ceiling:.4f} on {data.test_x.shape[0]} test images", flush=True)
    rows = [row for spec in args.specs for row in trajectory(spec, params, data, args.steps, set(args.at))]
    frame = pl.DataFrame(rows, schema_overrides={"test_acc": pl.Float64}).with_columns(
        at_chance=pl.col("test_acc") <= ceiling
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(OUT)
    print(frame.pivot(on="step", index="spec", values="test_acc", sort_columns=True))
    print(f"table: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
