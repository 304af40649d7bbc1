"""Fig. 5 (loss along the diverging update), Fig. 6 (moments per layer along it) and Fig. 24 (loss of early
mini-batches along their gradient, bn vs none)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import updates as analysis
from pipeline.plots.render import claims_lines, provenance_line


def _title(text: str, record: dict, claims: pl.DataFrame, *lines: str) -> alt.Title:
    return alt.Title(text, anchor="start", subtitle=[*lines, provenance_line(record), *claims_lines(claims)])


def fig5(path: pl.DataFrame, threshold: float, claims: pl.DataFrame, record: dict) -> alt.HConcatChart:
    """Left: the loss of the responsible batch along theta - t lr u (log y) and the threshold. Right: the start of
    the path on linear axes, where the first-order prediction L(0) - t lr <g, u> is the straight line it is."""
    p = record["params"]
    names = {"loss": "loss of the batch", "linear": "first-order prediction at t = 0"}
    order = list(names.values())
    color = alt.Color("curve:N", title="curve", sort=order)
    t_title = "t along theta - t x lr x u (t = 1: the optimizer's step)"
    whole = (
        alt.Chart(path.select("t", value="loss", curve=pl.lit(names["loss"])), title="the whole update (log loss)")
        .mark_line(point=alt.OverlayMarkDef(size=10))
        .encode(
            x=alt.X("t:Q", title=t_title),
            y=alt.Y("value:Q", title="mini-batch loss", scale=alt.Scale(type="log")),
            color=color,
        )
    )
    rule = alt.Chart(pl.DataFrame({"y": [threshold]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="y:Q")
    window = origin_window(path)
    near = pl.concat(
        [
            path.filter(pl.col("t") <= window).select("t", value="loss", curve=pl.lit(names["loss"])),
            first_order_line(path, window).select("t", value="linear", curve=pl.lit(names["linear"])),
        ]
    )
    zoom_lines = (
        alt.Chart(near, title=f"near the origin, t <= {window:.2g} (linear axes)")
        .mark_line()
        .encode(
            x=alt.X("t:Q", title=t_title, scale=alt.Scale(domain=[0, window], nice=False)),
            y=alt.Y("value:Q", title="mini-batch loss", scale=alt.Scale(domainMin=0)),
            color=color,
            strokeDash=alt.StrokeDash("curve:N", legend=None, sort=order, scale=alt.Scale(range=[[1, 0], [5, 4]])),
        )
    )
    zoom = zoom_lines + zoom_lines.transform_filter(alt.datum.curve == names["loss"]).mark_point(size=14, filled=True)
    step = int(path["step"][0])
    title = _title(
        "Figure 5: the loss along the update that makes the unnormalized network diverge",
        record,
        claims,
        f"{p['variant']} ResNet-{p['depth']}, seed {p['seed']}, lr {p['lr']:g}, momentum {p['momentum']}, weight decay "
        f"{p['weight_decay']:g}: update {step} (0-based) is followed by a mini-batch loss of "
        f"{float(path['diverged_loss'][0]):.3g}.",
        f"Loss on that update's own mini-batch (dots: the evaluated points); dashed gray: the divergence threshold "
        f"{threshold:g}. Right: the path until its loss is back at L(0), with the first-order prediction L(0) - t lr "
        "<g, u> (dashed: what the gradient at t = 0 indicates), drawn until it reaches 0.",
        _end_line(float(path["end_error"][0])),
    )
    return alt.hconcat(
        (rule + whole).properties(width=420, height=300), zoom.properties(width=300, height=300)
    ).properties(title=title)


def origin_window(path: pl.DataFrame) -> float:
    """The start of the path worth a linear close-up: until the loss is first back above L(0) (at least two
    evaluated steps past t = 0), or the whole path if it never is."""
    start = float(path["loss"][0])
    later = path.filter(pl.col("t") > 0)
    back = later.filter(pl.col("loss") > start)["t"]
    return float(back[0]) if back.len() else float(later["t"][-1])


def first_order_line(path: pl.DataFrame, end: float, points: int = 100) -> pl.DataFrame:
    """The first-order prediction (the path's ``linear`` column, L(0) - t x slope) on a fine grid of t in [0, end],
    stopping where it reaches 0, so it is drawn as the straight line it is rather than at the evaluated points."""
    t0, t1 = float(path["t"][0]), float(path["t"][1])
    start, next_value = float(path["linear"][0]), float(path["linear"][1])
    slope = (start - next_value) / (t1 - t0)
    stop = end if slope <= 0 else min(end, start / slope)
    ts = [stop * i / (points - 1) for i in range(points)]
    return pl.DataFrame({"t": ts, "linear": [max(0.0, start - t * slope) for t in ts]})


def fig6(growth: pl.DataFrame, claims: pl.DataFrame, record: dict) -> alt.HConcatChart:
    """Mean over channels of |channel mean| and of channel variance per layer, along the update (log y)."""
    p = record["params"]
    panels = [
        alt.Chart(growth.filter(pl.col("stat") == stat), title=title)
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="t along the diverging update"),
            y=alt.Y("value:Q", title=title, scale=alt.Scale(type="log")),
            color=alt.Color("layer:Q", title="layer", scale=alt.Scale(scheme="viridis")),
            detail="layer:N",
        )
        .properties(width=380, height=300)
        for stat, title in (("mean", "mean over channels of |channel mean|"), ("var", "mean over channels of variance"))
    ]
    title = _title(
        "Figure 6: channel moments of every layer along the diverging update",
        record,
        claims,
        f"{p['variant']} ResNet-{p['depth']}, lr {p['lr']:g}; the norm-slot inputs (as in Fig. 3) on the responsible "
        "mini-batch, one line per layer (light = deep).",
    )
    return alt.hconcat(*panels).properties(title=title)


def fig24(landscape: pl.DataFrame, steps: pl.DataFrame, claims: pl.DataFrame, record: dict) -> alt.VConcatChart:
    """Rows: the mini-batches; columns: the networks. Loss along -gradient against the step size (log x)."""
    rows = []
    variants = record["params"]["variants"]
    # the data's own range: nice rounding put the axis a decade below the smallest step (1e-6 stored as 9.99e-7)
    stepped = landscape.filter(pl.col("eta") > 0)["eta"]
    etas = alt.Scale(type="log", domain=[float(stepped.min()), float(stepped.max())], nice=False)
    for batch in sorted(set(landscape["batch"])):
        charts = []
        for variant in variants:
            part = landscape.filter(pl.col("variant") == variant, pl.col("batch") == batch)
            lr = float(part["lr"][0])
            origin = float(part.filter(pl.col("eta") == 0)["loss"][0])
            best = steps.filter(pl.col("variant") == variant, pl.col("batch") == batch)["largest"][0]
            shown = "none" if best is None else f"{best:.2g}"
            line = (
                alt.Chart(
                    part.filter(pl.col("eta") > 0),
                    title=f"{variant} (lr {lr:g}), mini-batch {batch}: largest lowering step {shown}",
                )
                .mark_line(point=alt.OverlayMarkDef(size=10))
                .encode(
                    x=alt.X("eta:Q", title="step size eta along -gradient", scale=etas),
                    y=alt.Y("loss:Q", title="mini-batch loss", scale=alt.Scale(type="log")),
                )
            )
            level = alt.Chart(pl.DataFrame({"y": [origin]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="y:Q")
            charts.append((level + line).properties(width=320, height=220))
        rows.append(alt.hconcat(*charts))
    title = _title(
        "Figure 24: the loss of a mini-batch along its own gradient, 1st and 5th mini-batch of training",
        record,
        claims,
        "Each network first trains at its own rate up to that mini-batch (same recipe and data order as training). "
        "Dashed gray: the loss at eta = 0. Own scales per panel.",
    )
    return alt.vconcat(*rows).properties(title=title)


def _end_line(error: float) -> str:
    """How well the replayed path's end (t = 1) matches the parameters the optimizer produced."""
    if error == 0:
        return "The path's end (t = 1) is bitwise the optimizer's parameters after that update."
    return f"The path's end (t = 1) differs from the optimizer's parameters by at most {error:.2g}."


def draw_fig5(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 5 from the diverging update's loss path (``data.path``)."""
    path = parquet.read_all([data.path])
    return fig5(path, settings["train/divergence_loss"], claims, parquet.provenance(data.path))


def draw_fig6(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 6 from the moments along the diverging update (``data.moments``)."""
    growth = analysis.layer_growth(parquet.read_all([data.moments]))
    return fig6(growth, claims, parquet.provenance(data.moments))


def draw_fig24(data, settings: dict, claims: pl.DataFrame) -> alt.VConcatChart:
    """Fig. 24 from the batch landscapes of the normalized and the unnormalized network (``data.landscapes``)."""
    landscape = parquet.read_all(data.landscapes)
    record = parquet.combined_provenance(data.landscapes, ("variant", "lr"))
    return fig24(landscape, analysis.largest_lowering_step(landscape), claims, record)
