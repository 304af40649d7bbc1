"""Figure 3: mean over channels of abs(channel mean) and of channel variance per layer at initialization.

Log y, bn vs none, error bars = standard deviation across the channels of a layer (as in the paper). On a log
axis a bar whose lower end (mean - std) is not positive cannot be drawn; such ends are clipped at the axis
floor, a decade below the smallest value, and the subtitle says so.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.analysis import moments as analysis
from pipeline.plots.render import claims_lines, log_error_bars, provenance_line

PANELS = (("mean", "mean over channels of |channel mean|"), ("var", "mean over channels of channel variance"))


def chart(summary: pl.DataFrame, claims: pl.DataFrame, provenance: dict) -> alt.HConcatChart:
    data, floor = log_error_bars(summary)
    params = provenance["params"]
    panels = []
    for stat, title in PANELS:
        base = alt.Chart(data.filter(pl.col("stat") == stat)).encode(
            x=alt.X("layer:Q", title="layer k (input of the norm position after conv k)", scale=alt.Scale(nice=False)),
            color=alt.Color("variant:N", title="network", sort=params["variants"]),
        )
        y = alt.Y("mean:Q", title=title, scale=alt.Scale(type="log", domainMin=floor))
        line = base.mark_line(point=alt.OverlayMarkDef(size=12)).encode(
            y=y, tooltip=["variant", "layer", "mean", "std", "channels"]
        )
        bars = base.mark_errorbar(opacity=0.45).encode(y=alt.Y("lower:Q", title=title), y2="upper:Q")
        panels.append((bars + line).properties(width=380, height=300))
    subtitle = [
        f"ResNet-{params['depth']}, seed {params['seed']}, at initialization (training mode); "
        f"{params['batches']} mini-batches of {params['batch_size']} training images.",
        "Error bars: std across the channels of a layer; lower ends at or below 0 are clipped at the axis floor.",
        "The zig-zag is real: a block's first conv reads the residual stream, its second conv reads relu(norm(.)).",
        provenance_line(provenance),
        *claims_lines(claims),
    ]
    return alt.hconcat(*panels).properties(
        title=alt.Title(
            "Figure 3: channel means and variances vs depth at initialization", subtitle=subtitle, anchor="start"
        )
    )


def draw_fig3(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Figure 3 from the moment probes of the compared pair (``data.moments``)."""
    summary, record = analysis.read(list(data.moments))
    return chart(summary, claims, record)
