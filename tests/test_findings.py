"""The claims metrics file (DVC metrics), the findings table of docs/findings.md generated from it, and the README's
summary of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import claims, findings, targets
from pipeline.artifacts import ArtifactError
from tests.conftest import REPO

METRICS = REPO / "figures/claims.cpu.json"


def test_the_findings_table_is_the_committed_metrics_file():
    """Regenerate with `python -m pipeline.findings` after a cpu-profile build; no number is typed by hand."""
    record = json.loads(METRICS.read_text())
    assert record["profile"] == "cpu"
    assert findings.page_section((REPO / findings.PAGE).read_text()) == findings.page_table(record)


def test_the_readme_summary_counts_the_findings_table_by_family():
    """The README's findings at a glance: checks per family and verdict, and a link to the full table. After a
    rebuild changes a count, copy the rows this test prints into README.md."""
    counts: dict[str, dict[str, int]] = {}
    members: dict[str, list[str]] = {}
    for target, per_target in findings.checks(json.loads(METRICS.read_text())).items():
        family = targets.FAMILIES[targets.TARGETS[target].family].title
        members.setdefault(family, []).append(target)
        tally = counts.setdefault(family, dict.fromkeys(claims.VERDICTS, 0))
        for check in per_target.values():
            tally[check["verdict"]] += 1
    counts["all"] = {v: sum(tally[v] for tally in counts.values()) for v in claims.VERDICTS}
    rows = [
        f"| {family}{': ' + ', '.join(members[family]) if family in members else ''} | {sum(tally.values())} | "
        + " | ".join(str(tally[v]) for v in claims.VERDICTS)
        + " |"
        for family, tally in counts.items()
    ]
    readme = (REPO / "README.md").read_text()
    assert [row for row in rows if row not in readme] == [], "\n".join(rows)
    assert f"]({findings.PAGE})" in readme


def test_the_committed_metrics_cover_every_figure_and_table():
    record = json.loads(METRICS.read_text())
    figures = set(targets.TARGETS)
    assert set(record) - set(findings.HEADER) == figures
    assert set(record.get("rebuilt", {})) <= figures
    for target, checks in findings.checks(record).items():
        for check in checks.values():
            assert set(check) - {"value", "spread", "unsettled"} == {"rule", "verdict", "claim", "scale"}, target
            assert "value" in check or check["verdict"] != "agrees", target  # no number agrees with nothing
            assert check["verdict"] in claims.VERDICTS
            assert check["scale"] != "paper" or target not in {"fig1", "fig15", "fig16", "fig17", "table2", "table3"}


def test_the_committed_metrics_name_the_commit_they_were_built_by():
    """The commit its code was at: python -m pipeline.findings names the code inputs changed since (a shallow clone
    may lack that commit: then it says so)."""
    record = json.loads(METRICS.read_text())
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    for commit in findings.commits(record):
        assert len(commit.removesuffix("-dirty")) == 12
        if shallow == "true":
            with pytest.raises(ValueError, match="is not in this repository"):
                findings.changed_since(commit)
        else:
            assert isinstance(findings.changed_since(commit), list)


def test_changed_since_names_the_code_inputs_edited_after_the_commit(tmp_path):
    """Code that the workflow or a computing job imports counts, and params.yaml's values with their types; comments,
    modules that only name files or that no such job imports, and the gatherers do not."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    def write(files):
        for name, text in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)

    git("init", "-q")
    write({
        "Snakefile": "include: 'rules/common.smk'\n",
        "rules/common.smk": "from pipeline import (\n    config,\n    layout,\n)\n\nP = config.x\n",  # read at parse
        "pipeline/config.py": "x = 1\n",
        "pipeline/layout.py": "DATA = 'results/data'\n",  # names files only
        "rules/scripts/probe.py": "from pipeline import a\n",  # a computing job
        "rules/scripts/claims.py": "from pipeline import gathered\n",  # a gatherer
        "pipeline/a.py": "x = 1\n",
        "pipeline/gathered.py": "x = 1\n",
        "pipeline/unused.py": "x = 1\n",  # e.g. imported by benchmarks only
        "params.yaml": "lr: 0.1  # a comment\n",
        "notes.md": "n\n",
    })  # fmt: skip
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    commit = git("rev-parse", "--short=12", "HEAD")
    assert findings.changed_since(commit, tmp_path) == []
    write({
        "pipeline/layout.py": "DATA = 'results/prepared'\n",
        "pipeline/gathered.py": "x = 2\n",
        "pipeline/unused.py": "x = 2\n",
        "rules/scripts/claims.py": "from pipeline import gathered  # edited\n",
        "params.yaml": "lr: 0.1  # another comment\n\n",
        "notes.md": "not code\n",
    })  # fmt: skip
    assert findings.changed_since(commit, tmp_path) == []
    write({"pipeline/a.py": "x = 2\n", "pipeline/config.py": "x = 2\n", "params.yaml": "lr: 1.0e-1\n"})
    assert findings.changed_since(commit + "-dirty", tmp_path) == ["pipeline/a.py", "pipeline/config.py"]
    write({"pipeline/config.py": "x = 1\n", "params.yaml": "lr: 1\n"})  # a type is a value: 1 is not 0.1 nor 1.0
    assert findings.changed_since(commit, tmp_path) == ["pipeline/a.py", "params.yaml"]
    (tmp_path / "pipeline/a.py").write_text("x = 1\n")
    write({"rules/scripts/new_job.py": "from pipeline import unused\n"})  # a new job runs it: it counts
    git("add", "rules/scripts/new_job.py")
    assert findings.changed_since(commit, tmp_path) == ["pipeline/unused.py", "rules/scripts/new_job.py", "params.yaml"]
    with pytest.raises(ValueError, match="'0123abcd' is not in this repository"):
        findings.changed_since("0123abcd", tmp_path)
    many = [f"pipeline/m{i}.py" for i in range(7)]  # a long list is cut, with the command that shows the rest
    assert findings.shown(many, "abc-dirty") == (
        "pipeline/m0.py, pipeline/m1.py, pipeline/m2.py, pipeline/m3.py, pipeline/m4.py and 2 more "
        "(`git diff --stat abc -- pipeline/m5.py pipeline/m6.py`)"
    )
    assert findings.shown(many[:2], "abc") == "pipeline/m0.py, pipeline/m1.py"


