"""Seeded initial checkpoints and atomic writes."""

from __future__ import annotations

import os

import pytest
import torch

from pipeline import atomic, checkpoints


def _state(params, seed=0, variant="bn"):
    return checkpoints.initial_state(variant, params["variants"][variant], params["model"], 8, seed)


def test_same_seed_same_file_bytes(params, tmp_path):
    checkpoints.save(_state(params), tmp_path / "a.pt")
    checkpoints.save(_state(params), tmp_path / "b.pt")
    checkpoints.save(_state(params, seed=1), tmp_path / "c.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert (tmp_path / "a.pt").read_bytes() != (tmp_path / "c.pt").read_bytes()


def test_load_model_rebuilds_the_network_from_the_checkpoint_alone(params, tmp_path):
    state = _state(params, variant="mu")
    checkpoints.save(state, tmp_path / "m.pt")
    model, loaded = checkpoints.load_model(tmp_path / "m.pt")
    assert loaded["variant_name"] == "mu" and loaded["depth"] == 8 and loaded["seed"] == 0
    for key, value in model.state_dict().items():
        assert torch.equal(value, state["state_dict"][key])


def test_wrong_format_is_rejected(params, tmp_path):
    state = {**_state(params), "format": 99}
    checkpoints.save(state, tmp_path / "x.pt")
    with pytest.raises(ValueError, match=r"x\.pt: checkpoint format 99"):
        checkpoints.load(tmp_path / "x.pt")


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.txt"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == [".out.txt.sha256", "out.txt"]
    assert atomic.hash_record(target).read_text() == f"{atomic.file_hash(target)}  out.txt\n"  # still the old one
    atomic.write_text(target, "new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o666 & ~atomic._UMASK
