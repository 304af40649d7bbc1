"""How gradient magnitudes are organized by channel: Fig. 7 (the in x out channel matrix) and Fig. 18 (channel
mean vs gradient). Both ask whether whole channels carry consistently large or small gradients.

*Spread* of a set of per-channel values is the ratio of their 90th to 10th percentile: robust to a few extreme
channels, and a decade or more means "some channels consistently large, others consistently small".
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.claims import Check


def spread(values: pl.Series) -> float:
    """90th / 10th percentile (inf when the 10th percentile is 0: dead channels)."""
    low, high = float(values.quantile(0.1, "linear")), float(values.quantile(0.9, "linear"))
    return high / low if low > 0 else float("inf")


def channel_matrix(params: pl.DataFrame, layer: int) -> pl.DataFrame:
    """Fig. 7's matrix: per (variant, in_channel, out_channel), sum over kernel positions of |sum_bxy d|."""
    return (
        params.filter(pl.col("layer") == layer, pl.col("stat") == "d")
        .group_by("variant", "in_channel", "out_channel")
        .agg(value=pl.col("value").sort().sum())
        .sort("variant", "in_channel", "out_channel")
    )


def rank_one_r2(matrix: pl.DataFrame) -> float:
    """Share of the variance of log10(value) explained by additive row + column effects.

    A matrix that is an outer product u v^T is exactly additive in log space (R^2 = 1): "low-rank structure" in
    the sense of Fig. 7, whole rows and columns scaled up or down. Zeros (dead channels) are floored at 1e-6 x the
    mean so the logarithm exists.
    """
    wide = matrix.pivot(on="out_channel", index="in_channel", values="value").sort("in_channel").drop("in_channel")
    values = wide.to_numpy()
    logs = np.log10(np.maximum(values, 1e-6 * values.mean()))
    centered = logs - logs.mean()
    fitted = centered.mean(1, keepdims=True) + centered.mean(0, keepdims=True)
    return float(1 - ((centered - fitted) ** 2).sum() / (centered**2).sum())


def fig7_claims(matrix: pl.DataFrame, layer: int, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """none: in- and out-channel totals spread over a decade or more, rank-one structure; bn: no such spread."""
    checks = []
    for variant, rule in ((unnormalized, "min_none_spread"), (normalized, "max_bn_spread")):
        part = matrix.filter(pl.col("variant") == variant)
        for axis in ("in_channel", "out_channel"):
            totals = part.group_by(axis).agg(pl.col("value").sort().sum())["value"]
            decide = Check.at_least if variant == unnormalized else Check.at_most
            checks.append(
                decide(
                    "fig7",
                    "unnormalized: some channels consistently large, others small"
                    if variant == unnormalized
                    else "batch-normalized: no such structure",
                    f"{variant}: 90th/10th percentile of the {axis.replace('_', '-')} totals at layer {layer}",
                    spread(totals),
                    rules[rule],
                )
            )
    r2 = {v: rank_one_r2(matrix.filter(pl.col("variant") == v)) for v in (normalized, unnormalized)}
    checks.append(
        Check.at_least(
            "fig7",
            "unnormalized: low-rank structure",
            f"{unnormalized}: share of log10 variance from row + column effects ({normalized}: {r2[normalized]:.2f})",
            r2[unnormalized],
            rules["min_none_r2"],
        )
    )
    return checks


def fig18_points(mean_gradients: pl.DataFrame) -> pl.DataFrame:
    """Fig. 18's points: per weight, its in-channel's mean pre-ReLU activation and |mean gradient|."""
    return mean_gradients.select(
        "variant", "layer", "param", "in_channel", "channel_mean", magnitude=pl.col("gradient").abs()
    )


def fig18_claims(points: pl.DataFrame, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """none: the gradient follows the in-channel's mean; bn: every in-channel gets gradients of one scale."""
    layer = int(points["layer"][0])
    per_channel = {
        v: points.filter(pl.col("variant") == v)
        .group_by("in_channel")
        .agg(pl.col("magnitude").sort().mean())["magnitude"]
        for v in (normalized, unnormalized)
    }
    none = points.filter(pl.col("variant") == unnormalized)
    rho = float(none.select(pl.corr("channel_mean", "magnitude", method="spearman")).item())
    return [
        Check.at_least(
            "fig18",
            "unnormalized: gradient depends strongly on the channel mean",
            f"{unnormalized}: Spearman correlation of in-channel mean and |mean gradient| at layer {layer}",
            rho,
            rules["min_none_correlation"],
        ),
        Check.at_least(
            "fig18",
            "unnormalized: some in-channels get far smaller gradients",
            f"{unnormalized}: 90th/10th percentile of per-in-channel mean |gradient|",
            spread(per_channel[unnormalized]),
            rules["min_none_spread"],
        ),
        Check.at_most(
            "fig18",
            "batch-normalized: all channels get equally large gradients",
            f"{normalized}: 90th/10th percentile of per-in-channel mean |gradient|",
            spread(per_channel[normalized]),
            rules["max_bn_spread"],
        ),
    ]
