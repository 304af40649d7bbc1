"""Single updates and the loss along them (§3.4, App. N): Fig. 5, 6 and 24.

The diverging update (Fig. 5, 6): train with the engine's recipe and data order, one step at a time, keeping
the parameters, momentum buffers and mini-batch of the previous step. At the first mini-batch whose loss
exceeds the divergence threshold (step k), the responsible update is step k-1: from theta_{k-1}, on batch
B_{k-1}, SGD moved along u = momentum x buf + (grad + weight_decay x theta) (PyTorch's SGD). The path is
theta(t) = theta_{k-1} - t lr u, t in [0, 1]; theta(1) is the parameters the optimizer produced (a test checks
it), and the loss along it is evaluated on B_{k-1}, the batch whose gradient made the update.

The batch landscape (Fig. 24): after k real training steps at a network's own rate, the loss of batch B_k along
its own gradient, theta_k - eta g_k, for a range of step sizes eta.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import torch
import torch.nn.functional as F

from pipeline.models import ResNet
from pipeline.probes.moments import channel_moments  # the Fig. 3 probe, reused at every point of the path
from pipeline.runtime import progress
from pipeline.train.data import DeviceData
from pipeline.train.engine import Recipe, make_optimizer, training_steps


@dataclass
class DivergingUpdate:
    """The update that made a run diverge: where it started, its direction, its batch, and what followed."""

    step: int  # k - 1: the responsible step (0-based)
    params: list[torch.Tensor]  # theta_{k-1}
    direction: list[torch.Tensor]  # u: theta_k = theta_{k-1} - lr u
    images: torch.Tensor
    labels: torch.Tensor
    after: list[torch.Tensor]  # theta_k as the optimizer left it
    diverged_loss: float  # the loss of batch B_k at theta_k, above the threshold


def batch_loss(model: ResNet, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of one mini-batch, training mode (BN on the batch's own statistics)."""
    model.train()
    return F.cross_entropy(model(images), labels)


def find_diverging_update(model: ResNet, data: DeviceData, recipe: Recipe, lr: float, seed: int, max_steps: int):
    """Train until the first mini-batch loss above the threshold; return its :class:`DivergingUpdate`.

    Raises ValueError if the loss is above the threshold before any update (no update is responsible) or if
    ``max_steps`` steps pass without divergence.
    """
    optimizer = make_optimizer(model, recipe, lr)
    params = list(model.parameters())
    previous = None
    steps = progress(training_steps(data, recipe, seed), max_steps, "steps (until the loss diverges, at most)")
    for step, (images, labels) in enumerate(steps):
        if step >= max_steps:
            raise ValueError(f"no mini-batch loss above {recipe.divergence_loss:g} in {max_steps} steps at lr {lr:g}")
        loss = batch_loss(model, images, labels)
        if not torch.isfinite(loss.detach()) or float(loss.detach()) > recipe.divergence_loss:
            if previous is None:
                raise ValueError(f"the first mini-batch loss is already {float(loss.detach()):.4g}: no update to blame")
            after = [p.detach().clone() for p in params]
            theta, buffers, old_images, old_labels = previous
            direction = update_direction(model, theta, buffers, old_images, old_labels, recipe)
            return DivergingUpdate(step - 1, theta, direction, old_images, old_labels, after, float(loss.detach()))
        theta = [p.detach().clone() for p in params]
        buffers = [optimizer.state[p].get("momentum_buffer") for p in params]
        buffers = [None if b is None else b.clone() for b in buffers]
        previous = (theta, buffers, images, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    raise AssertionError("unreachable")


def update_direction(
    model: ResNet,
    theta: list[torch.Tensor],
    buffers: list[torch.Tensor | None],
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe,
) -> list[torch.Tensor]:
    """u of PyTorch's SGD at ``theta`` on this batch: momentum x buffer + grad + weight_decay x theta (the
    buffer is absent on the first step). Leaves the model at ``theta``."""
    set_params(model, theta)
    grads = torch.autograd.grad(batch_loss(model, images, labels), list(model.parameters()))
    direction = []
    for g, p, buf in zip(grads, theta, buffers, strict=True):
        d = g.add(p, alpha=recipe.weight_decay)  # PyTorch SGD's own operations, in its order
        direction.append(d if buf is None else buf.mul(recipe.momentum).add(d))
    return direction


@torch.no_grad()
def set_params(model: ResNet, values: list[torch.Tensor]) -> None:
    for p, v in zip(model.parameters(), values, strict=True):
        p.copy_(v)


@torch.no_grad()
def along(model: ResNet, start: list[torch.Tensor], direction: list[torch.Tensor], scale: float) -> None:
    """Move the model to start - scale x direction (the optimizer's own arithmetic: add with alpha)."""
    for p, s, d in zip(model.parameters(), start, direction, strict=True):
        p.copy_(s.add(d, alpha=-scale))


@torch.no_grad()
def losses_along(
    model: ResNet, start: list[torch.Tensor], direction: list[torch.Tensor], scales: list[float], images, labels
) -> list[float]:
    """The batch loss at start - s x direction for every s in ``scales``."""
    out = []
    for scale in progress(scales, len(scales), "points along the update"):
        along(model, start, direction, scale)
        out.append(float(batch_loss(model, images, labels)))
    return out


def gradient_at_step(model: ResNet, data: DeviceData, recipe: Recipe, lr: float, seed: int, index: int):
    """Train ``index`` real steps at ``lr``; return (theta_index, its batch, the batch's gradient g)."""
    optimizer = make_optimizer(model, recipe, lr)
    for step, (images, labels) in enumerate(training_steps(data, recipe, seed)):
        loss = batch_loss(model, images, labels)
        if step == index:
            grads = torch.autograd.grad(loss, list(model.parameters()))
            return [p.detach().clone() for p in model.parameters()], images, labels, list(grads)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    raise AssertionError("unreachable")


def _flat_dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b, strict=True)))