def test_metrics_round_trip_and_page_rewrite(tmp_path):
    table = claims.frame(
        [
            claims.Check.at_least("fig3", "moments grow", "none decades", 5.4, 2),
            claims.Check.above("fig1", "bn | best", "gap, lr 0.1", 0.07, 0, spread=0.006),
            claims.Check.above("fig1", "bn overfits", "gap, lr 0.0001", 0.01, 0, spread=0.006),
        ],
        "p",
    )
    path = tmp_path / "claims.p.json"
    findings.write_metrics(table, "p", {"fig1": "reduced training"}, "abc123", path)
    record = json.loads(path.read_text())
    assert record["commit"] == "abc123"
    assert record["fig1"]["gap, lr 0.1"] == {
        "value": 0.07,
        "spread": 0.006,
        "rule": "> 0",
        "verdict": "agrees",
        "claim": "bn | best",
        "scale": "reduced training",
    }
    assert record["fig1"]["gap, lr 0.0001"]["verdict"] == "undecided"  # 0.01 is within 2 x 0.006 of 0
    page = tmp_path / "findings.md"
    page.write_text(f"intro\n{findings.START}\nold\n{findings.END}\nrest\n")
    assert findings.update_page(page, path) and not findings.update_page(page, path)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "\nold\n" not in text
    assert "| fig1 | bn \\| best | gap, lr 0.1 = 0.07 ± 0.006 | > 0 | yes | reduced training |" in text
    assert "| fig1 | bn overfits | gap, lr 0.0001 = 0.01 ± 0.006 | > 0 | undecided | reduced training |" in text
    assert "commit `abc123`" in text and "3 claim checks: 2 agree with the paper, 0 disagree, 1 undecided" in text
    page.write_text("no markers")
    with pytest.raises(ValueError, match=r"findings\.md: no findings section"):
        findings.update_page(page, path)


