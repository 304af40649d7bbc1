"""Exact statistics of the summands of a conv kernel's gradient (Table 1, Table 4, Fig. 2, 7, 22, 23).

For a conv weight K(co, ci, i, j) the gradient is a sum over images b and output positions (x, y) of
    d[b, x, y] = dL/dOUT(b, co, x, y) * IN(b, ci, x+i, y+j)          (eq. 4)
With U = unfold(IN) (B, ci*kh*kw, L positions) and g = dL/dOUT (B, co, L), every statistic is a contraction:
    (a) sum_bxy |d|       = sum_bl |g[b,co,l]| |U[b,k,l]|              one matmul of |g| and |U|
    (b) sum_b |sum_xy d|  = sum_b |G_b|,  G_b = g_b U_b^T              per-image gradients (batched matmul)
    (c) sum_xy |sum_b d|  = sum_l |P_l|,  P_l = sum_b g[b,:,l] U[b,:,l]^T  per-position gradients
    (d) |sum_bxy d|       = |sum_b G_b|                                the gradient itself
each scaled by 1 / (L x B) as in the paper. No summand tensor of size B x L x co x k is ever formed, and there
is no loop over images. A test checks all four against per-image, per-position autograd on a small network.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import torch
import torch.nn.functional as F
from torch import nn

from pipeline import batches
from pipeline.models import ResNet, kernel_channels, layer_module, layer_number
from pipeline.probes.job import ProbeJob
from pipeline.probes.logits import frame as logit_frame
from pipeline.runtime import progress

STATS = ("a", "b", "c", "d")  # Table 1's columns, in the paper's order
OUTPUTS = ("table", "params", "logits", "channels", "classes", "summands")  # the Parquet files :func:`run` writes


@dataclass
class ConvTrace:
    """What one conv saw in one forward/backward pass: its input and the gradient of the loss at its output."""

    conv: nn.Conv2d
    inputs: torch.Tensor  # (B, ci, H, W)
    grad_out: torch.Tensor  # (B, co, H', W')

    def unfolded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(U, g): U (B, ci*kh*kw, L) in float64, g (B, co, L) in float64."""
        c = self.conv
        u = F.unfold(self.inputs.double(), c.kernel_size, c.dilation, c.padding, c.stride)
        return u, self.grad_out.double().flatten(2)


def kernel_statistics(trace: ConvTrace) -> dict[str, torch.Tensor]:
    """The four statistics per kernel parameter, each shaped like the weight (co, ci, kh, kw), scaled 1/(L B)."""
    u, g = trace.unfolded()
    batch, positions = g.shape[0], g.shape[2]
    per_image = torch.einsum("bol,bkl->bok", g, u)
    per_position = torch.einsum("bol,bkl->lok", g, u)
    stats = {
        "a": torch.einsum("bol,bkl->ok", g.abs(), u.abs()),
        "b": per_image.abs().sum(0),
        "c": per_position.abs().sum(0),
        "d": per_image.sum(0).abs(),
    }
    shape = trace.conv.weight.shape
    return {k: (v / (positions * batch)).reshape(shape) for k, v in stats.items()}


def gradient(trace: ConvTrace) -> torch.Tensor:
    """The kernel's gradient sum_bxy d (signed), shaped like the weight, from the same contraction."""
    u, g = trace.unfolded()
    return torch.einsum("bol,bkl->ok", g, u).reshape(trace.conv.weight.shape)


def parameter_summands(trace: ConvTrace, index: tuple[int, int, int, int]) -> torch.Tensor:
    """All summands d[b, x, y] of one kernel parameter (co, ci, i, j): a (B, L) tensor (Fig. 22)."""
    co, ci, i, j = index
    u, g = trace.unfolded()
    kh, kw = trace.conv.kernel_size
    return g[:, co, :] * u[:, (ci * kh + i) * kw + j, :]


