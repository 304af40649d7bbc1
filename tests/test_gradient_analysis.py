"""Table 1 / Table 4, Fig. 2 and Fig. 23 from probe-shaped Parquet: layout, decision rules, chart specs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.analysis import gradients as analysis
from pipeline.plots import gradients as plots
from pipeline.plots import render

PROVENANCE = {
    "profile": "smoke",
    "code_version": "abc",
    "params": {"depth": 110, "seed": 0, "batch_size": 128, "variants": ["bn", "none"]},
    "data": {"canonical": True, "md5": {"data_batch_1": "c99cafc152244af753f735de768cd75f"}},
}
NO_CLAIMS = pl.DataFrame(schema={"quantity": pl.String, "value": pl.Float64, "rule": pl.String, "agrees": pl.Boolean})


def _table(ratios: dict[str, float]) -> pl.DataFrame:
    rows = []
    for variant, ratio in ratios.items():
        for layer in (18, 54):
            for stat, value in zip("abcd", (ratio, ratio / 2, ratio / 3, 1.0), strict=True):
                rows.append({"variant": variant, "layer": layer, "stat": stat, "value": value * 1e-5, "dead_params": 0})
    return pl.DataFrame(rows)


def test_wide_table_and_markdown_in_the_papers_layout():
    wide = analysis.wide_table(_table({"bn": 150.0, "none": 2.0}), [54])
    assert wide.height == 2 and wide["ratio"].to_list() == [150.0, 2.0]
    text = analysis.markdown(wide, "Table 1", "note")
    assert (
        text.startswith("# Table 1") and "| 54 | bn | 0.0015 |" in text and text.count("\n|") == 4
    )  # header, rule, two rows


def test_table_claims_follow_the_rules():
    agree = analysis.table_claims(
        analysis.wide_table(_table({"bn": 150.0, "none": 2.0}), [18, 54]), "table1", "bn", "none", 3.0, 20.0
    )
    assert len(agree) == 4 and all(c.agrees for c in agree)
    disagree = analysis.table_claims(
        analysis.wide_table(_table({"bn": 5.0, "none": 8.0}), [18]), "table1", "bn", "none", 3.0, 20.0
    )
    assert [c.agrees for c in disagree] == [False, False]


def _params(seed=0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    a_none = rng.lognormal(-8, 1, 500)
    a_bn = rng.lognormal(-10, 0.2, 500)
    frames = [
        pl.DataFrame(
            {"variant": "none", "layer": 55, "param": range(500), "stat": "grad", "value": rng.standard_t(3, 500) * 100}
        ),
        pl.DataFrame(
            {"variant": "bn", "layer": 55, "param": range(500), "stat": "grad", "value": rng.standard_normal(500)}
        ),
        pl.DataFrame({"variant": "none", "layer": 54, "param": range(500), "stat": "a", "value": a_none}),
        pl.DataFrame({"variant": "none", "layer": 54, "param": range(500), "stat": "d", "value": a_none * 0.5}),
        pl.DataFrame({"variant": "bn", "layer": 54, "param": range(500), "stat": "a", "value": a_bn}),
        pl.DataFrame(
            {"variant": "bn", "layer": 54, "param": range(500), "stat": "d", "value": a_bn * rng.uniform(0, 0.01, 500)}
        ),
    ]
    return pl.concat(frames)


def test_fig2_and_fig23_claims_and_charts():
    params = _params()
    fig2 = analysis.fig2_claims(params, 55, "bn", "none", 10.0)
    assert [c.agrees for c in fig2] == [True, True] and fig2[0].value > 50
    points = analysis.scatter(params, 54)
    fig23 = analysis.fig23_claims(
        points, 54, "bn", "none", {"none_min_correlation": 0.7, "bn_max_correlation": 0.5, "max_size_ratio": 0.1}
    )
    assert [c.agrees for c in fig23] == [True, True, True]
    spec = plots.fig23(points, 54, NO_CLAIMS, PROVENANCE).to_dict()
    assert [panel["layer"][0]["title"] for panel in spec["hconcat"]] == ["bn", "none"]
    cells = spec["hconcat"][0]["layer"][0]  # a 2-D density: one rectangle per non-empty cell, not one mark a point
    assert cells["mark"]["type"] == "rect" and cells["encoding"]["x"]["scale"]["type"] == "log"
    assert cells["encoding"]["color"]["field"] == "count"
    drawn = sum(len(v) for k, v in spec["datasets"].items() if v and "count" in v[0])
    assert drawn <= 2 * render.DENSITY_CELLS**2 and any("2-D density" in line for line in spec["title"]["subtitle"])
    histograms = analysis.gradient_histograms(params, 55, 20)
    assert histograms.group_by("variant").agg(pl.col("count").sum())["count"].to_list() == [500, 500]
    spec2 = plots.fig2(histograms, 55, NO_CLAIMS, PROVENANCE).to_dict()
    assert [p["title"] for p in spec2["hconcat"]] == ["bn", "none"]
    for panel, variant in zip(spec2["hconcat"], ["bn", "none"], strict=True):
        assert panel["encoding"]["y"]["scale"]["type"] == "log" and panel["mark"]["type"] == "rect"
        low, high = panel["encoding"]["x"]["scale"]["domain"]
        assert low == -high  # the histogram's symmetric range, whatever bins are empty
        shown = spec2["datasets"][panel["data"]["name"]]
        assert all(row["count"] > 0 for row in shown)  # empty bins are not drawn
        assert len(shown) == histograms.filter(pl.col("variant") == variant, pl.col("count") > 0).height


def test_density_cells_keep_every_point_and_share_edges():
    rng = np.random.default_rng(0)
    points = pl.DataFrame({"g": ["a"] * 5000 + ["b"] * 10, "x": rng.lognormal(size=5010), "y": rng.normal(size=5010)})
    cells = render.density_cells(points, "x", "y", "g", log_x=True, log_y=False)
    assert cells.group_by("g").agg(pl.col("count").sum()).sort("g")["count"].to_list() == [5000, 10]
    assert cells.height <= 2 * render.DENSITY_CELLS**2 and (cells["x_hi"] > cells["x_lo"]).all()
    assert cells["x_lo"].min() == pytest.approx(points["x"].min()) and cells["x_hi"].max() == pytest.approx(
        points["x"].max()
    )


def test_every_log_axis_gets_one_label_format():
    spec = {
        "hconcat": [
            {"encoding": {"x": {"field": "a", "scale": {"type": "log"}}, "y": {"field": "b"}}},
            {"encoding": {"y": {"field": "c", "scale": {"type": "log"}, "axis": {"title": "t"}}}},
            {"encoding": {"color": {"field": "n", "scale": {"type": "log"}}}},
            {"encoding": {"y": {"field": "c", "scale": {"type": "log"}, "axis": None}}},
        ]
    }
    render.label_log_scales(spec)
    x, y, color, hidden = (next(iter(p["encoding"].values())) for p in spec["hconcat"])
    assert x["axis"] == {"format": "~e"} and "axis" not in spec["hconcat"][0]["encoding"]["y"]
    assert y["axis"] == {"format": "~e", "title": "t"} and color["legend"] == {"format": "~e"}
    assert hidden["axis"] is None


def test_dead_parameters_are_left_out_of_the_scatter():
    params = _params().with_columns(
        value=pl.when((pl.col("param") < 10) & pl.col("stat").is_in(["a", "d"])).then(0.0).otherwise(pl.col("value"))
    )
    assert analysis.scatter(params, 54).height == 2 * 490


def _logits(spread_bn: float) -> pl.DataFrame:
    rows = []
    for variant in ("bn", "none"):
        for image in range(20):
            for cls in range(10):
                if variant == "none":
                    p = 1.0 if cls == 8 else 0.0
                else:
                    p = (
                        (0.5 + spread_bn * (1 if image % 2 else -1))
                        if cls == 8
                        else (0.5 - spread_bn * (1 if image % 2 else -1)) / 9
                    )
                rows.append(
                    {
                        "variant": variant,
                        "image": image,
                        "class": cls,
                        "label": image % 10,
                        "probability": p,
                        "gradient": p - (cls == image % 10),
                    }
                )
    return pl.DataFrame(rows)


def test_fig4_spread_and_claims():
    spread = analysis.softmax_spread(_logits(0.2))
    row = {r["variant"]: r for r in spread.iter_rows(named=True)}
    assert row["none"]["spread"] == 0 and row["none"]["modal_share"] == 1.0
    assert abs(row["bn"]["spread"] - 0.2) < 1e-9  # |p8 - mean| = 0.2, and the other classes add up to the same
    checks = analysis.fig4_claims(spread, "bn", "none", {"none_max_spread": 0.01, "bn_min_spread": 0.05})
    assert [c.agrees for c in checks] == [True, True]
    flat = analysis.fig4_claims(
        analysis.softmax_spread(_logits(0.0)), "bn", "none", {"none_max_spread": 0.01, "bn_min_spread": 0.05}
    )
    assert [c.agrees for c in flat] == [True, False]
    spec = plots.fig4(_logits(0.2), NO_CLAIMS, PROVENANCE).to_dict()
    assert [p["mark"]["type"] for p in spec["hconcat"]] == ["rect", "rect"]
    assert spec["resolve"]["scale"]["color"] == "independent"
    subtitle = spec["title"]["subtitle"]  # the dominant column is named, with how strongly it is favored
    assert (
        "none: 100% of the images put their largest softmax on class 8 (mean probability 1.00), hence its column."
        in subtitle
    )


def _channels(none_slope: float) -> pl.DataFrame:
    rows = []
    for layer in range(1, 110):
        for channel in range(4):
            rows.append({"variant": "none", "layer": layer, "channel": channel, "value": 10 ** (-none_slope * layer)})
            rows.append({"variant": "bn", "layer": layer, "channel": channel, "value": -0.05 * (1 + channel)})
    return pl.DataFrame(rows)


def test_fig19_stage_ratio_and_claims():
    rules = {"none_min_early_late": 10.0, "bn_max_decades": 1.0}
    summary = analysis.channel_summary(_channels(0.03))
    checks = analysis.fig19_claims(summary, 110, "bn", "none", rules)
    assert [c.agrees for c in checks] == [True, True] and checks[1].value < 1e-9
    assert checks[0].value == pytest.approx(10 ** (0.03 * 72))  # stage 1 and stage 3 centres are 72 layers apart
    assert [
        c.agrees for c in analysis.fig19_claims(analysis.channel_summary(_channels(0.0)), 110, "bn", "none", rules)
    ] == [False, True]
    spec = plots.fig19(summary, NO_CLAIMS, PROVENANCE).to_dict()
    assert spec["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"


def test_fig20_21_claims_and_charts():
    rng = np.random.default_rng(0)
    frames = []
    for variant, boost in (("none", 30.0), ("bn", 1.5)):
        for cls in range(10):
            scale = boost if cls == 8 else 1.0
            frames.append(
                pl.DataFrame(
                    {
                        "variant": variant,
                        "layer": 52,
                        "class": cls,
                        "param": range(200),
                        "value": rng.standard_normal(200) * scale,
                    }
                )
            )
    summary = analysis.class_summary(pl.concat(frames))
    logits = _logits(0.2)  # every image favors class 8
    assert analysis.favored_class(logits, "none") == 8
    checks = analysis.fig20_21_claims(summary, logits, 52, "bn", "none", 5.0)
    assert [c.agrees for c in checks["fig20"]] == [True] and checks["fig20"][0].value == 8
    assert [c.agrees for c in checks["fig21"]] == [True, True] and checks["fig21"][0].value > 20
    for plot in (plots.fig20, plots.fig21):
        spec = plot(summary, 52, NO_CLAIMS, PROVENANCE).to_dict()
        assert len(spec["hconcat"]) == 2
