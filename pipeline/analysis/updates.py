"""Fig. 5, 6 and 24 from the single-update Parquet: where the loss leaves the threshold, which layers' moments
explode along the diverging update, and how far each network can step along its gradient."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from pipeline import parquet
from pipeline.claims import Check, Decision


def crossing(path: pl.DataFrame, threshold: float) -> float:
    """The t where the loss first exceeds ``threshold`` (log-linear interpolation between points; nan if never)."""
    t, loss = path["t"].to_numpy(), path["loss"].to_numpy()
    above = np.flatnonzero(~(loss <= threshold))  # a non-finite loss counts as above
    if not len(above):
        return float("nan")
    i = int(above[0])
    if i == 0 or not np.isfinite(loss[i]):
        return float(t[i])
    lo, hi = math.log10(max(loss[i - 1], 1e-300)), math.log10(loss[i])
    return float(t[i - 1] + (t[i] - t[i - 1]) * (math.log10(threshold) - lo) / (hi - lo))


def fig5_claims(path: pl.DataFrame, threshold: float, rules: dict) -> list[Check]:
    """The loss explodes towards the end of the update path; the first-order prediction at t=0 does not see it."""
    cross = crossing(path, threshold)
    step = int(path["step"][0])
    linear_end = float(path["linear"][-1])
    return [
        Check.at_least(
            "fig5",
            "the loss explodes towards the end of the path",
            f"t where the loss of the responsible batch (update {step}) leaves {threshold:g}",
            cross,
            rules["min_cross_t"],
        ),
        Check(
            "fig5",
            "not indicated at the origin",
            f"first-order prediction of the loss at t = 1 (actual {float(path['loss'][-1]):.3g})",
            linear_end,
            f"< {threshold:g}",
            linear_end < threshold,
        ),
    ]


def layer_growth(moments: pl.DataFrame) -> pl.DataFrame:
    """Per (layer, stat): mean over channels of |value| at every t, and log10 of its growth from t=0 to t=1."""
    per_t = (
        moments.group_by("layer", "stat", "t").agg(value=pl.col("value").abs().sort().mean()).sort("layer", "stat", "t")
    )
    growth = per_t.group_by("layer", "stat").agg(
        decades=(pl.col("value").last().log10() - pl.col("value").first().log10())
    )
    return per_t.join(growth, on=["layer", "stat"]).sort("layer", "stat", "t")


def fig6_claims(growth: pl.DataFrame, rules: dict) -> list[Check]:
    """Moments explode in the higher layers, stay roughly constant in the lower ones: the variance's growth
    (decades, t=0 to 1) averaged over the top quarter of layers minus that of the bottom quarter."""
    var = growth.filter(pl.col("stat") == "var").unique(["layer"]).sort("layer")
    quarter = max(1, var.height // 4)
    bottom, top = var.head(quarter)["decades"], var.tail(quarter)["decades"]
    difference = float(top.mean() - bottom.mean())
    return [
        Check.at_least(
            "fig6",
            "moments explode in the higher layers, not in the lower ones",
            f"variance growth along the update, decades: top quarter of layers minus bottom quarter "
            f"(bottom {float(bottom.mean()):.2f}, top {float(top.mean()):.2f})",
            difference,
            rules["min_decades"],
        )
    ]


def largest_lowering_step(landscape: pl.DataFrame) -> pl.DataFrame:
    """Per (variant, batch): the largest step size eta up to which the loss stays below its value at eta = 0
    (the last grid point before the loss first rises to or above it; null if even the smallest step does)."""
    rows = []
    for (variant, batch), part in landscape.sort("eta").group_by(["variant", "batch"], maintain_order=True):
        origin = float(part.filter(pl.col("eta") == 0)["loss"][0])
        largest = None
        for eta, loss in part.filter(pl.col("eta") > 0).select("eta", "loss").iter_rows():
            if not loss < origin:  # also stops at a non-finite loss
                break
            largest = eta
        rows.append({"variant": variant, "batch": batch, "origin": origin, "largest": largest})
    return pl.DataFrame(rows, schema_overrides={"largest": pl.Float64}).sort("variant", "batch")


def fig24_claims(steps: pl.DataFrame, normalized: str, unnormalized: str, rules: dict) -> list[Check]:
    """Per mini-batch: bn's largest loss-lowering step over none's."""
    checks = []
    for batch in sorted(set(steps["batch"])):
        rows = {r["variant"]: r["largest"] for r in steps.filter(pl.col("batch") == batch).iter_rows(named=True)}
        bn, none = rows.get(normalized), rows.get(unnormalized)
        ratio = float("nan") if bn is None or none is None else bn / none
        checks.append(
            Check.at_least(
                "fig24",
                "bn can take much larger steps that lower the loss",
                f"mini-batch {batch}: largest loss-lowering step, {normalized} ({_g(bn)}) / "
                f"{unnormalized} ({_g(none)})",
                ratio,
                rules["min_step_ratio"],
            )
        )
    return checks


def _g(value: float | None) -> str:
    return "none" if value is None else f"{value:.3g}"


def decide(data, settings: dict, targets: list[str]) -> Decision:
    """The claims of Fig. 5, 6 (the diverging update: ``data.path``, ``data.moments``) and 24 (the batch
    landscapes of the normalized and the unnormalized network: ``data.landscapes``)."""
    rules = settings["figures"]
    normalized, unnormalized = (n["variant"] for n in settings["updates/fig24/networks"])
    steps = largest_lowering_step(parquet.read_all(data.landscapes))
    checks = {
        "fig5": fig5_claims(parquet.read_all([data.path]), settings["train/divergence_loss"], rules["fig5"]),
        "fig6": fig6_claims(layer_growth(parquet.read_all([data.moments])), rules["fig6"]),
        "fig24": fig24_claims(steps, normalized, unnormalized, rules["fig24"]),
    }
    return Decision(checks, parquet.provenance(data.path))
