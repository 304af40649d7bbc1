"""The training loop: the paper's recipe, divergence and chance detection, and exact resume after a kill.

Recipe (App. B): SGD with momentum and weight decay (on every parameter, as in He et al.'s code), batch 128,
cross-entropy, the learning rate divided by 10 after 50% and 75% of the epochs, pad-4 crop + flip, evaluation on
the test set after every epoch. The network starts from its saved initial checkpoint.

Resume: after every epoch the full state (weights, BN running statistics, momentum buffers, epoch, metrics so far)
is written atomically to a state file that is *not* a Snakemake output (Snakemake deletes declared outputs before
a job starts). Each epoch's random draws come from a generator seeded by (seed, epoch), so a run killed at any
moment and restarted continues from its last completed epoch and ends bitwise identical on the CPU.

Divergence (§3.4): a mini-batch loss above ``divergence_loss`` or not finite ends the run, recorded as
"diverged" with the step and loss; a run that finishes at chance accuracy (at most 1/classes + margin on the
test set) is recorded as "chance". Neither raises: the job succeeds and the record says what happened.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from pipeline import checkpoints
from pipeline.artifacts import ArtifactError, set_aside
from pipeline.models import ResNet
from pipeline.runtime import progress
from pipeline.train.data import DeviceData, epoch_generator
from pipeline.train.runs import Run
from pipeline.train.speed import Speed

STATE_FORMAT = 1


@dataclass(frozen=True)
class Recipe:
    """The ``train`` section of params.yaml that a run uses, plus the weight decay chosen in ``contradictions``."""

    momentum: float
    weight_decay: float
    batch_size: int
    milestones: tuple[float, ...]
    decay: float
    divergence_loss: float
    chance_margin: float
    pad: int
    flip: bool

    @classmethod
    def from_params(cls, train: dict, weight_decay: float) -> Recipe:
        return cls(
            train["momentum"],
            weight_decay,
            train["batch_size"],
            tuple(train["lr_milestones"]),
            train["lr_decay"],
            train["divergence_loss"],
            train["chance_margin"],
            train["augment"]["pad"],
            train["augment"]["flip"],
        )


@dataclass
class Outcome:
    """What a finished run hands back: per-epoch metric rows, its status, and the final weights."""

    rows: list[dict]
    status: str  # completed | diverged | chance
    detail: dict  # diverged: step, loss; chance: test accuracy
    state_dict: dict


def load_state(path: Path, run: Run, device: torch.device) -> dict | None:
    """The saved state of this run, or None if there is none (or it belongs to another run or format). A state that
    cannot be read is set aside (``*.unreadable``) and the run starts over: it never blocks the run."""
    if not path.is_file():
        return None
    try:
        state = checkpoints.read(path, device)
    except (ArtifactError, ValueError) as error:
        set_aside(path, error, "the run starts from its initial weights")
        return None
    if state.get("format") != STATE_FORMAT or state.get("run") != run.name:
        return None
    return state


def make_optimizer(model: ResNet, recipe: Recipe, lr: float, kernels: dict | None = None) -> torch.optim.SGD:
    """SGD with the recipe's momentum and weight decay (on every parameter); ``kernels`` picks the
    implementation (:meth:`Speed.sgd_kernels`), PyTorch's default if None."""
    return torch.optim.SGD(
        model.parameters(), lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay, **(kernels or {})
    )


@torch.no_grad()
def evaluate(model: ResNet, data: DeviceData, speed: Speed, batch_size: int = 1000) -> tuple[float, float]:
    """(mean loss, accuracy) on the test set, evaluation mode (BN uses its running statistics), at the
    training precision."""
    model.eval()
    device = data.test_x.device
    loss = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    with speed.numerics():
        for images, labels in data.test_batches(batch_size):
            with speed.autocast(device):
                logits = model(speed.inputs(images)).float()
            loss += F.cross_entropy(logits, labels, reduction="sum").double()
            correct += (logits.argmax(1) == labels).sum()
    n = data.test_x.shape[0]
    return float(loss) / n, int(correct) / n


def first_divergence(losses: torch.Tensor, threshold: float) -> int | None:
    """Index of the first mini-batch loss that is not finite or above ``threshold`` (§3.4's divergence; a 1-d host
    tensor), None if there is none."""
    bad = ~torch.isfinite(losses) | (losses > threshold)
    return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def at_chance(rows: list[dict], classes: int, margin: float) -> float | None:
    """The final test accuracy of metric ``rows`` if it is at most 1/classes + ``margin`` (the run "stays at
    chance"), else None."""
    final = next((r["value"] for r in reversed(rows) if r["metric"] == "test_acc"), 0.0)
    return final if final <= 1 / classes + margin else None


