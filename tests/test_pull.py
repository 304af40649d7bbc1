"""pipeline.pull's checks (the whole pull is exercised in tests/test_workflow.py's DVC round trip)."""

from __future__ import annotations

import pytest

from pipeline import pull


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
