"""The GPU check: the whole CUDA path of the project and its numbers, in one call of a lent machine (issue 14).

    python3 benchmarks/gpu_check.py OUT [--device auto|cuda|cpu] [--tiny]
        [--bundle .device/cifar10-jpeg.npz --tool .device/cifar10_from_jpeg.py | --cifar10-root DIR]

Runs the steps below in order, each in its own process under its own time limit, and goes on past a step that
fails or runs out of time. Writes OUT/summary.md and OUT/summary.parquet (one row per number: step, quantity,
value, unit, status, device), each step's log (OUT/<step>.log) and its rows (OUT/<step>.json).

1. ``environment``: torch and CUDA versions, the device's name, its free and total memory.
2. ``data``: rebuild cifar-10-batches-py from the JPEG bundle (``--tool BUNDLE DIR``, ../shared/tools) or take
   ``--cifar10-root``, and prepare results/data/cifar10.npz as the pipeline does (pipeline.cifar10.prepare).
3. ``correctness_eager`` / ``correctness_compiled``: per-step losses of params.yaml's fast path against the
   reference path (contiguous tensors, per-parameter SGD, a host read per step) over 50 steps of ResNet-110 bn and
   none at their paper rates, fp32; compiled: ``torch.compile`` mode reduce-overhead (CUDA graphs; on a CPU the
   default mode). Reports the largest relative difference of a step's loss.
4. ``speed_train``: benchmarks/train_speed.py, plain vs the project's path, s/epoch of ResNet-110 bn and none;
   ``speed_packed4`` / ``speed_packed8``: benchmarks/many_models.py with 4 and 8 packed models;
   ``speed_precision``: benchmarks/precision.py (fp32, TF32, bf16 on the first steps, and at large rates).
5. ``epochs``: two real epochs of ResNet-110 bn at 0.1 through the training engine (pipeline.train.engine.train),
   the test accuracy after each.

The limits add up to 8 minutes. ``--tiny`` (with ``--device cpu`` for CI) runs every step on ResNet-8 and a few
mini-batches, to show that each step works; its rows say "cpu". Only torch, numpy, pyarrow, PyYAML and jsonschema
are needed (Pillow for the bundle): the GPU machine has no polars, and the bundle leaves no room to carry it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# the project (not installed on the GPU machine) and the other benchmarks, modules of this folder
sys.path[:0] = [str(REPO), str(HERE)]

# (step, time limit in seconds on the GPU): 480 s in all
STEPS = {
    "environment": 20,
    "data": 60,
    "correctness_eager": 40,
    "correctness_compiled": 100,
    "speed_train": 60,
    "speed_packed4": 40,
    "speed_packed8": 40,
    "speed_precision": 60,
    "epochs": 60,
}
TINY_LIMIT = 300  # seconds per step of a --tiny run on a loaded 2-core CPU (compilation takes most)


@dataclasses.dataclass
class Sizes:
    """The sizes of a real check and of a --tiny one."""

    depth: int
    steps: int  # correctness steps
    speed_images: int
    packed_images: int
    precision_images: int
    epoch_images: int | None  # None = the full training set

    @classmethod
    def of(cls, tiny: bool) -> Sizes:
        return cls(8, 3, 256, 128, 256, 512) if tiny else cls(110, 50, 2560, 1280, 50 * 128, None)


def row(quantity: str, value, unit: str = "") -> dict:
    """One number of the summary (or a fact in words, with no value)."""
    return {"quantity": quantity, "value": None if value is None else float(value), "unit": unit}


def paper_params():
    from pipeline import config

    return config.load(REPO / "params.yaml", {"profile": "paper"})


def step_environment(args, sizes) -> list[dict]:
    import torch

    from pipeline.train.device import pick_device

    device = pick_device(args.device)
    rows = [
        row(f"torch {torch.__version__}", None),
        row(f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}", None),
        row(f"device {device}", None),
        row("CPU threads", torch.get_num_threads()),
    ]
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info()
        rows += [
            row(f"name {torch.cuda.get_device_name()}", None),
            row("free memory", free / 2**30, "GiB"),
            row("total memory", total / 2**30, "GiB"),
        ]
    return rows


def step_data(args, sizes) -> list[dict]:
    from pipeline import cifar10

    # rebuilt outside OUT, whose files travel back from the GPU machine
    root = Path(args.cifar10_root) if args.cifar10_root else Path(tempfile.gettempdir()) / "gpu-check-cifar10"
    if not args.cifar10_root:
        start = time.perf_counter()
        subprocess.run([sys.executable, args.tool, args.bundle, str(root)], check=True)
        rebuilt = time.perf_counter() - start
    start = time.perf_counter()
    provenance = cifar10.prepare(root, REPO / "results/data/cifar10.npz", REPO / "results/data/cifar10.json")
    rows = [row("prepare the data set", time.perf_counter() - start, "s")]
    if not args.cifar10_root:
        rows.insert(0, row("rebuild cifar-10-batches-py from the JPEG bundle", rebuilt, "s"))
    return [*rows, row(f"canonical md5: {provenance['canonical']}", None)]


def step_correctness(args, sizes, compiled: bool) -> list[dict]:
    import torch

    from pipeline import batches, checkpoints
    from pipeline.train.data import DeviceData
    from pipeline.train.device import pick_device
    from pipeline.train.engine import Recipe, make_optimizer, train_epoch
    from pipeline.train.speed import Speed

    p = paper_params()
    device = pick_device(args.device)
    recipe = Recipe.from_params(p["train"], p["contradictions"]["weight_decay"])
    images = sizes.steps * recipe.batch_size
    data = DeviceData.from_cifar(batches.load_prepared(REPO / "results/data/cifar10.npz"), device, images, 1)
    fast = Speed.from_params(p["train"])
    if compiled:
        fast = dataclasses.replace(fast, compile="reduce-overhead" if device.type == "cuda" else "default")
    rows = []
    for variant in ("bn", "none"):
        lr = p["variants"][variant]["lr"]
        losses = {}
        for name, speed in (("reference", Speed.reference()), ("fast", fast)):
            model = checkpoints.initial_model(variant, p, sizes.depth, 0, device)
            forward = speed.prepare(model)
            optimizer = make_optimizer(model, recipe, lr, speed.sgd_kernels())
            start = time.perf_counter()
            losses[name] = train_epoch(model, optimizer, data, recipe, 0, 0, lr, speed, forward)["step_losses"]
            if device.type == "cuda":
                torch.cuda.synchronize()
            rows.append(row(f"{variant} {name} path, {len(losses[name])} steps", time.perf_counter() - start, "s"))
        ref, got = torch.tensor(losses["reference"]), torch.tensor(losses["fast"])
        rows.append(
            row(f"{variant}: largest relative loss difference, {fast}", ((got - ref).abs() / ref.abs()).max(), "")
        )
    return rows


def step_speed_train(args, sizes) -> list[dict]:
    import train_speed

    cli = argparse.Namespace(depth=sizes.depth, images=sizes.speed_images, device=args.device, compile="none")
    measured, _ = train_speed.measure(cli)
    rows = []
    for r in measured:
        rows += [
            row(f"{r['variant']} {r['path']}: s per epoch of 391 steps", r["seconds_per_step"] * 391, "s"),
            row(f"{r['variant']} {r['path']}: peak memory", r["peak_mb"], "MB"),
        ]
    return rows


def step_speed_packed(args, sizes, models: int) -> list[dict]:
    import many_models

    cli = argparse.Namespace(depth=sizes.depth, images=sizes.packed_images, device=args.device, models=models)
    measured, _ = many_models.measure(cli)
    return [
        row(f"{r['variant']} {r['way']}, {models} models: s per model-epoch", r["model_epoch_seconds"], "s")
        for r in measured
    ]


def step_speed_precision(args, sizes) -> list[dict]:
    import precision

    cli = argparse.Namespace(
        depth=sizes.depth, images=sizes.precision_images, device=args.device, large=["none=0.001", "bn=3.0"]
    )
    _, summary, _ = precision.measure(cli)
    rows = []
    for r in summary:
        what = f"{r['variant']} lr {r['lr']:g} {r['precision']}"
        rows += [
            row(f"{what}: s per step", r["seconds_per_step"], "s"),
            row(f"{what}: max |log10(loss / fp32 loss)|", r["max_log10_gap"]),
            row(f"{what}: diverging step", r["diverged_step"]),
        ]
    return rows


def step_epochs(args, sizes) -> list[dict]:
    from pipeline import batches, checkpoints
    from pipeline.train.data import DeviceData
    from pipeline.train.device import pick_device
    from pipeline.train.engine import Recipe, train
    from pipeline.train.runs import Run
    from pipeline.train.speed import Speed

    p = paper_params()
    device = pick_device(args.device)
    recipe = Recipe.from_params(p["train"], p["contradictions"]["weight_decay"])
    data = DeviceData.from_cifar(
        batches.load_prepared(REPO / "results/data/cifar10.npz"), device, sizes.epoch_images, sizes.epoch_images
    )
    model = checkpoints.initial_model("bn", p, sizes.depth, 0, device)
    run = Run("bn", sizes.depth, 0.1, 2, 0)  # two epochs at 0.1 (a 2-epoch schedule: the rate drops in epoch 2)
    with tempfile.TemporaryDirectory() as state:
        outcome = train(run, recipe, model, data, Path(state) / "state.pt", print, Speed.from_params(p["train"]))
    kept = {"test_acc": "test accuracy", "seconds": "seconds", "train_loss": "training loss"}
    return [
        row(f"epoch {r['epoch']}: {kept[r['metric']]}", r["value"], "s" if r["metric"] == "seconds" else "")
        for r in outcome.rows
        if r["metric"] in kept
    ] + [row(f"status {outcome.status}", None)]


RUNNERS = {
    "environment": step_environment,
    "data": step_data,
    "correctness_eager": lambda a, s: step_correctness(a, s, compiled=False),
    "correctness_compiled": lambda a, s: step_correctness(a, s, compiled=True),
    "speed_train": step_speed_train,
    "speed_packed4": lambda a, s: step_speed_packed(a, s, 4),
    "speed_packed8": lambda a, s: step_speed_packed(a, s, 8),
    "speed_precision": step_speed_precision,
    "epochs": step_epochs,
}


def run_step(args) -> None:
    """One step, in this process: its rows go to OUT/<step>.json."""
    rows = RUNNERS[args.step](args, Sizes.of(args.tiny))
    (Path(args.out) / f"{args.step}.json").write_text(json.dumps(rows))


def run_all(args, argv: list[str]) -> list[dict]:
    """Every step in its own process and time limit; a failed or timed-out step is a row that says so."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cpu" if args.device == "cpu" else "cuda" if args.device == "cuda" else None
    summary = []
    for step, limit in STEPS.items():
        limit = TINY_LIMIT if args.tiny else limit
        (out / f"{step}.json").unlink(missing_ok=True)
        start = time.perf_counter()
        with open(out / f"{step}.log", "w") as log:
            try:
                done = subprocess.run(
                    [sys.executable, __file__, *argv, "--step", step],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=limit,
                )
                status = "ok" if done.returncode == 0 else f"failed (exit {done.returncode})"
            except subprocess.TimeoutExpired:
                status = f"timed out after {limit} s"
        seconds = time.perf_counter() - start
        rows = json.loads((out / f"{step}.json").read_text()) if status == "ok" else [row("step", None)]
        if step == "environment" and status == "ok":
            device = next(r["quantity"].split()[-1] for r in rows if r["quantity"].startswith("device "))
        for r in rows:
            summary.append({"step": step, **r, "status": status, "step_seconds": seconds})
        print(f"{step:22} {status:28} {seconds:6.1f} s", flush=True)
    kind = "cpu" if device is None or device.startswith("cpu") else "cuda"
    return [{**r, "device": kind, "tiny": args.tiny} for r in summary]


