"""Which function draws each figure: the figure's name (as in pipeline/targets.py and figures/<name>.svg) to the
function of its family's plot module that draws it from the figure job's inputs (``data``: the files by kind),
its parameters (``settings``) and its claim checks (shown in the subtitle).

A plain mapping, so that grep and an IDE follow a figure to its code in one hop; a test holds it and the
registry to the same names.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import polars as pl

from pipeline.plots import activations, gradients, moments, normalizers, rmt, stability, training, updates

Draw = Callable[..., alt.TopLevelMixin]  # (data, settings: dict, claims: pl.DataFrame) -> chart

DRAW: dict[str, Draw] = {
    "fig1": training.draw_fig1,
    "fig2": gradients.draw_fig2,
    "fig3": moments.draw_fig3,
    "fig4": gradients.draw_fig4,
    "fig5": updates.draw_fig5,
    "fig6": updates.draw_fig6,
    "fig7": gradients.draw_fig7,
    "fig8": rmt.draw_fig8,
    "fig9": rmt.draw_fig9,
    "fig10": rmt.draw_fig10,
    "fig11": rmt.draw_fig11,
    "fig12": rmt.draw_fig12,
    "fig13": activations.draw_fig13,
    "fig14": activations.draw_fig14,
    "fig15": training.draw_fig15,
    "fig16": training.draw_fig16,
    "fig17": training.draw_fig17,
    "fig18": activations.draw_fig18,
    "fig19": gradients.draw_fig19,
    "fig20": gradients.draw_fig20,
    "fig21": gradients.draw_fig21,
    "fig22": gradients.draw_fig22,
    "fig23": gradients.draw_fig23,
    "fig24": updates.draw_fig24,
    "stability": stability.draw_stability,
    "normalizers": normalizers.draw_normalizers,
}


def draw(figure: str, data, settings: dict, claims: pl.DataFrame) -> alt.TopLevelMixin:
    """The chart of ``figure``; an unknown name is a KeyError that says where figures are registered."""
    if figure not in DRAW:
        raise KeyError(f"no draw function for figure {figure!r}: add it to DRAW in pipeline/plots/figures.py")
    return DRAW[figure](data, settings, claims)