def diverging_path(model: ResNet, data: DeviceData, recipe: Recipe, settings: dict, seed: int, stem_is_layer_1: bool):
    """Fig. 5 and 6: the loss and the channel moments along the diverging update. Returns (path, moments, info):

    - path: t, loss (on the responsible batch), linear = the first-order prediction L(0) - t lr <g, u>;
    - moments: t, layer, channel, stat (mean | var), value (the norm-slot inputs, as in Fig. 3);
    - info: step, lr, diverged_loss and end_error = max |theta(1) - theta_k| (0 when the replay is exact).
    """
    lr = settings["lr"]
    update = find_diverging_update(model, data, recipe, lr, seed, settings["max_steps"])
    set_params(model, update.params)
    grads = torch.autograd.grad(batch_loss(model, update.images, update.labels), list(model.parameters()))
    slope = lr * _flat_dot(list(grads), update.direction)
    ts = torch.linspace(0, 1, settings["points"]).tolist()
    losses = losses_along(model, update.params, update.direction, [t * lr for t in ts], update.images, update.labels)
    along(model, update.params, update.direction, lr)
    end_error = max(float((p - a).abs().max()) for p, a in zip(model.parameters(), update.after, strict=True))
    frames = []
    points = torch.linspace(0, 1, settings["moment_points"]).tolist()
    for t in progress(points, len(points), "channel moments along the update"):
        along(model, update.params, update.direction, t * lr)
        frames.append(
            channel_moments(model, [(update.images, update.labels)], stem_is_layer_1)
            .drop("batch")
            .with_columns(t=pl.lit(t))
        )
    path = pl.DataFrame({"t": ts, "loss": losses, "linear": [losses[0] - t * slope for t in ts]})
    info = {"step": update.step, "lr": lr, "diverged_loss": update.diverged_loss, "end_error": end_error}
    return path, pl.concat(frames), info


def batch_landscape(model: ResNet, data: DeviceData, recipe: Recipe, lr: float, settings: dict, seed: int):
    """Fig. 24 for one network: per listed mini-batch (1-based), its loss along its own gradient at each eta."""
    etas = torch.logspace(settings["min_step"], settings["max_step"], settings["points"]).tolist()
    start = [p.detach().clone() for p in model.parameters()]
    frames = []
    for batch in progress(settings["batches"], len(settings["batches"]), "mini-batches"):
        set_params(model, start)
        theta, images, labels, grads = gradient_at_step(model, data, recipe, lr, seed, batch - 1)
        losses = losses_along(model, theta, grads, [0.0, *etas], images, labels)
        frames.append(pl.DataFrame({"batch": batch, "eta": [0.0, *etas], "loss": losses}))
    return pl.concat(frames)