def write_summary(summary: list[dict], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(summary), out / "summary.parquet")
    lines = [
        "# GPU check",
        "",
        f"Device: {summary[0]['device']}{' (tiny sizes: a dry run)' if summary[0]['tiny'] else ''}.",
        "",
        "| step | status | quantity | value | unit |",
        "|---|---|---|---|---|",
    ]
    for r in summary:
        value = "" if r["value"] is None else f"{r['value']:.4g}"
        lines.append(f"| {r['step']} | {r['status']} | {r['quantity']} | {value} | {r['unit']} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("out", help="folder for the summary, logs and step rows (e.g. $OUT on the device machine)")
    cli.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    cli.add_argument("--tiny", action="store_true", help="ResNet-8 and a few mini-batches: a dry run of every step")
    cli.add_argument("--bundle", default=".device/cifar10-jpeg.npz", help="the JPEG bundle of ../shared/cifar10")
    cli.add_argument("--tool", default=".device/cifar10_from_jpeg.py", help="../shared/tools/cifar10_from_jpeg.py")
    cli.add_argument("--cifar10-root", help="a cifar-10-batches-py folder's parent, instead of the bundle")
    cli.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.step:
        run_step(args)
        return
    summary = run_all(args, sys.argv[1:])
    write_summary(summary, Path(args.out))
    failed = sorted({r["step"] for r in summary if r["status"] != "ok"})
    not_ok = f"; not ok: {', '.join(failed)}" if failed else ""
    print(f"summary: {Path(args.out) / 'summary.md'}; {len(STEPS) - len(failed)} of {len(STEPS)} steps ok{not_ok}")


if __name__ == "__main__":
    main()
