"""Fig. 5 (loss along the diverging update), Fig. 6 (moments per layer along it) and Fig. 24 (loss of early
mini-batches along their gradient, bn vs none)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.plots.render import claims_lines, provenance_line


def _title(text: str, record: dict, claims: pl.DataFrame, *lines: str) -> alt.Title:
    return alt.Title(text, anchor="start", subtitle=[*lines, provenance_line(record), *claims_lines(claims)])


def fig5(path: pl.DataFrame, threshold: float, claims: pl.DataFrame, record: dict) -> alt.LayerChart:
    """Loss of the responsible batch along theta - t lr u (log y), its first-order prediction, the threshold."""
    p = record["params"]
    names = {"loss": "loss of the batch", "linear": "first-order prediction at t = 0"}
    long = pl.concat(
        [
            path.select("t", value="loss", curve=pl.lit(names["loss"])),
            first_order_line(path).select("t", value="linear", curve=pl.lit(names["linear"])),
        ]
    )
    dash = alt.StrokeDash("curve:N", legend=None, sort=list(names.values()), scale=alt.Scale(range=[[1, 0], [5, 4]]))
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("t:Q", title="t along theta - t x lr x u (t = 1: the optimizer's step)"),
            y=alt.Y("value:Q", title="mini-batch loss", scale=alt.Scale(type="log")),
            color=alt.Color("curve:N", title="curve", sort=list(names.values())),
            strokeDash=dash,
        )
    )
    points = (
        alt.Chart(long.filter(pl.col("curve") == names["loss"]))
        .mark_point(size=12, filled=True)
        .encode(x="t:Q", y="value:Q", color=alt.Color("curve:N", sort=list(names.values())))
    )
    lines = lines + points
    rule = alt.Chart(pl.DataFrame({"y": [threshold]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(y="y:Q")
    step = int(path["step"][0])
    title = _title(
        "Figure 5: the loss along the update that makes the unnormalized network diverge",
        record,
        claims,
        f"{p['variant']} ResNet-{p['depth']}, seed {p['seed']}, lr {p['lr']:g}, momentum {p['momentum']}, weight decay "
        f"{p['weight_decay']:g}: update {step} (0-based) is followed by a mini-batch loss of "
        f"{float(path['diverged_loss'][0]):.3g}.",
        f"Loss on that update's own mini-batch (dots: the evaluated points); dashed gray: the divergence threshold "
        f"{threshold:g}; dashed: the first-order prediction L(0) - t lr <g, u>, a line in t (a log axis bends "
        "it), drawn until it falls to a tenth of L(0).",
        _end_line(float(path["end_error"][0])),
    )
    return (rule + lines).properties(width=520, height=320, title=title)


def first_order_line(path: pl.DataFrame, points: int = 200) -> pl.DataFrame:
    """The first-order prediction (the path's ``linear`` column, L(0) - t x slope) on a fine grid of t, from 0 until
    it falls to a tenth of L(0) (a log axis cannot show it reach 0) or t = 1, so it is drawn as the line it is
    rather than at the few evaluated points."""
    t0, t1 = float(path["t"][0]), float(path["t"][1])
    start, next_value = float(path["linear"][0]), float(path["linear"][1])
    slope = (start - next_value) / (t1 - t0)
    end = 1.0 if slope <= 0 else min(1.0, 0.9 * start / slope)
    ts = [end * i / (points - 1) for i in range(points)]
    return pl.DataFrame({"t": ts, "linear": [start - t * slope for t in ts]})


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
