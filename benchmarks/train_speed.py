"""Benchmark: the project's training step against a plain baseline, same device, same model (issue 7's table).

    uv run --locked snakemake --cores all prepared_data --config cifar10_root=...   # once: the prepared data
    uv run --locked python benchmarks/train_speed.py [--depth 110] [--images 2560] [--device auto] [--compile MODE]

(a) plain: what most public CIFAR code does: a CPU DataLoader that augments one image at a time with torchvision
    transforms (pad-4 random crop, flip, scale, normalize), batches moved to the device, eager fp32, SGD with a
    per-parameter loop (foreach=False).
(b) project: :func:`pipeline.train.engine.train_epoch` with params.yaml's ``train.speed`` and ``train.precision``:
    uint8 data on the device, augmented there in batch, NHWC, foreach SGD, no host sync inside the epoch.
(c) with ``--compile MODE`` (modes ``default``, ``reduce-overhead``, ...): the project's path under ``torch.compile``.
Each trains two epochs of ``--images`` images from the same initial weights at the paper's recipe, timed around the
training steps: the first is a warm-up whose time is reported apart (it holds start-up costs, and (c)'s
compilation), the step time is the second's, so every path is compared warm. Prints seconds per step, images per
second, the time of 391 such steps (an epoch of 50,000 images) and peak memory, and writes the table to
results/benchmarks/train_speed.parquet; (a)/(b) is the headline.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

from pipeline import batches, checkpoints, config
from pipeline.train.data import DeviceData
from pipeline.train.device import pick_device
from pipeline.train.engine import Recipe, make_optimizer, train_epoch
from pipeline.train.speed import Speed

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results/benchmarks/train_speed.parquet"


def plain_epoch(model, cifar: batches.Cifar10, images: int, recipe: Recipe, lr: float, device) -> int:
    """One epoch the way most public code trains; returns the number of steps."""
    augment = v2.Compose(
        [
            v2.RandomCrop(32, padding=recipe.pad),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(cifar.mean.tolist(), cifar.std.tolist()),
        ]
    )

    class Augmented(TensorDataset):
        def __getitem__(self, index):
            image, label = super().__getitem__(index)
            return augment(image), label

    loader = DataLoader(
        Augmented(cifar.train_x[:images], cifar.train_y[:images]),
        batch_size=recipe.batch_size,
        shuffle=True,
        num_workers=2,
        generator=torch.Generator().manual_seed(0),
    )
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay, foreach=False
    )
    model.train()
    steps = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    return steps


def timed(fn, device: torch.device) -> tuple[float, float, int]:
    """(seconds, peak MB, fn's result): GPU allocator peak on CUDA; on the CPU the process RSS high-water mark,
    which only grows, so it bounds every row measured so far rather than this one alone."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return seconds, peak, result


def parser(doc: str, images: int) -> argparse.ArgumentParser:
    """The arguments every training benchmark takes: --depth, --images (per run), --device."""
    parsed = argparse.ArgumentParser(description=doc.splitlines()[0])
    parsed.add_argument("--depth", type=int, default=110)
    parsed.add_argument("--images", type=int, default=images)
    parsed.add_argument("--device", default="auto")
    return parsed


def with_compile(parsed: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """train_speed's own option: --compile MODE adds path (c), the project's path under torch.compile."""
    parsed.add_argument(
        "--compile",
        default="none",
        choices=("none", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
        help="torch.compile mode of path (c); none: no path (c)",
    )
    return parsed


def setup(args: argparse.Namespace) -> tuple[dict, torch.device, Recipe, Speed, batches.Cifar10, DeviceData]:
    """What every training benchmark starts from: the paper's params, the device, the recipe, params.yaml's
    speed settings, the prepared data set and its first ``args.images`` training images on the device."""
    p = config.load(REPO / "params.yaml", {"profile": "paper"})
    device = pick_device(args.device)
    recipe = Recipe.from_params(p["train"], p["contradictions"]["weight_decay"])
    cifar = batches.load_prepared(REPO / "results/data/cifar10.npz")
    data = DeviceData.from_cifar(cifar, device, args.images, 1000)
    return p, device, recipe, Speed.from_params(p["train"]), cifar, data


def measure(args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Time two epochs of ``args.images`` images per variant and path: (rows of variant, path, first_epoch_s,
    seconds_per_step, peak_mb; the setting). The first epoch is a warm-up timed apart (start-up costs, and the
    compilation of path (c)); ``seconds_per_step`` is the second's, so every path is compared warm. Needs torch and
    numpy only (benchmarks/gpu_check.py runs it where polars is absent)."""
    p, device, recipe, speed, cifar, data = setup(args)
    paths = {"plain": None, "project": speed}
    if args.compile != "none":
        paths[f"compile {args.compile}"] = replace(speed, compile=args.compile)
    rows = []
    for variant in ("bn", "none"):
        lr = p["variants"][variant]["lr"]
        for path, settings in paths.items():
            model = checkpoints.initial_model(variant, p, args.depth, 0, device)
            epoch = epoch_of(model, settings, cifar, data, recipe, lr, args.images, device)
            first, _, _ = timed(lambda e=epoch: e(0), device)
            seconds, peak, steps = timed(lambda e=epoch: e(1), device)
            rows.append(
                {
                    "variant": variant,
                    "path": path,
                    "first_epoch_s": first,
                    "seconds_per_step": seconds / steps,
                    "peak_mb": peak,
                }
            )
    return rows, {"device": str(device), "speed": str(speed), "batch_size": recipe.batch_size}


def epoch_of(
    model: torch.nn.Module,
    speed: Speed | None,
    cifar: batches.Cifar10,
    data: DeviceData,
    recipe: Recipe,
    lr: float,
    images: int,
    device: torch.device,
) -> Callable[[int], int]:
    """The function that trains ``model`` one epoch (its 0-based index the argument) and returns its step count:
    path (a) when ``speed`` is None, else the project's engine with those speed settings (paths (b) and (c))."""
    if speed is None:
        return lambda _: plain_epoch(model, cifar, images, recipe, lr, device)
    forward = speed.prepare(model)
    optimizer = make_optimizer(model, recipe, lr, speed.sgd_kernels())

    def engine_epoch(index: int) -> int:
        train_epoch(model, optimizer, data, recipe, 0, index, lr, speed, forward)
        return data.batches_per_epoch(recipe.batch_size)

    return engine_epoch


def main() -> None:
    # polars here, not at the top: measure() also runs where only torch and numpy are installed (gpu_check.py)
    import polars as pl

    from pipeline import parquet, provenance

    args = with_compile(parser(__doc__, 2560)).parse_args()
    rows, setting = measure(args)
    table = pl.DataFrame(rows, schema_overrides={"first_epoch_s": pl.Float64}).with_columns(
        images_per_second=setting["batch_size"] / pl.col("seconds_per_step"),
        epoch_seconds=pl.col("seconds_per_step") * 391,
        device=pl.lit(setting["device"]),
        speed=pl.lit(setting["speed"]),
        depth=pl.lit(args.depth),
    )
    print(
        f"ResNet-{args.depth}, batch {setting['batch_size']}, {args.images} images, device {setting['device']}, "
        f"{torch.get_num_threads()} threads; project path: {setting['speed']}"
    )
    print(f"  {'variant':<8} {'path':<24} {'s/step':>8} {'images/s':>9} {'391 steps (s)':>14} {'peak MB':>8}")
    for r in table.iter_rows(named=True):
        print(
            f"  {r['variant']:<8} {r['path']:<24} {r['seconds_per_step']:8.3f} {r['images_per_second']:9.0f} "
            f"{r['epoch_seconds']:14.1f} {r['peak_mb']:8.0f}" + f"  (first epoch {r['first_epoch_s']:.1f} s)"
        )
    for variant in ("bn", "none"):
        part = table.filter(pl.col("variant") == variant)
        step = dict(zip(part["path"], part["seconds_per_step"], strict=True))
        print(f"  {variant}: plain / project = {step['plain'] / step['project']:.2f}x", end="")
        compiled = f"compile {args.compile}"
        print(f", project / {compiled} = {step['project'] / step[compiled]:.2f}x" if compiled in step else "")
    parquet.write(table, OUT, provenance.record("benchmark", {**vars(args), "device": setting["device"]}))
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
