"""Shared pieces of every figure: the provenance subtitle, the claim line, and atomic SVG + PNG output."""

from __future__ import annotations

import math
from pathlib import Path

import altair as alt
import polars as pl

from pipeline import cifar10
from pipeline.atomic import atomic_path
from pipeline.claims import SHOUTED


def describe_data(data: dict) -> str:
    """One line for a figure subtitle: which source files differ from the canonical CIFAR-10, and one digest over
    all seven files (:func:`pipeline.cifar10.digest`), so a byte changed in any of them changes the figure."""
    differing = data.get("noncanonical_files") or []
    if data["canonical"]:
        kind = "canonical CIFAR-10"
    elif len(differing) in (0, len(cifar10.SOURCE_FILES)):
        kind = "non-canonical CIFAR-10 copy (md5s differ from the canonical files)"
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
    seeds' after the value when the check has a spread; the verdict is agrees, DISAGREES or UNDECIDED."""
    lines = []
    for row in claims.iter_rows(named=True):
        spread = "" if row.get("spread") is None else f" ± {row['spread']:.2g} over seeds"
        verdict = SHOUTED[row["verdict"]] + (f", {row['unsettled']}" if row["unsettled"] else "")
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


# One label style for every log axis and log legend: d3's "~e" (1e-3, 1e+0, 1e+15), never "100,000" next to "1e+15".
LOG_FORMAT = "~e"
GUIDES = {"x": "axis", "y": "axis", "x2": "axis", "y2": "axis", "color": "legend", "size": "legend"}
_CHARTS = {
    "vconcat": alt.VConcatChart,
    "hconcat": alt.HConcatChart,
    "concat": alt.ConcatChart,
    "layer": alt.LayerChart,
    "facet": alt.FacetChart,
    "repeat": alt.RepeatChart,
}


def label_log_scales(spec: object) -> None:
    """Give every log-scaled axis and legend of a Vega-Lite spec (in place) the one log label format, unless the
    figure sets its own format or hides the guide."""
    if isinstance(spec, list):
        for item in spec:
            label_log_scales(item)
        return
    if not isinstance(spec, dict):
        return
    for channel, guide in GUIDES.items():
        encoding = (spec.get("encoding") if isinstance(spec.get("encoding"), dict) else {}).get(channel)
        logged = isinstance(encoding, dict) and (encoding.get("scale") or {}).get("type") == "log"
        if logged and encoding.get(guide, {}) is not None:
            encoding[guide] = {"format": LOG_FORMAT, **encoding.get(guide, {})}
    for value in spec.values():
        label_log_scales(value)


def save(chart: alt.TopLevelMixin, svg_path: str | Path, png_path: str | Path) -> None:
    """Write the chart as SVG and as a PNG (2x) through vl-convert, each atomically, log axes labelled alike and
    without per-mark ARIA labels."""
    spec = chart.to_dict()
    label_log_scales(spec)
    # No ARIA label per mark: each repeated its data point in words and made up half of a dense figure's SVG
    # (the report embeds every SVG; the data is in the Parquet beside the figure).
    spec["config"] = {**spec.get("config", {}), "aria": False}
    kind = next((_CHARTS[key] for key in _CHARTS if key in spec), alt.Chart)
    chart = kind.from_dict(spec)
    for path, fmt, extra in ((svg_path, "svg", {}), (png_path, "png", {"scale_factor": 2})):
        with atomic_path(path) as tmp:
            chart.save(str(tmp), format=fmt, **extra)


DENSITY_CELLS = 60  # per axis: a dense scatter is drawn as at most 60 x 60 rectangles per panel


def density_cells(frame: pl.DataFrame, x: str, y: str, by: str, log_x: bool, log_y: bool) -> pl.DataFrame:
    """Bin the points of ``frame`` into a grid of DENSITY_CELLS x DENSITY_CELLS cells per value of ``by`` (edges
    shared by all groups, even in log10 for a log axis). Returns by, x_lo, x_hi, y_lo, y_hi (data units) and
    count, one row per non-empty cell: a scatter of 10^5 points becomes a few thousand rectangles."""

    def axis(column: str, log: bool) -> tuple[pl.Expr, float, float]:
        values = pl.col(column).log10() if log else pl.col(column)
        lo, hi = frame.select(values.min().alias("lo"), values.max().alias("hi")).row(0)
        lo, hi = (lo - 0.5, hi + 0.5) if hi == lo else (lo, hi)
        return values, lo, (hi - lo) / DENSITY_CELLS

    def edge(lo: float, width: float, log: bool, index: str, shift: int) -> pl.Expr:
        value = lo + (pl.col(index) + shift) * width
        return 10.0**value if log else value

    (vx, x_lo, x_w), (vy, y_lo, y_w) = axis(x, log_x), axis(y, log_y)
    cells = (
        frame.with_columns(
            ix=((vx - x_lo) / x_w).floor().clip(0, DENSITY_CELLS - 1),
            iy=((vy - y_lo) / y_w).floor().clip(0, DENSITY_CELLS - 1),
        )
        .group_by(by, "ix", "iy")
        .agg(count=pl.len())
    )
    return cells.select(
        by,
        edge(x_lo, x_w, log_x, "ix", 0).alias("x_lo"),
        edge(x_lo, x_w, log_x, "ix", 1).alias("x_hi"),
        edge(y_lo, y_w, log_y, "iy", 0).alias("y_lo"),
        edge(y_lo, y_w, log_y, "iy", 1).alias("y_hi"),
        "count",
    ).sort(by, "x_lo", "y_lo")


def density_panel(cells: pl.DataFrame, title: str, x_axis: alt.X, y_axis: alt.Y, what: str) -> alt.Chart:
    """One panel of :func:`density_cells`: a rectangle per non-empty cell, colored by its count (log color)."""
    return (
        alt.Chart(cells, title=title)
        .mark_rect()
        .encode(
            x=x_axis,
            x2="x_hi:Q",
            y=y_axis,
            y2="y_hi:Q",
            color=alt.Color("count:Q", title=what, scale=alt.Scale(type="log", scheme="viridis")),
        )
    )


def log_error_bars(summary: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    """Error-bar ends mean +- std for a log axis: lower ends at or below 0 clipped at a floor a decade under the
    smallest mean (the subtitle should say so). Returns (summary with lower and upper, floor)."""
    floor = 10.0 ** math.floor(math.log10(summary["mean"].min()) - 1)
    return summary.with_columns(
        lower=pl.max_horizontal(pl.col("mean") - pl.col("std"), pl.lit(floor)),
        upper=pl.col("mean") + pl.col("std"),
    ), floor
