"""Fig. 13 / 14 from the activation probe's fine histograms: modes, centering, representative channels, claims.

A channel's distribution is *multimodal* when its histogram, smoothed by a Gaussian kernel of Silverman's
normal-reference bandwidth (1.06 std n^(-1/5), which over-smooths multimodal data, so the count is conservative),
has more than one mode: a local maximum at least ``min_height`` x the highest, separated from the next mode by a
dip at least ``min_dip`` x the lower of the two. *Centering* is |mean| / std of the channel.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.analysis import channels
from pipeline.claims import Check, Decision


def smoothed(counts: np.ndarray, bin_width: float, std: float) -> np.ndarray:
    """The histogram convolved with a Gaussian of Silverman's bandwidth (a binned kernel density estimate)."""
    n = counts.sum()
    sigma_bins = 1.06 * std * n ** (-0.2) / bin_width if std > 0 else 0.0
    if sigma_bins < 0.5:
        return counts.astype(float)
    half = int(np.ceil(4 * sigma_bins))
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_bins) ** 2)
    return np.convolve(counts.astype(float), kernel / kernel.sum(), mode="same")


def count_modes(density: np.ndarray, min_height: float, min_dip: float) -> int:
    """Modes of a (smoothed) histogram: local maxima >= min_height x the highest, each pair separated by a dip."""
    floor = min_height * density.max()
    modes: list[float] = []
    lowest_since = np.inf  # the lowest density since the last accepted mode
    for i, value in enumerate(density):
        lowest_since = min(lowest_since, value)
        left = density[i - 1] if i > 0 else -np.inf
        right = density[i + 1] if i + 1 < len(density) else -np.inf
        if value < floor or not (value > left and value >= right):
            continue
        if not modes or lowest_since <= (1 - min_dip) * min(modes[-1], value):
            modes.append(value)
        else:  # no real dip: the same mode, keep the higher top
            modes[-1] = max(modes[-1], value)
        lowest_since = value
    return len(modes)


def channel_shapes(hist: pl.DataFrame, min_height: float, min_dip: float) -> pl.DataFrame:
    """Per (variant, layer, channel): modes of the smoothed histogram and the centering |mean| / std."""
    rows = []
    for (variant, layer, channel), part in hist.sort("bin").group_by(["variant", "layer", "channel"]):
        counts = part["count"].to_numpy()
        width = float(part["right"][0] - part["left"][0])
        std, mean = float(part["std"][0]), float(part["mean"][0])
        modes = count_modes(smoothed(counts, width, std), min_height, min_dip)
        center = abs(mean) / std if std > 0 else 0.0
        rows.append({"variant": variant, "layer": layer, "channel": channel, "modes": modes, "center": center})
    return pl.DataFrame(rows).sort("variant", "layer", "channel")


def layer_shapes(shapes: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, layer): share of multimodal channels and the median centering."""
    return (
        shapes.group_by("variant", "layer")
        .agg(multimodal=(pl.col("modes") > 1).mean(), center=pl.col("center").median())
        .sort("variant", "layer")
    )


def representative(hist: pl.DataFrame, per_layer: int, rebin: int) -> pl.DataFrame:
    """Evenly spaced channels of each layer (0, C/k, 2C/k, ...: no hand picking), histograms merged ``rebin``
    bins at a time and scaled to a density (count / (n x bin width)) so channels share a y axis."""
    frames = []
    for (variant, layer), part in hist.group_by(["variant", "layer"]):
        channels = part["channel"].n_unique()
        chosen = sorted({round(i * channels / per_layer) for i in range(per_layer)})
        merged = (
            part.filter(pl.col("channel").is_in(chosen))
            .with_columns(group=pl.col("bin") // rebin)
            .group_by("channel", "group")
            .agg(left=pl.col("left").min(), right=pl.col("right").max(), count=pl.col("count").sum())
        )
        total = merged.group_by("channel").agg(n=pl.col("count").sum())
        frames.append(
            merged.join(total, on="channel")
            .with_columns(
                variant=pl.lit(variant),
                layer=pl.lit(layer),
                center=(pl.col("left") + pl.col("right")) / 2,
                density=pl.col("count") / (pl.col("n") * (pl.col("right") - pl.col("left"))),
            )
            .drop("group", "n")
        )
    return pl.concat(frames, how="diagonal").sort("variant", "layer", "channel", "center")


def claims(summary: pl.DataFrame, normalized: str, unnormalized: str, rules: dict) -> dict[str, list[Check]]:
    """fig13 (none): more multimodal deep down, nonzero means; fig14 (bn): unimodal and centered everywhere."""
    none = summary.filter(pl.col("variant") == unnormalized).sort("layer")
    bn = summary.filter(pl.col("variant") == normalized).sort("layer")
    layers = none["layer"].to_list()
    deep_center = float(none.filter(pl.col("layer") > layers[0])["center"].median())
    share = dict(zip(none["layer"], none["multimodal"], strict=True))
    center_ratio = bn.join(none, on="layer", suffix="_none").with_columns(
        ratio=pl.col("center") / pl.col("center_none")
    )
    worst = center_ratio.sort("ratio").row(-1, named=True)
    bn_worst = bn.sort("multimodal").row(-1, named=True)
    return {
        "fig13": [
            Check.at_least(
                "fig13",
                "unnormalized: more multimodal deep down",
                f"{unnormalized}: share of multimodal channels, layer {layers[-1]} ({share[layers[-1]]:.2f}) "
                f"minus layer {layers[0]} ({share[layers[0]]:.2f})",
                float(share[layers[-1]] - share[layers[0]]),
                rules["min_none_multimodal_rise"],
            ),
            Check.at_least(
                "fig13",
                "unnormalized: nonzero means",
                f"{unnormalized}: median |mean|/std of the channels of layers {layers[1:]}",
                deep_center,
                rules["min_none_center"],
            ),
        ],
        "fig14": [
            Check.at_most(
                "fig14",
                "batch-normalized: unimodal",
                f"{normalized}: largest share of multimodal channels (layer {bn_worst['layer']})",
                float(bn_worst["multimodal"]),
                rules["max_bn_multimodal"],
            ),
            Check.at_most(
                "fig14",
                "batch-normalized: means close to zero",
                f"{normalized}: median |mean|/std over {unnormalized}'s, largest over layers (layer {worst['layer']})",
                float(worst["ratio"]),
                rules["max_bn_center_ratio"],
            ),
        ],
    }


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The claims of Fig. 13, 14 (activation histograms) and 18 (channel mean against gradient)."""
    bn, none = settings["probes/variants"]
    rules = settings["figures"]
    shapes = channel_shapes(
        parquet.read_all(data.histograms), rules["fig13"]["mode_min_height"], rules["fig13"]["mode_min_dip"]
    )
    checks = claims(layer_shapes(shapes), bn, none, dict(rules["fig13"]))
    points = channels.fig18_points(parquet.read_all(data.mean_gradients))
    checks["fig18"] = channels.fig18_claims(points, bn, none, dict(rules["fig18"]))
    return Decision(checks, parquet.provenance(data.histograms[0]))
