"""Fig. 2 (gradient histograms of one kernel, bn vs none, separate scales) and Fig. 23 (|sum d| vs sum |d|)."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.plots.render import claims_lines, provenance_line


def _subtitle(provenance: dict, claims: pl.DataFrame, *lines: str) -> list[str]:
    p = provenance["params"]
    setting = (
        f"ResNet-{p['depth']}, seed {p['seed']}, at initialization (training mode); one mini-batch of "
        f"{p['batch_size']} training images; loss = mean cross-entropy."
    )
    return [setting, *lines, provenance_line(provenance), *claims_lines(claims)]


def fig2(histograms: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    panels = []
    for variant in provenance["params"]["variants"]:
        data = histograms.filter(pl.col("variant") == variant, pl.col("count") > 0)
        panels.append(
            alt.Chart(data.with_columns(center=(pl.col("left") + pl.col("right")) / 2), title=variant)
            .mark_line(interpolate="step")
            .encode(
                x=alt.X("center:Q", title=f"gradient of a layer-{layer} kernel parameter"),
                y=alt.Y("count:Q", title="parameters", scale=alt.Scale(type="log")),
            )
            .properties(width=340, height=260)
        )
    title = alt.Title(
        f"Figure 2: gradients of the layer-{layer} kernel at initialization",
        anchor="start",
        subtitle=_subtitle(provenance, claims, "Each panel on its own scale; log count shows the tails."),
    )
    return alt.hconcat(*panels).properties(title=title)


def fig23(points: pl.DataFrame, layer: int, claims: pl.DataFrame, provenance: dict) -> alt.LayerChart:
    log = alt.Scale(type="log")
    dots = (
        alt.Chart(points)
        .mark_circle(size=6, opacity=0.35)
        .encode(
            x=alt.X("a:Q", title="sum over b,x,y of |d|  (a)", scale=log),
            y=alt.Y("d:Q", title="|sum over b,x,y of d|  (d)", scale=log),
            color=alt.Color("variant:N", title="network", sort=provenance["params"]["variants"]),
        )
    )
    low, high = float(points["a"].min()), float(points["a"].max())
    bound = (
        alt.Chart(pl.DataFrame({"a": [low, high], "d": [low, high]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x="a:Q", y="d:Q")
    )
    title = alt.Title(
        f"Figure 23: |sum d| vs sum |d| per kernel parameter, layer {layer}",
        anchor="start",
        subtitle=_subtitle(
            provenance,
            claims,
            "Dashed: (d) = (a), the largest (d) can be; "
            "both scaled by 1/(positions x batch). Dead parameters left out.",
        ),
    )
    return (bound + dots).properties(width=460, height=380, title=title)