def typical_aligned_parameter(stats: dict[str, torch.Tensor], min_ratio: float) -> int | None:
    """Fig. 22's parameter: a typical one among the live parameters whose |sum d| is close to sum |d|.

    Live: (a) at or above the layer's median (without it the rule picks parameters of near-dead input channels,
    whose few nonzero summands trivially agree in sign). Candidates: live with (d) >= ``min_ratio`` x (a); the one
    with the median (a) is "typical". A network with no candidate (BN: (d)/(a) is ~0.03 there) gets its live
    parameter with the largest (d)/(a), the closest it comes; the figure shows that ratio. Returns a flat index,
    or None when every summand of the layer is 0 (a SkipInit branch at initialization: its output is scaled by 0,
    so no gradient reaches its kernels).
    """
    a, d = stats["a"].flatten(), stats["d"].flatten()
    live = torch.nonzero((a >= a.median()) & (a > 0)).flatten()
    if not len(live):
        return None
    candidates = live[d[live] >= min_ratio * a[live]]
    if not len(candidates):
        return int(live[(d[live] / a[live]).argmax()])
    ordered = candidates[a[candidates].argsort()]
    return int(ordered[(len(ordered) - 1) // 2])


@dataclass
class Trace:
    """One forward and backward pass of the mini-batch loss at initialization (training mode)."""

    convs: dict[int, ConvTrace]  # the listed conv layers: input and output gradient
    logits: torch.Tensor  # (B, classes)
    logit_grad: torch.Tensor  # dL/dlogits of the mean loss, (B, classes)
    channel_grad: dict[int, torch.Tensor]  # per conv layer: dL/d(bias added at its norm slot's output), (co,)


def trace(
    model: ResNet,
    convs: dict[int, nn.Conv2d],
    images: torch.Tensor,
    labels: torch.Tensor,
    stem_is_layer_1: bool = True,
    loss_fn=F.cross_entropy,
) -> Trace:
    """One forward and backward pass of the mini-batch loss, training mode, recording what the probes need.

    The loss is ``loss_fn`` (mean over the batch, as in training): the statistics' ratios do not depend on that
    choice, their scale does. The channel gradient of conv layer k is the gradient of a per-channel bias added
    at the output of its norm slot: BN's beta where there is BN, the conv bias where there is none (a bias before
    BN would have zero gradient, since BN removes the channel mean).
    """
    model.train()
    model.zero_grad(set_to_none=True)
    inputs: dict[int, torch.Tensor] = {}
    outputs: dict[int, torch.Tensor] = {}
    channel_grad: dict[int, torch.Tensor] = {}

    def keep(layer):
        def hook(_module, args, out):
            inputs[layer] = args[0].detach()
            out.retain_grad()
            outputs[layer] = out

        return hook

    def channel_sum(layer):
        def hook(_module, _args, out):
            out.register_hook(lambda grad: channel_grad.__setitem__(layer, grad.detach().sum((0, 2, 3))))

        return hook

    handles = [conv.register_forward_hook(keep(layer)) for layer, conv in convs.items()]
    handles += [
        slot.norm.register_forward_hook(channel_sum(layer_number(i, stem_is_layer_1)))
        for i, slot in enumerate(model.conv_slots())
    ]
    try:
        logits = model(images)
        logits.retain_grad()
        loss_fn(logits, labels).backward()
    finally:
        for handle in handles:
            handle.remove()
    traced = {layer: ConvTrace(convs[layer], inputs[layer], outputs[layer].grad.detach()) for layer in convs}
    return Trace(traced, logits.detach(), logits.grad.detach(), channel_grad)


def class_masked_gradients(
    model: ResNet, weight: torch.Tensor, images: torch.Tensor, labels: torch.Tensor, loss_fn=F.cross_entropy
) -> torch.Tensor:
    """Fig. 20/21: the kernel gradient when dL/dz_bj is kept for one class j only, for every class: (C, *weight).

    One forward pass; backpropagation of the logit gradient masked to column j, for each j. By linearity the
    per-class gradients sum to the full gradient (a test checks it).
    """
    model.train()
    logits = model(images)
    (logit_grad,) = torch.autograd.grad(loss_fn(logits, labels), logits, retain_graph=True)
    per_class = []
    for j in range(logits.shape[1]):
        mask = torch.zeros_like(logit_grad)
        mask[:, j] = 1.0
        (g,) = torch.autograd.grad(logits, weight, grad_outputs=logit_grad * mask, retain_graph=True)
        per_class.append(g)
    return torch.stack(per_class)


def _per_parameter(layer: int, stat: str, values: torch.Tensor) -> pl.DataFrame:
    """One row per kernel parameter: its flat index, out and in channel, and the value of ``stat``."""
    return pl.DataFrame(
        {
            "layer": layer,
            **kernel_channels(values.shape),
            "stat": stat,
            "value": values.flatten().tolist(),
        }
    )


SUMMAND_SCHEMA = {
    "layer": pl.Int64,
    "param": pl.Int64,
    "a": pl.Float64,
    "d": pl.Float64,
    "median_a": pl.Float64,
    "image": pl.Int64,
    "position": pl.Int64,
    "value": pl.Float64,
}


def _summands(trace: ConvTrace, layer: int, stats: dict[str, torch.Tensor], min_ratio: float) -> pl.DataFrame:
    """Every summand d[b, x, y] of Fig. 22's parameter, with the selection's context (its a, d, the median a);
    no rows when the layer's kernel gradient is exactly 0 (there is no such parameter)."""
    chosen = typical_aligned_parameter(stats, min_ratio)
    if chosen is None:
        print(f"layer {layer}: every kernel summand is 0 (no gradient reaches it), so Fig. 22 has no parameter")
        return pl.DataFrame(schema=SUMMAND_SCHEMA)
    shape = trace.conv.weight.shape
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(chosen), shape))
    values = parameter_summands(trace, index)  # (B, L)
    batch, positions = values.shape
    a, d = stats["a"].flatten(), stats["d"].flatten()
    frame = pl.DataFrame(
        {
            "layer": layer,
            "param": chosen,
            "a": float(a[chosen]),
            "d": float(d[chosen]),
            "median_a": float(a.median()),
            "image": [b for b in range(batch) for _ in range(positions)],
            "position": list(range(positions)) * batch,
            "value": values.flatten().tolist(),
        }
    )
    return frame.cast(SUMMAND_SCHEMA)


