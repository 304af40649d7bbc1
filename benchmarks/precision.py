"""Benchmark: fp32, TF32 and bf16 on the first steps of training, the evidence for ``train.precision``.

    uv run --locked python benchmarks/precision.py [--depth 110] [--images 38400] [--device auto]
        [--large none=0.001 bn=3.0]

For bn and none, each at its paper rate, trains ``--images`` / 128 SGD steps (300 by default; the paper's
recipe, params.yaml's ``train.speed``) from the same initial weights on the same augmented mini-batches, once
per precision, and compares every step's loss with fp32's. Then each ``--large`` variant=rate pair trains at
that rate until the first diverging mini-batch (loss above ``train.divergence_loss`` or not finite), per
precision. Prints, per precision: the median and largest |log10(loss / fp32 loss)| over the steps, the last
loss, seconds per step and the divergence step; writes every step's loss to results/benchmarks/precision.parquet.
TF32 exists only on NVIDIA GPUs (Ampere and newer): on a CPU its row equals fp32's by construction.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch
from train_speed import parser, setup  # benchmarks/ is the script's folder

from pipeline import checkpoints
from pipeline.train.engine import make_optimizer, train_epoch
from pipeline.train.speed import PRECISIONS

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results/benchmarks/precision.parquet"


def step_losses(variant, lr, p, args, recipe, speed, data, device) -> tuple[list[float], int | None, float]:
    """(every step's loss, the diverging step or None, seconds per step) of one run of ``args.steps`` steps."""
    model = checkpoints.initial_model(variant, p, args.depth, 0, device)
    forward = speed.prepare(model)
    optimizer = make_optimizer(model, recipe, lr, speed.sgd_kernels())
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = train_epoch(model, optimizer, data, recipe, 0, 0, lr, speed, forward)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.steps
    if "diverged" in result:
        return [], result["diverged"], seconds
    return result["step_losses"], None, seconds


def measure(args) -> tuple[list[dict], list[dict], dict]:
    """(every step's loss per variant, rate and precision; one summary row per run; the setting). Needs torch
    only (benchmarks/gpu_check.py runs it where polars is absent)."""
    p, device, recipe, speed, _, data = setup(args)
    base = dataclasses.replace(speed, sync_free=False)  # stop at the diverging step
    args.steps = data.batches_per_epoch(recipe.batch_size)
    runs = [(v, p["variants"][v]["lr"], "paper rate") for v in ("bn", "none")]
    runs += [(v, float(lr), "large rate") for v, lr in (pair.split("=") for pair in args.large)]
    rows, summary = [], []
    for variant, lr, kind in runs:
        losses = {}
        for precision in PRECISIONS:
            speed = dataclasses.replace(base, precision=precision)
            losses[precision], diverged, seconds = step_losses(variant, lr, p, args, recipe, speed, data, device)
            rows += [
                {"variant": variant, "lr": lr, "precision": precision, "step": i, "loss": v}
                for i, v in enumerate(losses[precision])
            ]
            summary.append(
                {"variant": variant, "lr": lr, "kind": kind, "precision": precision, "diverged_step": diverged}
                | {"seconds_per_step": seconds, "last_loss": losses[precision][-1] if losses[precision] else None}
            )
        for entry in summary[-len(PRECISIONS) :]:
            got, ref = losses[entry["precision"]], losses["fp32"]
            n = min(len(got), len(ref))
            gap = (torch.tensor(got[:n]) / torch.tensor(ref[:n])).log10().abs() if n else torch.tensor([float("nan")])
            entry |= {"median_log10_gap": float(gap.median()), "max_log10_gap": float(gap.max())}
    return rows, summary, {"device": str(device), "speed": str(base), "batch_size": recipe.batch_size}


def main() -> None:
    # polars here, not at the top: measure() also runs where only torch and numpy are installed (gpu_check.py)
    import polars as pl

    from pipeline import parquet, provenance

    cli = parser(__doc__, 300 * 128)
    cli.add_argument("--large", nargs="*", default=["none=0.001", "bn=3.0"], help="variant=rate pairs")
    args = cli.parse_args()
    rows, summary, setting = measure(args)
    table = pl.DataFrame(summary)
    print(f"ResNet-{args.depth}, batch {setting['batch_size']}, {args.steps} steps, device {setting['device']}")
    print(
        f"  {'variant':<6} {'lr':>7} {'precision':<9} {'med |dlog10|':>12} {'max |dlog10|':>12} {'last loss':>9} "
        f"{'s/step':>7} {'diverged at':>11}"
    )
    for r in table.iter_rows(named=True):
        last = f"{r['last_loss']:9.4f}" if r["last_loss"] is not None else f"{'-':>9}"
        print(
            f"  {r['variant']:<6} {r['lr']:7.4g} {r['precision']:<9} {r['median_log10_gap']:12.2e} "
            f"{r['max_log10_gap']:12.2e} {last} {r['seconds_per_step']:7.3f} {r['diverged_step']!s:>11}"
        )
    record = provenance.record("benchmark", {**vars(args), "device": setting["device"], "speed": setting["speed"]})
    parquet.write(pl.DataFrame(rows), OUT, record)
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
