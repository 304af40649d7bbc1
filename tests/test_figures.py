"""Figure 3's chart spec (not pixels), its rendering to SVG and PNG, and the claims table."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline import claims
from pipeline.plots import moments as moments_plot
from pipeline.plots import render
from tests.conftest import moment_summary

PROVENANCE = {
    "profile": "smoke",
    "code_version": "abc123",
    "params": {"depth": 110, "seed": 0, "batches": 10, "batch_size": 128, "variants": ["bn", "none"]},
    "data": {"canonical": False, "md5": {"data_batch_1": "027934cb42d4476e2e50b4e7244c9e1a"}},
}


def _chart():
    from pipeline.analysis import moments

    summary = moment_summary(4.0, 0.3)
    table = claims.frame(moments.claims(summary, "bn", "none", 2.0, 1.0), "smoke")
    return moments_plot.chart(summary, table, PROVENANCE), table


def test_chart_spec_is_the_papers_figure():
    spec = _chart()[0].to_dict()
    assert len(spec["hconcat"]) == 2
    for panel in spec["hconcat"]:
        bars, line = panel["layer"]
        assert bars["mark"]["type"] == "errorbar" and line["mark"]["type"] == "line"
        assert line["encoding"]["y"]["scale"]["type"] == "log"
        assert line["encoding"]["x"]["field"] == "layer" and line["encoding"]["color"]["field"] == "variant"
        assert bars["encoding"]["y"]["field"] == "lower" and bars["encoding"]["y2"]["field"] == "upper"
    titles = [p["layer"][1]["encoding"]["y"]["title"] for p in spec["hconcat"]]
    assert titles == ["mean over channels of |channel mean|", "mean over channels of channel variance"]
    subtitle = spec["title"]["subtitle"]
    assert any("profile smoke" in line and "non-canonical" in line for line in subtitle)
    assert sum(line.startswith("claim check:") for line in subtitle) == 4


def test_error_bars_are_clipped_only_where_they_cross_zero():
    data, floor = render.log_error_bars(pl.DataFrame({"mean": [1.0, 0.5], "std": [0.5, 2.0]}))
    assert floor == 0.01 and data["lower"].to_list() == [0.5, 0.01] and data["upper"].to_list() == [1.5, 2.5]


def test_render_writes_svg_and_png(tmp_path):
    render.save(_chart()[0], tmp_path / "f.svg", tmp_path / "f.png")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<svg")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_claims_table_round_trip(tmp_path):
    table = _chart()[1]
    stamped = ("verdict", "profile")  # computed, and stamped where a decision is written
    checks = [claims.Check(**{k: v for k, v in row.items() if k not in stamped}) for row in table.iter_rows(named=True)]
    frame = pl.DataFrame({"rate": [0.1]})
    decision = claims.Decision({"fig3": checks}, PROVENANCE, {"fig3": (frame, "| rate |\n")})
    outputs = {
        "claims": tmp_path / "c.parquet",
        "markdown": [tmp_path / "fig3.claims.md"],
        "tables": [tmp_path / "fig3.md"],
        "table_parquets": [tmp_path / "fig3.parquet"],
    }
    assert claims.write_decision(decision, outputs, "smoke").equals(table)
    gathered = claims.gather([tmp_path / "c.parquet", tmp_path / "c.parquet"])
    assert gathered.height == 8 and gathered.schema == pl.Schema(claims.SCHEMA)
    markdown = (tmp_path / "fig3.claims.md").read_text()
    assert markdown.count("\n") == 6 and "| fig3 |" in markdown
    assert (tmp_path / "fig3.md").read_text() == "| rate |\n"
    assert pl.read_parquet(tmp_path / "fig3.parquet").equals(frame)
    with pytest.raises(ValueError, match="Markdown outputs"):
        claims.write_decision(decision, {**outputs, "markdown": [tmp_path / "fig4.claims.md"]}, "smoke")


def test_combined_provenance_lists_variants_and_rejects_stale_files(tmp_path):
    from pipeline import parquet

    def write(name, variant, batches):
        record = {**PROVENANCE, "params": {"batches": batches, "variant": variant}}
        parquet.write(pl.DataFrame({"x": [1]}), tmp_path / name, record)
        return tmp_path / name

    bn, none = write("bn.parquet", "bn", 10), write("none.parquet", "none", 10)
    combined = parquet.combined_provenance([bn, none])
    assert combined["params"] == {"batches": 10, "variants": ["bn", "none"]}
    assert parquet.read_all([bn, none]).height == 2
    stale = write("old.parquet", "none", 5)
    with pytest.raises(ValueError, match="rerun them"):
        parquet.combined_provenance([bn, stale])
