"""Activation histograms (Fig. 13, 14) and channel mean vs gradient (Fig. 18) at initialization.

Fig. 13/14 histogram each channel of a conv layer's output over the images and positions of one mini-batch: the
norm slot's input, the same tensor whose moments Fig. 3 plots (for a BN network this is the conv output BN is
about to normalize, so "centered" is a finding, not a construction). The histograms are fine (``bins`` per
channel, on the channel's own range) so the analysis can smooth them and count modes.

Fig. 18 puts one point per kernel weight of a layer: x = the mean over the data of the pre-ReLU activation of the
weight's input channel, y = the weight's gradient averaged over the probed mini-batches. The pre-ReLU tensor is
the input of the ReLU that feeds the layer (:func:`pipeline.models.input_activation`).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
import torch
import torch.nn.functional as F

from pipeline import batches
from pipeline.models import ResNet, input_activation, kernel_channels, layer_module
from pipeline.probes.job import ProbeJob
from pipeline.runtime import progress

OUTPUTS = ("histograms", "mean_gradients")  # the Parquet files :func:`run` writes


@torch.no_grad()
def histograms(model: ResNet, images: torch.Tensor, layers: list[int], bins: int, stem_is_layer_1: bool = True):
    """Per layer and channel, a ``bins``-bin histogram of the conv output over (batch, x, y), training mode.

    Columns: layer, channel, bin, left, right, count, mean, std (the channel's exact mean and std, repeated).
    """
    model.train()
    convs = [layer_module(model, k, stem_is_layer_1) for k in layers]
    slots = {slot.conv: slot for slot in model.conv_slots()}
    found: dict[int, torch.Tensor] = {}
    handles = [
        slots[conv].norm.register_forward_pre_hook(lambda _m, args, k=k: found.__setitem__(k, args[0].double()))
        for k, conv in zip(layers, convs, strict=True)
    ]
    try:
        model(images)
    finally:
        for handle in handles:
            handle.remove()
    frames = []
    for layer in layers:
        per_channel = found[layer].transpose(0, 1).flatten(1)  # (C, B*H*W)
        for channel, values in enumerate(per_channel):
            low, high = float(values.min()), float(values.max())
            high = high if high > low else low + 1.0  # a constant channel: one occupied bin
            counts = torch.histc(values, bins, low, high)
            edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
            frames.append(
                pl.DataFrame(
                    {
                        "layer": layer,
                        "channel": channel,
                        "bin": range(bins),
                        "left": edges[:-1].tolist(),
                        "right": edges[1:].tolist(),
                        "count": counts.long().tolist(),
                        "mean": float(values.mean()),
                        "std": float(values.std(correction=0)),
                    }
                )
            )
    return pl.concat(frames)


def mean_gradients(
    model: ResNet,
    drawn: Iterable[tuple[torch.Tensor, torch.Tensor]],
    layer: int,
    stem_is_layer_1: bool = True,
    loss_fn=F.cross_entropy,
) -> pl.DataFrame:
    """Per kernel weight of ``layer``: its input channel's mean pre-ReLU activation and its mean gradient.

    Both are averages over the mini-batches (equal sizes, so the mean of batch means is the mean over the
    data); the gradient is that of the mini-batch loss, training mode. Columns: param, out_channel,
    in_channel, channel_mean, gradient.
    """
    model.train()
    relu = input_activation(model, layer, stem_is_layer_1)  # raises for the stem and the classifier
    weight = layer_module(model, layer, stem_is_layer_1).weight
    channel_means, grads = [], []
    handle = relu.register_forward_pre_hook(
        lambda _m, args: channel_means.append(args[0].detach().double().mean((0, 2, 3)))
    )
    try:
        for images, labels in drawn:
            (grad,) = torch.autograd.grad(loss_fn(model(images), labels), weight)
            grads.append(grad.double())
    finally:
        handle.remove()
    mean = torch.stack(channel_means).mean(0)
    grad = torch.stack(grads).mean(0)
    columns = kernel_channels(grad.shape)
    return pl.DataFrame(
        {
            **columns,
            "channel_mean": mean[columns["in_channel"]].tolist(),
            "gradient": grad.flatten().tolist(),
        }
    )


def run(job: ProbeJob) -> None:
    """Probe one initial checkpoint; write the outputs ``histograms`` (first mini-batch of the probe draw) and
    ``mean_gradients`` (all of the draw's mini-batches), each with provenance."""
    model, state, cifar = job.load()
    p, chosen = job.params, job.params["activations"]
    drawn = list(batches.probe_batches(cifar, p["batch_size"], p["batches"], p["data_seed"]))
    layers = chosen["fig13_layers"]
    hist = histograms(model, drawn[0][0], layers, chosen["bins"], job.stem_is_layer_1)
    job.write(hist, job.outputs["histograms"], state)
    measured = mean_gradients(
        model, progress(drawn, len(drawn), "mini-batches"), chosen["fig18_layer"], job.stem_is_layer_1
    )
    job.write(measured.with_columns(layer=pl.lit(chosen["fig18_layer"])), job.outputs["mean_gradients"], state)