def training_steps(data: DeviceData, recipe: Recipe, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The mini-batches of a run in the engine's order and augmentation, epoch after epoch."""
    epoch = 0
    while True:
        yield from data.train_batches(
            recipe.batch_size, recipe.pad, recipe.flip, epoch_generator(seed, epoch, data.train_x.device)
        )
        epoch += 1


def minibatch_loss(
    forward: Callable[[torch.Tensor], torch.Tensor], speed: Speed, images: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, mean cross-entropy) of one mini-batch through ``forward``, at the training precision."""
    with speed.autocast(images.device):
        logits = forward(speed.inputs(images))
    return logits, F.cross_entropy(logits.float(), labels)


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One SGD update along the gradient of ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def train_epoch(
    model: ResNet,
    optimizer: torch.optim.Optimizer,
    data: DeviceData,
    recipe: Recipe,
    seed: int,
    epoch: int,
    lr: float,
    speed: Speed | None = None,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    max_steps: int | None = None,
) -> dict:
    """One epoch of SGD steps at rate ``lr``: {'train_loss', 'train_acc'} (means over the epoch's images) and
    'step_losses' (every mini-batch's loss), or
    {'diverged': step within the epoch, 'loss': that mini-batch's loss} for the first loss above the threshold.
    ``max_steps`` stops after that many mini-batches (the same ones the full epoch starts with).

    ``speed`` (default: the reference path) says how the steps run; ``forward`` is what
    :meth:`Speed.prepare` returned for ``model`` (the model itself if None). On the reference path each loss is
    read on the host before its update and the epoch stops there; sync-free, the losses stay on the device and
    are read once, after the epoch."""
    speed = speed or Speed.reference()
    forward = model if forward is None else forward
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    device = data.train_x.device
    steps = data.batches_per_epoch(recipe.batch_size)
    steps = steps if max_steps is None else min(steps, max_steps)
    losses = torch.empty(steps, device=device)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    generator = epoch_generator(seed, epoch, device)
    batches = progress(
        itertools.islice(data.train_batches(recipe.batch_size, recipe.pad, recipe.flip, generator), steps),
        steps,
        f"epoch {epoch + 1} mini-batches",
    )
    with speed.numerics():
        for step, (images, labels) in enumerate(batches):
            logits, loss = minibatch_loss(forward, speed, images, labels)
            if not speed.sync_free:
                value = loss.detach().double().cpu()
                if first_divergence(value.view(1), recipe.divergence_loss) is not None:
                    return {"diverged": step, "loss": float(value)}
            descend(optimizer, loss)
            losses[step] = loss.detach()
            correct += (logits.argmax(1) == labels).sum()
    host = losses.double().cpu()  # the epoch's one synchronization
    diverged = first_divergence(host, recipe.divergence_loss)
    if diverged is not None:
        return {"diverged": diverged, "loss": float(host[diverged])}
    sizes = data.batch_sizes(recipe.batch_size)[:steps]
    seen = int(sizes.sum())
    train_loss = float((host * sizes).sum()) / seen
    return {"train_loss": train_loss, "train_acc": int(correct) / seen, "step_losses": host.tolist()}


def train(
    run: Run, recipe: Recipe, model: ResNet, data: DeviceData, state_path: Path, log=print, speed: Speed | None = None
) -> Outcome:
    """Train ``model`` (on the data's device, at its initial weights) as ``run`` says, resuming from
    ``state_path`` if a state of this run is there, with the ``speed`` settings (the reference path if None).
    Returns the outcome; the state file is left for the caller to remove once the outputs are safely written."""
    device = data.train_x.device
    speed = speed or Speed.reference()
    forward = speed.prepare(model)
    optimizer = make_optimizer(model, recipe, run.lr, speed.sgd_kernels())
    rows: list[dict] = []
    first_epoch = 0
    saved = load_state(state_path, run, device)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        rows, first_epoch = saved["rows"], saved["epoch"]
        log(f"resuming {run.name} after epoch {first_epoch}")
    steps = data.batches_per_epoch(recipe.batch_size)
    classes = model.fc.out_features
    for epoch in progress(range(first_epoch, run.epochs), run.epochs, f"{run.name} epochs", initial=first_epoch):
        start = time.perf_counter()
        lr = run.lr_at(epoch, list(recipe.milestones), recipe.decay)
        trained = train_epoch(model, optimizer, data, recipe, run.seed, epoch, lr, speed, forward)
        if "diverged" in trained:
            detail = {"step": epoch * steps + trained["diverged"], "epoch": epoch + 1, "loss": trained["loss"]}
            log(f"diverged at epoch {epoch + 1}, step {trained['diverged']}: mini-batch loss {trained['loss']:.4g}")
            return Outcome(rows, "diverged", detail, model.state_dict())
        test_loss, test_acc = evaluate(model, data, speed)
        measured = {
            "train_loss": trained["train_loss"],
            "train_acc": trained["train_acc"],
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": lr,
            "seconds": time.perf_counter() - start,
        }
        rows += [{"epoch": epoch + 1, "metric": k, "value": float(v)} for k, v in measured.items()]
        state = {
            "format": STATE_FORMAT,
            "run": run.name,
            "epoch": epoch + 1,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rows": rows,
        }
        checkpoints.save(state, state_path)
        log(
            f"epoch {epoch + 1}/{run.epochs}: lr {lr:.4g}, train loss {measured['train_loss']:.4f} "
            f"acc {measured['train_acc']:.4f}, test loss {test_loss:.4f} acc {test_acc:.4f}, "
            f"{measured['seconds']:.1f} s"
        )
    final_acc = at_chance(rows, classes, recipe.chance_margin)
    if final_acc is not None:
        return Outcome(rows, "chance", {"test_acc": final_acc}, model.state_dict())
    return Outcome(rows, "completed", {}, model.state_dict())
