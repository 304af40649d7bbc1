"""Figure 3's probe: the channel means and variances that BN measures, or would measure, at every norm position.

For each mini-batch and each conv layer k, the input of the norm slot after conv k (the conv output) gives one
mean and one (biased) variance per channel over (batch, x, y): exactly the moments BN normalizes with. The raw
per-batch, per-channel values are the probe's long-format output; :mod:`pipeline.analysis.moments` reduces them
the way the paper plots them and decides the claim.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
import torch

from pipeline import batches
from pipeline.models import ResNet, layer_number
from pipeline.probes.job import ProbeJob
from pipeline.runtime import progress

STATS = ("mean", "var")


@torch.no_grad()
def channel_moments(
    model: ResNet, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], stem_is_layer_1: bool = True
) -> pl.DataFrame:
    """Per batch, conv layer and channel, the mean and variance of the norm slot's input. Training mode.

    Columns: batch, layer, channel, stat (mean | var), value.
    """
    model.train()
    slots = model.conv_slots()
    found: dict[int, torch.Tensor] = {}

    def recorder(index):
        def hook(_module, inputs):
            var, mean = torch.var_mean(inputs[0].double(), dim=(0, 2, 3), correction=0)
            found[index] = torch.stack([mean, var]).cpu()

        return hook

    handles = [slot.norm.register_forward_pre_hook(recorder(i)) for i, slot in enumerate(slots)]
    rows = []
    try:
        for b, (images, _labels) in enumerate(batches):
            found.clear()
            model(images)
            for index, moments in sorted(found.items()):
                channels = moments.shape[1]
                rows.append(
                    pl.DataFrame(
                        {
                            "batch": [b] * 2 * channels,
                            "layer": [layer_number(index, stem_is_layer_1)] * 2 * channels,
                            "channel": list(range(channels)) * 2,
                            "stat": [STATS[0]] * channels + [STATS[1]] * channels,
                            "value": moments.flatten().tolist(),
                        }
                    )
                )
    finally:
        for handle in handles:
            handle.remove()
    return pl.concat(rows).with_columns(pl.col("batch", "layer", "channel").cast(pl.Int32))


def run(job: ProbeJob) -> pl.DataFrame:
    """Probe one initial checkpoint and write the long-format Parquet (with its provenance record) to the output
    ``moments``."""
    model, state, cifar = job.load()
    p = job.params
    drawn = batches.probe_batches(cifar, p["batch_size"], p["batches"], p["data_seed"])
    measured = channel_moments(model, progress(drawn, p["batches"], "mini-batches"), job.stem_is_layer_1)
    job.write(measured, job.outputs["moments"], state)
    return measured