def run(job: ProbeJob) -> None:
    """Probe one initial checkpoint on one mini-batch and write six long-format Parquet files (``job.outputs``):

    - table: layer, stat (a, b, c, d), value = mean over the kernel's parameters, dead_params = parameters whose
      summands are all zero (a dead input channel);
    - params: layer, param (flat index into the weight), out_channel, in_channel, stat (grad for the Fig. 2 layer;
      a and d for the Fig. 23 layer; d for the Fig. 7 layer), value;
    - summands: layer, param, a, d, median_a (of the layer), image, position, value = every summand d[b, x, y] of
      the Fig. 22 parameter;
    - logits: image, class, label, gradient = dL_b/dOUTPUT(b, j) of the image's own loss, probability (Fig. 4);
    - channels: layer, channel, value = gradient of the channel's bias after its norm slot (Fig. 19);
    - classes: layer, class, param, value = the kernel gradient with dL/dz kept for that class only (Fig. 20, 21).
    """
    model, state, cifar = job.load()
    images, labels = next(batches.probe_batches(cifar, job.params["batch_size"], 1, job.params["data_seed"]))
    chosen = job.params["gradients"]
    per_param_stats: dict[int, list[str]] = {}  # per-parameter values kept: Fig. 2, Fig. 7, Fig. 23
    for key, stat in (("fig2_layer", "grad"), ("fig7_layer", "d"), ("fig23_layer", "a"), ("fig23_layer", "d")):
        per_param_stats.setdefault(chosen[key], []).append(stat)
    layers = sorted({*chosen["table1_layers"], *chosen["table4_layers"], *per_param_stats, chosen["fig22_layer"]})
    convs = {k: layer_module(model, k, job.stem_is_layer_1) for k in layers}
    traced = trace(model, convs, images, labels, job.stem_is_layer_1)
    table, per_param = [], []
    for layer in progress(layers, len(layers), "layers"):
        stats = kernel_statistics(traced.convs[layer])
        dead = int((stats["a"] == 0).sum())
        table += [{"layer": layer, "stat": k, "value": float(stats[k].mean()), "dead_params": dead} for k in STATS]
        wanted = dict.fromkeys(per_param_stats.get(layer, []))  # only what the figures need, once each
        values = {**stats, "grad": gradient(traced.convs[layer])} if "grad" in wanted else stats
        for name in wanted:
            per_param.append(_per_parameter(layer, name, values[name]))
        if layer == chosen["fig22_layer"]:
            summands = _summands(traced.convs[layer], layer, stats, chosen["fig22_min_ratio"])
    logits = logit_frame(traced.logits, traced.logit_grad, labels)
    channels = pl.concat(
        [
            pl.DataFrame({"layer": layer, "channel": range(g.numel()), "value": g.tolist()})
            for layer, g in sorted(traced.channel_grad.items())
        ]
    )
    masked_layer = chosen["fig20_layer"]
    masked = class_masked_gradients(
        model, layer_module(model, masked_layer, job.stem_is_layer_1).weight, images, labels
    )
    per_class = masked.flatten(1)
    classes_frame = pl.DataFrame(
        {
            "layer": masked_layer,
            "class": [c for c in range(per_class.shape[0]) for _ in range(per_class.shape[1])],
            "param": list(range(per_class.shape[1])) * per_class.shape[0],
            "value": per_class.flatten().tolist(),
        }
    )
    frames = {
        "table": pl.DataFrame(table),
        "params": pl.concat(per_param),
        "summands": summands,
        "logits": logits,
        "channels": channels,
        "classes": classes_frame,
    }
    for kind, frame in frames.items():
        job.write(frame, job.outputs[kind], state)
