"""Damaged artifacts: every reader names the file in one line, a damaged resume state never blocks its run, and
a change that keeps a file readable is found by the content hash recorded when it was written."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from pipeline import atomic, batches, checkpoints, cifar10, parquet, verify
from pipeline.artifacts import ArtifactError
from pipeline.train import engine, job
from pipeline.train.runs import Run


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _one_line(error: pytest.ExceptionInfo, path) -> str:
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


def test_a_truncated_checkpoint_is_named_with_what_to_do(tmp_path):
    path = tmp_path / "bn-d8-s0.pt"
    checkpoints.save({"format": checkpoints.FORMAT, "w": torch.ones(1000)}, path)
    _truncate(path)
    with pytest.raises(ArtifactError) as error:
        checkpoints.load(path)
    assert "unreadable checkpoint, truncated or corrupt" in _one_line(error, path)
    assert "Snakemake rebuilds it" in str(error.value)


def test_a_truncated_parquet_file_is_named_by_every_reader(tmp_path):
    path = tmp_path / "m.parquet"
    parquet.write(pl.DataFrame({"x": list(range(1000))}), path, {"profile": "cpu"})
    _truncate(path)
    for read in (parquet.read, parquet.provenance, lambda p: parquet.read_all([p])):
        with pytest.raises(ArtifactError) as error:
            read(path)
        assert "unreadable Parquet file" in _one_line(error, path)
    with pytest.raises(ArtifactError, match="Parquet file missing"):
        parquet.read(tmp_path / "absent.parquet")


def test_a_truncated_prepared_data_set_is_named(tmp_path):
    path = tmp_path / "cifar10.npz"
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, train_x=np.zeros((10, 3, 32, 32), np.uint8))
    _truncate(path, 0.3)
    with pytest.raises(ArtifactError) as error:
        batches.load_prepared(path)
    assert "unreadable prepared data set" in _one_line(error, path)


def test_a_damaged_data_provenance_record_is_named(tmp_path):
    path = tmp_path / "cifar10.json"
    path.write_text('{"md5": {"data_batch_1": ')
    with pytest.raises(ArtifactError) as error:
        cifar10.load_provenance(path)
    assert "unreadable data provenance record" in _one_line(error, path)


def test_a_damaged_resume_state_is_set_aside_and_the_run_starts_over(tmp_path, capsys):
    run = Run("bn", 8, 0.1, 2, 0)
    state = tmp_path / f"{run.name}.pt"
    checkpoints.save({"format": engine.STATE_FORMAT, "run": run.name, "w": torch.ones(1000)}, state)
    assert engine.load_state(state, run, torch.device("cpu"))["run"] == run.name
    _truncate(state)
    for _ in range(2):  # the second call finds nothing: the run is never blocked
        assert engine.load_state(state, run, torch.device("cpu")) is None
    assert not state.exists() and state.with_name(state.name + ".unreadable").is_file()
    logged = capsys.readouterr().out
    assert logged.count("set aside") == 1 and "the run starts from its initial weights" in logged


def test_a_damaged_finished_attempt_is_trained_again(tmp_path, capsys):
    done = tmp_path / "attempt.done.pt"
    checkpoints.save({"rows": [], "status": "completed"}, done)
    assert job.finished_attempt(done)["status"] == "completed"
    done.write_bytes(b"not a zip")
    assert job.finished_attempt(done) is None and "the attempt is trained again" in capsys.readouterr().out


def test_verify_finds_a_flipped_byte_that_keeps_the_file_readable_and_sets_it_aside(tmp_path, capsys):
    folder = tmp_path / "results"
    good, flipped = folder / "a.parquet", folder / "sub/b.parquet"
    for path in (good, flipped):
        parquet.write(pl.DataFrame({"x": [1.0, 2.0, 3.0]}), path, {"profile": "cpu"})
    assert atomic.hash_record(good).read_text().split() == [atomic.file_hash(good), "a.parquet"]
    (folder / "pulled.svg").write_text("<svg/>")  # no record: counted as unrecorded, not judged
    raw = bytearray(flipped.read_bytes())
    raw[20] ^= 0x01  # inside the data page: the file still reads
    flipped.write_bytes(bytes(raw))
    parquet.read(flipped)
    assert verify.main([str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"{flipped}: content changed since it was written" in out and str(good) not in out
    assert "checked 2 files" in out and "1 damaged; 1 other files have no record" in out
    assert verify.main([str(folder), "--set-aside"]) == 0
    assert not flipped.exists() and flipped.with_name("b.parquet.damaged").is_file() and good.is_file()
    assert verify.main([str(folder)]) == 0  # what is left matches its records
    atomic.hash_record(good).write_text("")  # a record emptied by hand is a mismatch, not a crash
    assert verify.main([str(folder)]) == 1
    with pytest.raises(SystemExit):
        verify.main([str(tmp_path / "no-such-folder")])
