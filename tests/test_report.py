"""The HTML report: what it gathers, how it shows it, and that a real browser renders it without complaint."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from pipeline import claims, parquet, report
from pipeline import targets as registry
from tests.browser import render

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>'


def _project(root):
    """figures/fig3.svg, tables/table1.parquet and one claim file (fig3 agrees and is undecided, table1 disagrees)
    of profile p."""
    (root / "figures").mkdir()
    (root / "figures/fig3.svg").write_text(SVG)
    (root / "figures/fig12.svg").write_text(SVG)
    (root / "tables").mkdir()
    pl.DataFrame({"layer": [18], "bn": [211.0]}).write_parquet(root / "tables/table1.parquet")
    checks = claims.frame(
        [
            claims.Check.at_least("fig3", "moments grow <fast>", "none decades", 5.4, 2),
            claims.Check.at_least("table1", "(a)/(d) ~100x", "bn ratio", 17.6, 20),
            claims.Check.above("fig3", "seeds decide", "a noisy gap", 0.01, 0, spread=0.01),
        ],
        "p",
    )
    record = {"profile": "p", "code_version": "abc123", "data": {"source": "x", "md5": {}, "canonical": False}}
    parquet.write(checks, root / "results/p/claims/some.parquet", {**record, "params": {"bins": 64}})


def test_report_orders_targets_embeds_figures_and_lists_disagreements(tmp_path):
    _project(tmp_path)
    targets = report.found(tmp_path, "p")
    report.write(targets, "p", tmp_path / "out.html")
    assert [t.name for t in targets] == ["fig3", "fig12", "table1"]  # the registry's order, family by family
    page = (tmp_path / "out.html").read_text()
    assert page.index("id='fig3'") < page.index("id='fig12'") < page.index("id='table1'")
    sections = re.findall(r"<h2 class='family'>([^<]+)</h2>", page)  # one section per family, the registry's titles
    assert sections == [registry.FAMILIES[f].title for f in ("moments", "rmt", "gradients")]
    assert html.escape(registry.TARGETS["fig12"].caption) in page
    images = re.findall(r"src='data:image/svg\+xml;base64,([^']+)'", page)
    assert len(images) == 2 and all(ET.fromstring(base64.b64decode(i)).tag.endswith("svg") for i in images)
    assert "3 figures and tables; 3 claim checks: 1 agree with the paper, 1 disagree, 1 undecided" in page
    assert page.index("Claims that disagree") < page.index("(a)/(d) ~100x") < page.index("<nav>")
    assert page.index("Claims that disagree") < page.index("<tr class='undecided'>") < page.index("<nav>")
    assert "moments grow &lt;fast&gt;" in page and "<fast>" not in page  # text is escaped
    assert "code abc123" in page and "&quot;bins&quot;: 64" in page
    assert "No claim check of this profile covers it" in page  # fig12 has no claims of profile p
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from anywhere


def test_a_report_of_declared_files_shows_only_the_targets_asked_for(tmp_path):
    _project(tmp_path)
    (tmp_path / "figures/fig9.svg").write_text(SVG)  # present, but not declared: not shown
    claim_file = tmp_path / "results/p/claims/some.parquet"
    shown = report.collect([tmp_path / "figures/fig3.svg"], [], [claim_file], {"fig3"})
    assert [t.name for t in shown] == ["fig3"] and shown[0].claims.height == 2  # table1's check left out
    report.write(shown, "p", tmp_path / "out.html", "Claim checks of x", "Not built by this target: fig9.")
    page = (tmp_path / "out.html").read_text()
    assert "fig9" not in page.replace("Not built by this target: fig9.", "") and "(a)/(d)" not in page
    assert (
        "Claim checks of x" in page
        and "1 figures and tables; 2 claim checks: 1 agree with the paper, 0 disagree, 1 undecided" in page
    )


@pytest.mark.system
def test_headless_chromium_renders_the_report_and_reports_console_errors(tmp_path):
    _project(tmp_path)
    report.write(report.found(tmp_path, "p"), "p", tmp_path / "out.html")
    shot = tmp_path / "out.png"
    assert render(tmp_path / "out.html", shot, tmp_path / "chromium") == []
    assert shot.stat().st_size > 10_000
    # The check can fail: a page that throws is caught.
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom'); missing();</script></body></html>")
    messages = render(broken, tmp_path / "broken.png", tmp_path / "chromium2")
    assert any("boom" in m for m in messages) and any("missing is not defined" in m for m in messages)