def test_a_rebuild_of_some_targets_is_merged_with_its_own_commit(tmp_path):
    full = claims.frame(
        [
            claims.Check.at_least("fig3", "moments grow", "none decades", 5.4, 2),
            claims.Check.above("fig1", "bn best", "old gap", 0.07, 0, spread=0.006),
        ],
        "p",
    )
    path = tmp_path / "claims.p.json"
    findings.write_metrics(full, "p", {"fig1": "reduced training"}, "aaaaaaaaaaaa", path)
    rebuilt = claims.frame([claims.Check.above("fig1", "bn best", "new gap", -0.2, 0, spread=0.01)], "p")
    claims_file = tmp_path / "fig1.parquet"
    rebuilt.write_parquet(claims_file)
    page = tmp_path / "findings.md"
    page.write_text(f"{findings.START}\nold\n{findings.END}\n")
    findings.main(["--metrics", str(path), "--page", str(page), "--merge", str(claims_file), "--commit", "b" * 12])
    record = json.loads(path.read_text())
    assert list(record) == ["profile", "commit", "rebuilt", "fig3", "fig1"]  # the targets keep their order
    assert record["commit"] == "a" * 12 and record["rebuilt"] == {"fig1": "b" * 12}
    assert list(record["fig1"]) == ["new gap"] and record["fig1"]["new gap"]["verdict"] == "disagrees"
    assert record["fig1"]["new gap"]["scale"] == "reduced training" and record["fig3"]["none decades"]["value"] == 5.4
    assert findings.commits(record) == {"a" * 12: ["fig3"], "b" * 12: ["fig1"]}
    assert f"commit `{'a' * 12}` (fig1 rebuilt by commit `{'b' * 12}`)" in page.read_text()
    scale = ["--scale", "fig1=reduced training, 3 seeds"]  # a rebuild at another scale says so
    findings.main(["--metrics", str(path), "--page", str(page), "--merge", str(claims_file), *scale])
    assert json.loads(path.read_text())["fig1"]["new gap"]["scale"] == "reduced training, 3 seeds"
    with pytest.raises(SystemExit):
        findings.main(["--metrics", str(path), "--page", str(page), "--merge", str(claims_file), "--scale", "fig1"])


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


@pytest.mark.parametrize(
    ("value", "spread", "unsettled", "verdict"),
    [
        (1.0, 0.2, None, "agrees"),  # 0.5 above the threshold: more than 2 x 0.2
        (0.8, 0.2, None, "undecided"),  # 0.3 above it: within 2 x 0.2
        (0.2, 0.1, None, "disagrees"),  # 0.3 below it: more than 2 x 0.1
        (0.4, 0.1, None, "undecided"),  # 0.1 below it: within 2 x 0.1
        (0.4, None, None, "disagrees"),  # one run: no spread to be undecided by
        (1.0, 0.01, "the answer moves with H", "undecided"),  # the measurement says it cannot decide
    ],
)
def test_a_check_within_two_seed_spreads_of_its_threshold_is_undecided(value, spread, unsettled, verdict):
    check = claims.Check.at_least("fig1", "c", "q", value, 0.5, spread)
    check = claims.Check(**{**check.__dict__, "unsettled": unsettled})
    assert check.verdict == verdict
    row = claims.frame([check], "p").row(0, named=True)
    assert row["verdict"] == verdict and row["agrees"] == (value >= 0.5)
    shown = claims.markdown(claims.frame([check], "p"))
    assert f"| {claims.SHOWN[verdict]}" in shown and (unsettled is None or f"({unsettled})" in shown)


def test_seeds_that_agree_exactly_decide_even_at_the_threshold():
    assert claims.Check.at_most("s", "c", "q", 1.0, 1.0, 0.0).verdict == "agrees"
    assert claims.Check.at_most("s", "c", "q", 1.0, 1.0, 1e-9).verdict == "undecided"


def test_a_damaged_metrics_file_is_named_in_one_line(tmp_path):
    metrics = tmp_path / "claims.cpu.json"
    metrics.write_text('{"checks": [')
    with pytest.raises(ArtifactError, match=r"claims\.cpu\.json: unreadable claims metrics file"):
        findings.read_metrics(metrics)
