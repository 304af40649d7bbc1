"""Shared pieces of every figure: the provenance subtitle, the claim line, and atomic SVG + PNG output."""

from __future__ import annotations

import math
from pathlib import Path

import altair as alt
import polars as pl

from pipeline import cifar10
from pipeline.atomic import atomic_path


def describe_data(data: dict) -> str:
    """One line for a figure subtitle: which source files differ from the canonical CIFAR-10, and one digest over
    all seven files (:func:`pipeline.cifar10.digest`), so a byte changed in any of them changes the figure."""
    differing = data.get("noncanonical_files", [])
    if not differing:
        kind = "canonical CIFAR-10"
    elif len(differing) == len(cifar10.SOURCE_FILES):
        kind = "non-canonical CIFAR-10 copy (all 7 files differ from the canonical md5s)"
    else:
        verb = "differs" if len(differing) == 1 else "differ"
        kind = f"non-canonical CIFAR-10 copy ({', '.join(differing)} {verb} from the canonical md5s)"
    return f"{kind}, data digest {cifar10.digest(data['md5'])[:8]}"


def provenance_line(provenance: dict) -> str:
    """'profile cpu · <data description, if any> · code <version>' for a figure subtitle."""
    data = [describe_data(provenance["data"])] if "data" in provenance else []
    return " · ".join([f"profile {provenance['profile']}", *data, f"code {provenance['code_version']}"])


def claims_lines(claims: pl.DataFrame) -> list[str]:
    """One subtitle line per claim check: 'claim check: <quantity> = 5.46 (rule >= 2: agrees)', with '± s over
    seeds' after the value when the check has a spread."""
    lines = []
    for row in claims.iter_rows(named=True):
        spread = "" if row.get("spread") is None else f" ± {row['spread']:.2g} over seeds"
        verdict = "agrees" if row["agrees"] else "DISAGREES"
        lines.append(f"claim check: {row['quantity']} = {row['value']:.3g}{spread} (rule {row['rule']}: {verdict})")
    return lines


def init_subtitle(
    provenance: dict, claims: pl.DataFrame, *lines: str, batches: int = 1, loss: bool = True
) -> list[str]:
    """Subtitle of an init-probe figure: the setting, the figure's own ``lines``, provenance, the claim checks."""
    p = provenance["params"]
    drawn = "one mini-batch" if batches == 1 else f"{batches} mini-batches"
    setting = (
        f"ResNet-{p['depth']}, seed {p['seed']}, at initialization (training mode); {drawn} of "
        f"{p['batch_size']} training images" + ("; loss = mean cross-entropy." if loss else ".")
    )
    return [setting, *lines, provenance_line(provenance), *claims_lines(claims)]


def save(chart: alt.TopLevelMixin, svg_path: str | Path, png_path: str | Path) -> None:
    """Write the chart as SVG and as a PNG (2x) through vl-convert, each atomically."""
    for path, fmt, extra in ((svg_path, "svg", {}), (png_path, "png", {"scale_factor": 2})):
        with atomic_path(path) as tmp:
            chart.save(str(tmp), format=fmt, **extra)


def log_error_bars(summary: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    """Error-bar ends mean +- std for a log axis: lower ends at or below 0 clipped at a floor a decade under the
    smallest mean (the subtitle should say so). Returns (summary with lower and upper, floor)."""
    floor = 10.0 ** math.floor(math.log10(summary["mean"].min()) - 1)
    return summary.with_columns(
        lower=pl.max_horizontal(pl.col("mean") - pl.col("std"), pl.lit(floor)),
        upper=pl.col("mean") + pl.col("std"),
    ), floor
