"""Figure 3: the channel means and variances that BN measures, or would measure, at every norm position.

For each mini-batch and each conv layer k, the input of the norm slot after conv k (the conv output) gives one
mean and one (biased) variance per channel over (batch, x, y): exactly the moments BN normalizes with. The raw
per-batch, per-channel values are the probe's long-format output; :func:`layer_summary` reduces them the way the
paper plots them: per channel, the moments averaged over the mini-batches; per layer, the mean over channels of
abs(channel mean) and of channel variance, with the standard deviation across channels as the error bar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import polars as pl
import torch

from pipeline import checkpoints, data, parquet, provenance
from pipeline.claims import Check
from pipeline.jobs import progress
from pipeline.models import ResNet, layer_number

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


def layer_summary(moments: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, layer, stat): mean and std across channels of |batch-averaged channel mean| or variance.

    Works on the probe output with a ``variant`` column (the figure concatenates bn and none).
    """
    per_channel = (
        moments.group_by("variant", "layer", "stat", "channel")
        .agg(pl.col("value").mean())
        .with_columns(pl.when(pl.col("stat") == "mean").then(pl.col("value").abs()).otherwise(pl.col("value")))
    )
    return (
        per_channel.group_by("variant", "layer", "stat")
        .agg(mean=pl.col("value").mean(), std=pl.col("value").std(ddof=0), channels=pl.len())
        .sort("variant", "stat", "layer")
    )


def fitted_decades(layers: list[int], values: list[float]) -> float:
    """Orders of magnitude a per-layer series rises over its span, from a least-squares line through log10.

    A fit, not last/first: in a ResNet the two convs of a block see different inputs (the residual stream, or
    relu(norm(...))), so consecutive layers alternate, and one layer's value is a noisy endpoint.
    """
    n = len(layers)
    mx, my = sum(layers) / n, sum(math.log10(v) for v in values) / n
    slope = sum((x - mx) * (math.log10(v) - my) for x, v in zip(layers, values, strict=True)) / sum(
        (x - mx) ** 2 for x in layers
    )
    return slope * (max(layers) - min(layers))


def claims(
    summary: pl.DataFrame, normalized: str, unnormalized: str, min_growth: float, max_growth: float, profile: str
) -> list[Check]:
    """Fig. 3's claim: the unnormalized moments grow ~exponentially with depth, the normalized ones stay flat.

    For each moment, the decades it rises over depth (:func:`fitted_decades`) after the stem: the stem's input is
    the standardized image, not something the network made (its channel means are ~0 by construction).
    """
    checks = []
    rising = pl.col("layer") > summary["layer"].min()
    for stat, label in (("var", "channel variance"), ("mean", "abs channel mean")):
        growth = {}
        for variant in (normalized, unnormalized):
            rows = summary.filter(pl.col("variant") == variant, pl.col("stat") == stat, rising).sort("layer")
            growth[variant] = fitted_decades(rows["layer"].to_list(), rows["mean"].to_list())
        checks += [
            Check(
                "fig3",
                "unnormalized: channel moments grow ~exponentially with depth",
                f"{unnormalized}: decades the {label} rises over depth (log-linear fit)",
                growth[unnormalized],
                f">= {min_growth:g}",
                growth[unnormalized] >= min_growth,
                profile,
            ),
            Check(
                "fig3",
                "batch-normalized: channel moments stay roughly constant",
                f"{normalized}: decades the {label} rises over depth (log-linear fit)",
                growth[normalized],
                f"<= {max_growth:g}",
                growth[normalized] <= max_growth,
                profile,
            ),
        ]
    return checks


def run(
    checkpoint_path: str,
    data_npz: str,
    data_provenance: str,
    probe_params: dict,
    stem_is_layer_1: bool,
    profile: str,
    out_path: str,
) -> pl.DataFrame:
    """Probe one initial checkpoint and write the long-format Parquet (with its provenance record)."""
    model, state = checkpoints.load_model(checkpoint_path)
    cifar = data.load_prepared(data_npz)
    batches = data.probe_batches(cifar, probe_params["batch_size"], probe_params["batches"], probe_params["data_seed"])
    measured = channel_moments(model, progress(batches, probe_params["batches"], "mini-batches"), stem_is_layer_1)
    frame = measured.with_columns(
        variant=pl.lit(state["variant_name"]),
        depth=pl.lit(state["depth"], pl.Int32),
        seed=pl.lit(state["seed"], pl.Int32),
    )
    params = {**probe_params, "variant": state["variant_name"], "depth": state["depth"], "seed": state["seed"]}
    parquet.write(frame, out_path, provenance.record(profile, params, data.load_provenance(data_provenance)))
    return frame


def read(paths: list[str]) -> tuple[pl.DataFrame, dict]:
    """The per-layer summary of several probe files (one per variant) and a provenance record for the figure.

    The record is the first file's, with ``params.variants`` listing the variants in the given order; the files
    must agree on everything but the variant.
    """
    records = [parquet.provenance(p) for p in paths]
    shared = [{k: v for k, v in r["params"].items() if k != "variant"} for r in records]
    if any(s != shared[0] for s in shared) or any(r["data"] != records[0]["data"] for r in records):
        raise ValueError(f"{paths}: the probe files were made with different parameters or data; rerun them")
    record = {**records[0], "params": {**shared[0], "variants": [r["params"]["variant"] for r in records]}}
    return layer_summary(pl.concat([pl.read_parquet(p) for p in paths])), record
