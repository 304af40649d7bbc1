"""pipeline.pull's checks (the whole pull is exercised in tests/test_workflow.py's DVC round trip)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import atomic, pull

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def test_stale_stages_are_the_ones_dvc_status_reports_changed():
    status = {"init_probes": [{"changed deps": {"params.yaml": {"modified": ["probes"]}}}], "dvc.yaml:figures": [{}]}
    assert pull.stale_stages(status) == ["figures", "init_probes"]
    assert pull.stale_stages({}) == []


def test_locked_stages_name_the_lock_file_when_missing_or_empty(tmp_path):
    with pytest.raises(pull.PullError, match=f"{tmp_path / 'dvc.lock'}: not found"):
        pull.locked_stages(tmp_path / "dvc.lock")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    with pytest.raises(pull.PullError, match="key 'stages': no stage recorded"):
        pull.locked_stages(tmp_path / "dvc.lock")
    (tmp_path / "dvc.lock").write_text("stages:\n  prepared_data: {cmd: x}\n  figures: {cmd: y}\n")
    assert pull.locked_stages(tmp_path / "dvc.lock") == ["prepared_data", "figures"]
    (tmp_path / "dvc.lock").write_text("stages: [unclosed\n")
    with pytest.raises(pull.PullError, match=r"dvc\.lock: not a readable lock file"):
        pull.locked_stages(tmp_path / "dvc.lock")


# A DVC project of one stage (a folder and a file), pushed to a folder remote: what a pull is tried over.
STAGE = """stages:
  make:
    cmd: mkdir -p out && echo a > out/a && echo b > out/b && echo c > single && echo 1 > m.json
    outs:
      - out: {persist: true}
      - single: {persist: true}
    metrics:
      - m.json: {cache: false}  # git's, never pushed: not missing from the remote
"""


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def pushed(tmp_path):
    work, remote = tmp_path / "work", tmp_path / "remote"
    work.mkdir()
    (work / "dvc.yaml").write_text(STAGE)
    _run(["git", "init", "-q"], work)
    for args in (["init", "-q"], ["remote", "add", "-d", "r", str(remote)], ["repro", "-q"], ["push", "-q"]):
        _run([str(BIN / "dvc"), *args], work)
    return work, remote


def _pull(work: Path) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "pipeline.pull"], work, check=False)


def _contents(work: Path) -> dict[str, bytes]:
    return {str(p.relative_to(work)): p.read_bytes() for p in [work / "single", *(work / "out").iterdir()]}


@pytest.mark.workflow
def test_a_pull_over_local_work_refuses_and_changes_nothing(pushed):
    work, _ = pushed
    (work / "out/a").write_text("rebuilt here\n")  # differs from the lock
    (work / "out/extra").write_text("built here, never pushed\n")  # a folder's file the lock does not list
    before = _contents(work)
    refused = _pull(work)
    assert refused.returncode == 1
    assert "dvc.lock names 2 outputs; 2 exist here, 0 will be restored; 2 local files differ" in refused.stdout
    line = refused.stderr.strip()
    assert "\n" not in line and "refused" in line and "out/a" in line and "out/extra" in line, line
    assert "mv results results.local" in line and "dvc pull --force` would destroy them" in line
    assert _contents(work) == before  # nothing lost, nothing restored


def test_the_plan_spares_local_files_the_cache_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    for name, text in (("kept", "also in the cache\n"), ("lost", "only here\n")):
        Path(name).write_text(text)
        digest = atomic.file_hash(name, "md5")
        (cache / digest[:2]).mkdir(parents=True, exist_ok=True)
        if name == "kept":
            (cache / digest[:2] / digest[2:]).write_text(text)
    status = {"uncommitted": {"modified": ["kept", "out/"], "added": ["lost"]}}
    what = pull.plan({"kept": "x", "lost": "y", "gone": "z"}, status, cache)
    assert what.differing == ["kept", "lost"] and what.unsaved == ["lost"] and what.present == ["kept", "lost"]
    assert what.summary().startswith("dvc.lock names 3 outputs; 2 exist here, 1 will be restored (gone); 2 local")


@pytest.mark.workflow
def test_a_pull_names_a_missing_lock_a_missing_remote_and_an_incomplete_remote(pushed):
    work, remote = pushed
    shutil.rmtree(work / ".dvc/cache")
    (work / "dvc.lock").rename(work / "dvc.lock.saved")
    assert "error: dvc.lock: not found" in _pull(work).stderr
    (work / "dvc.lock.saved").rename(work / "dvc.lock")
    remote.rename(remote.with_name("moved"))
    missing = _pull(work)
    assert missing.returncode == 1 and f"remote 'r': folder {remote} does not exist" in missing.stderr
    remote.with_name("moved").rename(remote)
    lost = next(p for p in (remote / "files/md5").rglob("*") if p.is_file() and not p.name.endswith(".dir"))
    lost.unlink()
    incomplete = _pull(work)
    assert incomplete.returncode == 1 and "remote 'r' is incomplete: 1 locked file(s)" in incomplete.stderr
    assert "Nothing was changed" in incomplete.stderr
    unknown = _run([sys.executable, "-m", "pipeline.pull", "-r", "nosuch"], work, check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no remote to pull from:")
    assert len(unknown.stderr.strip().splitlines()) == 1
