"""Benchmark: the training step of every BN-parts variant against full BN's, same device, same run.

    uv run --locked python benchmarks/norm_speed.py [--depth 56] [--images 1280] [--rounds 2] [--device auto]

Full BN is PyTorch's ``nn.BatchNorm2d``; the other variants of Table 2 and Fig. 17 are
:class:`pipeline.norms.PartialBatchNorm2d`. Each variant trains one epoch of ``--images`` images from its seeded
initial weights with params.yaml's speed settings, in ``--rounds`` rounds over all variants (the fastest round
counts); the variants run interleaved in this process, so their ratios to bn are measured side by side (absolute
times on a shared machine move by 2-5x under load). Prints seconds per step and the ratio to bn, and writes
results/benchmarks/norm_speed.parquet.
"""

from __future__ import annotations

import polars as pl
import torch
from train_speed import REPO, parser, setup, timed  # benchmarks/ is the script's folder

from pipeline import checkpoints, parquet, provenance
from pipeline.train.engine import make_optimizer, train_epoch

OUT = REPO / "results/benchmarks/norm_speed.parquet"
VARIANTS = ("bn", "g_mu_s", "b_mu_s", "mu_s", "s", "mu", "none")


def main() -> None:
    parsed = parser(__doc__, 1280)
    parsed.add_argument("--rounds", type=int, default=2)
    args = parsed.parse_args()
    p, device, recipe, speed, _, data = setup(args)
    models = {variant: checkpoints.initial_model(variant, p, args.depth, 0, device) for variant in VARIANTS}
    best = dict.fromkeys(VARIANTS, float("inf"))
    for _ in range(args.rounds):  # the variants interleaved, each round after the others: min over rounds
        for variant, model in models.items():
            forward = speed.prepare(model)
            # a constant small rate: every variant stays finite, so each times the same amount of work
            optimizer = make_optimizer(model, recipe, 1e-3, speed.sgd_kernels())
            seconds, _, _ = timed(
                lambda m=model, o=optimizer, f=forward: train_epoch(m, o, data, recipe, 0, 0, 1e-3, speed, f), device
            )
            best[variant] = min(best[variant], seconds / data.batches_per_epoch(recipe.batch_size))
    rows = [{"variant": variant, "seconds_per_step": seconds} for variant, seconds in best.items()]
    table = pl.DataFrame(rows)
    bn = table.filter(pl.col("variant") == "bn")["seconds_per_step"][0]
    table = table.with_columns(ratio_to_bn=pl.col("seconds_per_step") / bn, depth=pl.lit(args.depth))
    print(f"ResNet-{args.depth}, {args.images} images, device {device}, {torch.get_num_threads()} threads")
    print(f"  {'variant':<8} {'s/step':>8} {'/ bn':>6}")
    for r in table.iter_rows(named=True):
        print(f"  {r['variant']:<8} {r['seconds_per_step']:8.3f} {r['ratio_to_bn']:6.2f}")
    parquet.write(table, OUT, provenance.record("benchmark", {**vars(args), "device": str(device)}))
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
