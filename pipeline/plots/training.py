"""Training curves (Fig. 1, 15, 16, 17): per curve the mean over seeds as a line and one standard deviation as a
band, accuracy against epoch."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline import parquet
from pipeline.analysis import training as analysis
from pipeline.plots.render import claims_lines, provenance_line
from pipeline.train import runs

METRIC_TITLES = {"train_acc": "training accuracy", "test_acc": "test accuracy"}
TITLES = {
    "fig1": "Figure 1: bn at its best rate, bn at the unnormalized rate and schedule, and the unnormalized network",
    "fig15": "Figure 15: training accuracy with BN only at the top of the network (full BN and none beside it)",
    "fig16": "Figure 16: test accuracy with BN only at the top of the network (full BN and none beside it)",
    "fig17": "Figure 17: the parts of batch normalization (left: with and without the affine part; right: without it)",
}
METRICS = {"fig1": ("train_acc", "test_acc"), "fig15": ("train_acc",), "fig16": ("test_acc",), "fig17": ("test_acc",)}


def panel(stats: pl.DataFrame, metric: str, title: str = "") -> alt.LayerChart:
    """One accuracy panel: a band (mean +- std over seeds) and a line (mean) per curve."""
    data = stats.filter(pl.col("metric") == metric)
    order = data.unique("curve").sort("order")["curve"].to_list()
    base = alt.Chart(data, title=title).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(nice=False)),
        color=alt.Color("curve:N", title="mean over seeds, band 1 std", sort=order),
    )
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("lower:Q", title=METRIC_TITLES[metric]), y2="upper:Q")
    line = base.mark_line(point=alt.OverlayMarkDef(size=10)).encode(
        y=alt.Y("mean:Q", title=METRIC_TITLES[metric]), tooltip=["curve", "epoch", "mean", "std", "seeds"]
    )
    return (band + line).properties(width=380, height=280)


def scale_line(experiment: dict, profile: str) -> str:
    """Says whether the runs are at the paper's training scale, and how a reduced profile departs from it."""
    reduced = analysis.reduced_scale(experiment)
    if not reduced:
        return "The paper's training scale."
    return f"REDUCED TRAINING ({profile} profile): " + "; ".join(reduced) + ". Claims are orderings and gaps."


def subtitle(record: dict, claims: pl.DataFrame, summary: pl.DataFrame, scale: str = "", where: str = "") -> list[str]:
    """The scale, the setting (where the runs trained, device, recipe, steps per epoch), runs that diverged,
    provenance, claims."""
    p = record["params"]
    images = 50_000 if p.get("train_images") is None else p["train_images"]
    setting = (
        f"{where}; SGD momentum {p['momentum']}, weight decay {p['weight_decay']:g}, batch {p['batch_size']} "
        f"({-(-images // p['batch_size'])} steps per epoch), rate / 10 after "
        f"{', '.join(f'{m:.0%}' for m in p['milestones'])} of the epochs; {len(p['runs'])} runs on "
        f"{', '.join(p['devices'])}; seeds {', '.join(map(str, sorted(p['seeds'])))}."
    )
    scale = [scale] if scale else []
    return [*scale, setting, *_not_completed(summary), provenance_line(record), *claims_lines(claims)]


def _not_completed(summary: pl.DataFrame, named: int = 4) -> list[str]:
    """A subtitle line on the runs that diverged or stayed at chance (named when there are few)."""
    odd = summary.filter(pl.col("status") != "completed")
    if not odd.height:
        return []
    counts = ", ".join(f"{s}: {n}" for s, n in odd.group_by("status").len().sort("status").iter_rows())
    names = f" ({', '.join(odd['run'])})" if odd.height <= named else ""
    return [f"not completed: {odd.height} of {summary.height} runs, {counts}{names}"]


def curves(
    panels: list[tuple[pl.DataFrame, str, str]],
    title: str,
    record: dict,
    claims: pl.DataFrame,
    summary: pl.DataFrame,
    scale: str = "",
    where: str = "",
) -> alt.HConcatChart:
    """Side-by-side panels, each (stats, metric, panel title), under one title and subtitle (``scale``: the
    line that says at which training scale the runs are; ``where``: their depth, images and seeds)."""
    charts = [panel(stats, metric, name) for stats, metric, name in panels]
    title = alt.Title(title, anchor="start", subtitle=subtitle(record, claims, summary, scale, where))
    return alt.hconcat(*charts).resolve_scale(color="independent").properties(title=title)


def _training_figure(figure: str, data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """One training figure from exactly its runs' metrics (``data.metrics``); ``settings["experiment"]`` rebuilds
    the runs of its ``training:`` entry ``settings["runs_of"]``."""
    params = dict(settings["experiment"])
    metrics = parquet.read_all(data.metrics)
    panels, drawn = [], []
    for name, runs_per_curve in runs.curve_panels(settings["runs_of"], params):
        stats = analysis.curve_stats(metrics, runs_per_curve)
        panels += [(stats, metric, name or METRIC_TITLES[metric]) for metric in METRICS[figure]]
        drawn += runs_per_curve
    record = parquet.combined_provenance(data.metrics, ("run", "seed", "device", "speed"))
    scale = scale_line(params, record["profile"])
    where = analysis.where_ran(drawn, params["train"])
    return curves(panels, TITLES[figure], record, claims, analysis.run_summary(metrics), scale, where)


def draw_fig1(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 1: training and test accuracy of bn at its rate, bn at the unnormalized rate and schedule, and none."""
    return _training_figure("fig1", data, settings, claims)


def draw_fig15(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 15: training accuracy with BN only at the top, full BN and none beside it."""
    return _training_figure("fig15", data, settings, claims)


def draw_fig16(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 16: test accuracy of Fig. 15's runs."""
    return _training_figure("fig16", data, settings, claims)


def draw_fig17(data, settings: dict, claims: pl.DataFrame) -> alt.HConcatChart:
    """Fig. 17: test accuracy of the BN-parts variants, with and without the affine part."""
    return _training_figure("fig17", data, settings, claims)
