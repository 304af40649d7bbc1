"""Benchmark: N runs one after another vs N runs packed into one grouped network (issue 7, many models at once).

    uv run --locked python benchmarks/many_models.py [--depth 110] [--models 4] [--images 1280] [--device auto]

Both sides train N seeds of ResNet bn and none for one epoch of ``--images`` images at the paper's recipe
(training steps only, no test-set evaluation):
(a) one at a time: the engine's step (params.yaml's ``train.speed``) for each run in turn;
(b) packed: :func:`pipeline.train.packed.train_packed` on one network with N channel groups (contiguous
    tensors, fp32, the packed SGD).
Prints seconds per model-epoch (scaled to 391 steps, an epoch of 50,000 images) and peak memory, and writes the
table to results/benchmarks/many_models.parquet. The sweeps use packing only where this shows it wins.
"""

from __future__ import annotations

from pathlib import Path

from train_speed import parser, setup, timed  # benchmarks/ is the script's folder

from pipeline import checkpoints
from pipeline.train import packed
from pipeline.train.engine import make_optimizer, train_epoch
from pipeline.train.runs import Run

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results/benchmarks/many_models.parquet"


def one_at_a_time(variant, p, args, recipe, speed, data, device) -> None:
    for seed in range(args.models):
        model = checkpoints.initial_model(variant, p, args.depth, seed, device)
        forward = speed.prepare(model)
        optimizer = make_optimizer(model, recipe, p["variants"][variant]["lr"], speed.sgd_kernels())
        train_epoch(model, optimizer, data, recipe, seed, 0, p["variants"][variant]["lr"], speed, forward)


def packed_together(variant, p, args, recipe, data, device) -> None:
    runs = [Run(variant, args.depth, p["variants"][variant]["lr"], 1, seed) for seed in range(args.models)]
    model = packed.build(p["variants"][variant], p["model"], args.depth, args.models)
    states = [checkpoints.initial_model(variant, p, args.depth, r.seed, "cpu").state_dict() for r in runs]
    model.load_state_dict(packed.pack_state(states))
    packed.train_packed(runs, recipe, model.to(device), data, log=lambda _line: None, test=False)


def measure(args) -> tuple[list[dict], dict]:
    """Time both ways per variant: (rows of variant, way, seconds, peak_mb, model_epoch_seconds; the setting).
    Needs torch and numpy only (benchmarks/gpu_check.py runs it where polars is absent)."""
    p, device, recipe, speed, _, data = setup(args)
    steps = data.batches_per_epoch(recipe.batch_size)
    rows = []
    for variant in ("bn", "none"):
        for way in ("one_at_a_time", "packed"):
            if way == "packed":
                seconds, peak, _ = timed(lambda v=variant: packed_together(v, p, args, recipe, data, device), device)
            else:
                seconds, peak, _ = timed(
                    lambda v=variant: one_at_a_time(v, p, args, recipe, speed, data, device), device
                )
            model_epoch = seconds / args.models / steps * 391
            rows.append(
                {
                    "variant": variant,
                    "way": way,
                    "seconds": seconds,
                    "peak_mb": peak,
                    "model_epoch_seconds": model_epoch,
                }
            )
    return rows, {"device": str(device), "speed": str(speed)}


def main() -> None:
    # polars here, not at the top: measure() also runs where only torch and numpy are installed (gpu_check.py)
    import polars as pl

    from pipeline import parquet, provenance

    cli = parser(__doc__, 1280)
    cli.add_argument("--models", type=int, default=4)
    args = cli.parse_args()
    rows, setting = measure(args)
    table = pl.DataFrame(rows).with_columns(
        models=pl.lit(args.models), depth=pl.lit(args.depth), device=pl.lit(setting["device"])
    )
    print(
        f"ResNet-{args.depth}, {args.models} models, {args.images} images each, device {setting['device']}; "
        f"{setting['speed']}"
    )
    print(f"  {'variant':<8} {'way':<14} {'s per model-epoch':>18} {'peak MB':>8}")
    for r in table.iter_rows(named=True):
        print(f"  {r['variant']:<8} {r['way']:<14} {r['model_epoch_seconds']:18.1f} {r['peak_mb']:8.0f}")
    parquet.write(table, OUT, provenance.record("benchmark", {**vars(args), "device": setting["device"]}))
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
