"""Many runs of one network at once: G runs packed into one grouped ResNet (issue 7, "many models at once").

Runs that share variant, depth and epochs but differ in seed or learning rate train together. Model g owns
channel group g of every conv (``groups=G``), its own channels of every norm layer and its own slice of the
classifier, so nothing mixes between models:

- batch-norm statistics are per channel, hence per model (and so are the running statistics);
- each model reads its own mini-batches: run g's data order and augmentation come from its own per-epoch
  generator, exactly as when it trains alone, and its images occupy its 3 input channels;
- the loss is the sum of the G models' mean cross-entropies, so each model's gradient is its own loss's gradient;
- SGD runs per packed tensor with a per-model learning rate (the same momentum and weight-decay arithmetic as
  PyTorch's SGD); each model's losses are checked for divergence on their own, and a diverged model is frozen
  (rate 0) while the others go on.

The packed network (:class:`PackedResNet`) is the paper's ResNet (pipeline/models.py, which knows nothing of
packing) with every conv widened to G channel groups, every norm layer to G times the channels, each block's
shortcut padding each model's own channels, and a classifier of one slice per model: the input has 3G channels
and the output shape (batch, G, classes).

A test trains two runs packed and each alone and compares every step's loss and the final weights. Whether
packing beats one-run-at-a-time is a GPU question (benchmarks/many_models.py measures it); the Snakemake sweeps
still train one run per job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models import BasicBlock, ConvSlot, ResNet
from pipeline.norms import NormSpec, norm_factory
from pipeline.train.data import DeviceData, epoch_generator
from pipeline.train.engine import Recipe, at_chance, first_divergence
from pipeline.train.runs import Run


class PackedLinear(nn.Module):
    """G independent linear layers: input (batch, G * features), output (batch, G, classes)."""

    def __init__(self, models: int, features: int, classes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(models, classes, features))
        self.bias = nn.Parameter(torch.zeros(models, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grouped = x.reshape(x.shape[0], self.weight.shape[0], -1)
        return torch.einsum("bgc,gkc->bgk", grouped, self.weight) + self.bias


class PackedBlock(nn.Module):
    """A basic block of G models: the block's own slots (widened) and a shortcut that appends each model's zero
    channels after that model's own channels."""

    def __init__(self, block: BasicBlock, models: int):
        super().__init__()
        self.a, self.b, self.act_a, self.act_out = block.a, block.b, block.act_a, block.act_out
        self.stride, self.extra_channels, self.models = block.stride, block.extra_channels, models

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.extra_channels:
            b, c, h, w = shortcut.shape
            grouped = shortcut.reshape(b, self.models, c // self.models, h, w)
            shortcut = F.pad(grouped, (0, 0, 0, 0, 0, self.extra_channels)).reshape(b, -1, h, w)
        return self.act_out(self.b(self.act_a(self.a(x))) + shortcut)


def _widen(slot: ConvSlot, models: int, make_norm) -> None:
    """Give a conv slot G channel groups (and its norm, if any, G times the channels)."""
    conv = slot.conv
    if not isinstance(slot.norm, nn.Identity):
        slot.norm = make_norm(conv.out_channels * models)
    slot.conv = nn.Conv2d(
        conv.in_channels * models,
        conv.out_channels * models,
        3,
        stride=conv.stride,
        padding=1,
        bias=conv.bias is not None,
        groups=models,
    )


class PackedResNet(ResNet):
    """G copies of the paper's ResNet side by side, nothing shared: load their weights with :func:`pack_state`
    (never initialize it directly: grouped convs have another fan-in)."""

    def __init__(self, models: int, depth: int, norm: NormSpec | None = None, widths=(16, 32, 64), num_classes=10,
                 bn_eps: float = 1e-5, bn_momentum: float = 0.1):  # fmt: skip
        super().__init__(depth, norm, widths, num_classes, bn_eps, bn_momentum)
        self.pack = models
        make = norm_factory(self.norm_spec, bn_eps, bn_momentum) if self.norm_spec.where != "none" else None
        for slot in self.conv_slots():
            _widen(slot, models, make)
        self.blocks = nn.Sequential(*(PackedBlock(block, models) for block in self.blocks))
        features = self.fc.in_features
        if self.norm_spec.where == "top":
            self.top_norm = make(features * models)
        self.fc = PackedLinear(models, features, num_classes)


def build(variant: dict, model_params: dict, depth: int, models: int) -> PackedResNet:
    """``models`` packed copies of the ResNet of a ``variants.<name>`` entry (pipeline.models.build's arguments)."""
    if variant.get("branch_init", "xavier") != "xavier":
        raise ValueError("packed networks have the paper's residual branches only (branch_init: xavier)")
    return PackedResNet(
        models,
        depth,
        NormSpec.from_variant(variant),
        tuple(model_params["widths"]),
        model_params["num_classes"],
        model_params["bn_eps"],
        model_params["bn_momentum"],
    )


def pack_state(states: list[dict]) -> dict:
    """One packed state dict from G single-model state dicts of the same architecture.

    Every per-channel tensor (conv weights and biases, norm parameters and statistics) is concatenated along
    its first dimension, the classifier stacked; scalar counters (same for every model) are kept once."""
    packed = {}
    for key, first in states[0].items():
        tensors = [s[key] for s in states]
        if first.dim() == 0:
            if any(not torch.equal(t, first) for t in tensors):
                raise ValueError(f"state key {key!r}: counters differ between the packed models")
            packed[key] = first.clone()
        elif key.startswith("fc."):
            packed[key] = torch.stack(tensors)
        else:
            packed[key] = torch.cat(tensors)
    return packed


def unpack_state(packed: dict, models: int) -> list[dict]:
    """The G single-model state dicts of a packed one (inverse of :func:`pack_state`)."""
    states: list[dict] = [{} for _ in range(models)]
    for key, tensor in packed.items():
        if tensor.dim() == 0:
            parts = [tensor.clone() for _ in range(models)]
        elif key.startswith("fc."):
            parts = list(tensor.unbind(0))
        else:
            parts = list(tensor.chunk(models))
        for state, part in zip(states, parts, strict=True):
            state[key] = part.clone()
    return states


@dataclass
class PackedSGD:
    """SGD with momentum and weight decay on packed tensors, one learning rate per model.

    Per element, as ``torch.optim.SGD`` (no dampening, no Nesterov): d = grad + wd * p; buf = d on the first
    step, else momentum * buf + d; p -= lr_g * buf."""

    params: list[torch.Tensor]
    models: int
    momentum: float
    weight_decay: float

    def __post_init__(self):
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def _rates(self, p: torch.Tensor, lrs: torch.Tensor) -> torch.Tensor:
        """``lrs`` (G,) broadcast to ``p``: model g owns the g-th chunk of the first dimension."""
        per_row = lrs.repeat_interleave(p.shape[0] // self.models)
        return per_row.view(-1, *([1] * (p.dim() - 1)))

    @torch.no_grad()
    def step(self, lrs: torch.Tensor) -> None:
        for i, p in enumerate(self.params):
            d = p.grad.add(p, alpha=self.weight_decay)
            if self.buffers[i] is None:
                self.buffers[i] = d.clone()
            else:
                self.buffers[i].mul_(self.momentum).add_(d)
            p.sub_(self._rates(p, lrs) * self.buffers[i])

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def model_inputs(images: list[torch.Tensor]) -> torch.Tensor:
    """G mini-batches (B, 3, H, W) as one packed input (B, 3G, H, W): model g reads channels 3g..3g+2."""
    return torch.cat(images, dim=1)


@torch.no_grad()
def evaluate(model: PackedResNet, data: DeviceData, batch_size: int = 1000) -> tuple[list[float], list[float]]:
    """(mean test loss, test accuracy) per packed model, evaluation mode."""
    model.eval()
    models = model.pack
    loss = torch.zeros(models, dtype=torch.float64, device=data.test_x.device)
    correct = torch.zeros(models, dtype=torch.int64, device=data.test_x.device)
    for images, labels in data.test_batches(batch_size):
        logits = model(images.repeat(1, models, 1, 1))  # (B, G, classes)
        per = F.cross_entropy(logits.permute(0, 2, 1), labels[:, None].expand(-1, models), reduction="none")
        loss += per.double().sum(0)
        correct += (logits.argmax(2) == labels[:, None]).sum(0)
    n = data.test_x.shape[0]
    return (loss / n).tolist(), (correct.double() / n).tolist()


@dataclass
class PackedOutcome:
    """Per run: its metric rows, status (completed | diverged | chance) and detail, its final weights (not
    meaningful after a divergence), and every step's mini-batch loss."""

    rows: list[list[dict]]
    status: list[str]
    detail: list[dict]
    states: list[dict]
    step_losses: list[list[float]]


def train_packed(
    runs: list[Run], recipe: Recipe, model: PackedResNet, data: DeviceData, log=print, test: bool = True
) -> PackedOutcome:
    """Train ``runs`` (same variant, depth and epochs) packed in ``model`` (``model.pack == len(runs)``, at the
    runs' initial weights, see :func:`pack_state`). Each run's mini-batches, schedule and divergence are its own;
    divergence is checked once per epoch (no host synchronization inside it). ``test=False`` skips the test-set
    evaluation after each epoch (benchmarks time the steps alone)."""
    models = len(runs)
    if model.pack != models or len({(r.variant, r.depth, r.epochs) for r in runs}) != 1:
        raise ValueError("packed runs must share variant, depth and epochs, one per packed model")
    device = data.train_x.device
    optimizer = PackedSGD(list(model.parameters()), models, recipe.momentum, recipe.weight_decay)
    rows: list[list[dict]] = [[] for _ in runs]
    status, detail = ["completed"] * models, [{} for _ in runs]
    steps = data.batches_per_epoch(recipe.batch_size)
    history: list[torch.Tensor] = []
    for epoch in range(runs[0].epochs):
        active = torch.tensor([s == "completed" for s in status], device=device)
        lrs = torch.tensor([r.lr_at(epoch, list(recipe.milestones), recipe.decay) for r in runs], device=device)
        lrs = torch.where(active, lrs, torch.zeros_like(lrs))  # a diverged model is frozen
        generators = [epoch_generator(r.seed, epoch, device) for r in runs]
        streams = [data.train_batches(recipe.batch_size, recipe.pad, recipe.flip, g) for g in generators]
        losses = torch.empty(steps, models, device=device)
        correct = torch.zeros(models, dtype=torch.int64, device=device)
        model.train()
        for step, batches in enumerate(zip(*streams, strict=True)):
            labels = torch.stack([y for _, y in batches], 1)  # (B, G)
            logits = model(model_inputs([x for x, _ in batches]))  # (B, G, classes)
            per_model = F.cross_entropy(logits.permute(0, 2, 1), labels, reduction="none").mean(0)  # (G,)
            optimizer.zero_grad()
            per_model.sum().backward()
            optimizer.step(lrs)
            losses[step] = per_model.detach()
            correct += (logits.argmax(2) == labels).sum(0)
        host = losses.double().cpu()  # the epoch's one synchronization
        history.append(host)
        test_loss, test_acc = evaluate(model, data) if test else ([math.nan] * models, [math.nan] * models)
        seen, sizes = data.train_x.shape[0], data.batch_sizes(recipe.batch_size)
        for g in range(models):
            if status[g] != "completed":
                continue
            bad = first_divergence(host[:, g], recipe.divergence_loss)
            if bad is not None:
                status[g] = "diverged"
                detail[g] = {"step": epoch * steps + bad, "epoch": epoch + 1, "loss": float(host[bad, g])}
                continue
            measured = {
                "train_loss": float((host[:, g] * sizes).sum()) / seen,
                "train_acc": int(correct[g]) / seen,
                "test_loss": test_loss[g],
                "test_acc": test_acc[g],
                "lr": float(lrs[g]),
            }
            rows[g] += [{"epoch": epoch + 1, "metric": k, "value": float(v)} for k, v in measured.items()]
        log(f"epoch {epoch + 1}/{runs[0].epochs}: test acc " + " ".join(f"{a:.3f}" for a in test_acc))
    for g in range(models):
        final = at_chance(rows[g], model.num_classes, recipe.chance_margin)
        if status[g] == "completed" and final is not None:
            status[g], detail[g] = "chance", {"test_acc": final}
    steps_seen = torch.cat(history).T.tolist()
    return PackedOutcome(rows, status, detail, unpack_state(model.state_dict(), models), steps_seen)
