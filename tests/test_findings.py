"""The claims metrics file (DVC metrics) and the README's findings table generated from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import claims, findings
from tests.conftest import REPO

METRICS = REPO / "figures/claims.cpu.json"


def test_the_readme_findings_table_is_the_committed_metrics_file():
    """Regenerate with `python -m pipeline.findings` after a cpu-profile build; no number is typed by hand."""
    record = json.loads(METRICS.read_text())
    assert record["profile"] == "cpu"
    assert findings.readme_section((REPO / "README.md").read_text()) == findings.readme_table(record)


def test_the_committed_metrics_cover_every_figure_and_table():
    record = json.loads(METRICS.read_text())
    figures = {f"fig{i}" for i in range(1, 25)} | {f"table{i}" for i in range(1, 5)} | {"stability"}
    assert set(record) - {"profile"} == figures
    for target, checks in record.items():
        if target != "profile":
            for check in checks.values():
                assert set(check) - {"spread"} == {"value", "rule", "agrees", "claim", "scale"}, target
                assert check["scale"] == (
                    "reduced training" if target in {"fig1", "fig15", "fig16", "fig17", "table2", "table3"} else "paper"
                )


def test_metrics_round_trip_and_readme_rewrite(tmp_path):
    table = claims.frame(
        [
            claims.Check.at_least("fig3", "moments grow", "none decades", 5.4, 2, "p"),
            claims.Check.above("fig1", "bn | best", "gap, lr 0.1", 0.07, 0, "p", spread=0.006),
        ]
    )
    path = tmp_path / "claims.p.json"
    findings.write_metrics(table, "p", {"fig1"}, path)
    record = json.loads(path.read_text())
    assert record["fig1"]["gap, lr 0.1"] == {
        "value": 0.07,
        "spread": 0.006,
        "rule": "> 0",
        "agrees": True,
        "claim": "bn | best",
        "scale": "reduced training",
    }
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{findings.START}\nold\n{findings.END}\nrest\n")
    assert findings.update_readme(readme, path) and not findings.update_readme(readme, path)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert "| fig1 | bn \\| best | gap, lr 0.1 = 0.07 ± 0.006 | > 0 | yes | reduced training |" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match=r"README\.md: no findings section"):
        findings.update_readme(readme, path)


@pytest.mark.workflow
def test_dvc_metrics_show_reads_the_committed_file():
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "metrics", "show", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    metrics = json.loads(shown)
    data = next(iter(metrics.values()))["data"]["figures/claims.cpu.json"]["data"]
    record = json.loads(METRICS.read_text())
    assert data == record
