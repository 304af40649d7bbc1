"""Figure 3's reduction and claim, from the probe's Parquet (polars only: the light figure environment runs it).

:func:`layer_summary` reduces the raw moments the way the paper plots them: per channel, the moments averaged
over the mini-batches; per layer, the mean over channels of abs(channel mean) and of channel variance, with the
standard deviation across channels as the error bar. :func:`claims` decides the paper's claim on that summary.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline import parquet
from pipeline.claims import Check, Decision


def layer_summary(moments: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, layer, stat): mean and std across channels of |batch-averaged channel mean| or variance.

    Works on the probe output with a ``variant`` column (the figure concatenates bn and none).
    """
    per_channel = (
        moments.group_by("variant", "layer", "stat", "channel")
        .agg(pl.col("value").sort().mean())
        .with_columns(pl.when(pl.col("stat") == "mean").then(pl.col("value").abs()).otherwise(pl.col("value")))
    )
    return (
        per_channel.group_by("variant", "layer", "stat")
        .agg(mean=pl.col("value").sort().mean(), std=pl.col("value").sort().std(ddof=0), channels=pl.len())
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
    summary: pl.DataFrame, normalized: str, unnormalized: str, min_growth: float, max_growth: float
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
            Check.at_least(
                "fig3",
                "unnormalized: channel moments grow ~exponentially with depth",
                f"{unnormalized}: decades the {label} rises over depth (log-linear fit)",
                growth[unnormalized],
                min_growth,
            ),
            Check.at_most(
                "fig3",
                "batch-normalized: channel moments stay roughly constant",
                f"{normalized}: decades the {label} rises over depth (log-linear fit)",
                growth[normalized],
                max_growth,
            ),
        ]
    return checks


def read(paths: list[str]) -> tuple[pl.DataFrame, dict]:
    """The per-layer summary of several probe files (one per variant) and their combined provenance record."""
    return layer_summary(parquet.read_all(paths)), parquet.combined_provenance(paths)


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """Fig. 3's claims from the moment probes of the compared pair (``data.moments``, normalized first)."""
    summary, record = read(list(data.moments))
    rules = settings["figures"]["fig3"]
    normalized, unnormalized = settings["probes/variants"]
    checks = claims(summary, normalized, unnormalized, rules["min_none_decades"], rules["max_bn_decades"])
    return Decision({"fig3": checks}, {**record, "rules": dict(rules)})
