"""CIFAR-10 loading, verification, preparation and mini-batches."""

from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import batches, cifar10, download


def _prepare(root, tmp_path):
    return cifar10.prepare(root, tmp_path / "out" / "c.npz", tmp_path / "out" / "c.json")


def test_prepare_writes_images_labels_statistics_and_md5(fake_cifar, tmp_path):
    record = _prepare(fake_cifar, tmp_path)
    prepared = batches.load_prepared(tmp_path / "out" / "c.npz")
    assert prepared.train_x.shape == (200, 3, 32, 32) and prepared.train_x.dtype == torch.uint8
    assert prepared.test_x.shape == (40, 3, 32, 32) and prepared.train_y.dtype == torch.int64
    first = pickle.loads((fake_cifar / cifar10.FOLDER / "data_batch_1").read_bytes())
    assert np.array_equal(prepared.train_x[:40].numpy().reshape(40, -1), first[b"data"])
    assert prepared.train_y[:40].tolist() == first[b"labels"]
    pixels = prepared.train_x.double().div(255).transpose(0, 1).reshape(3, -1)
    assert torch.allclose(prepared.mean, pixels.mean(1)) and torch.allclose(prepared.std, pixels.std(1, correction=0))
    for name, digest in record["md5"].items():
        assert digest == hashlib.md5((fake_cifar / cifar10.FOLDER / name).read_bytes()).hexdigest()
    assert record["canonical"] is False and "data_batch_1" in record["noncanonical_files"]
    assert cifar10.load_provenance(tmp_path / "out" / "c.json") == record


def test_root_may_name_the_batches_folder_itself(fake_cifar, tmp_path):
    assert _prepare(fake_cifar / cifar10.FOLDER, tmp_path)["n_train"] == 200


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda f: (f / "data_batch_3").unlink(), r"data_batch_3: missing"),
        (
            lambda f: (f / "test_batch").write_bytes((f / "test_batch").read_bytes()[:5000]),
            r"test_batch: not a readable",
        ),
        (lambda f: (f / "data_batch_2").write_bytes(b"garbage"), r"data_batch_2: not a readable"),
        (
            lambda f: (f / "data_batch_1").write_bytes(
                pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]})
            ),
            r"data_batch_1: key b'data'",
        ),
        (
            lambda f: (f / "data_batch_4").write_bytes(
                pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]})
            ),
            r"data_batch_4: key b'labels'",
        ),
        (lambda f: (f / "batches.meta").write_bytes(bytes(range(256)) * 4), r"batches.meta: not a readable"),
        (
            lambda f: (f / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"cat"] * 10})),
            r"batches.meta: key b'label_names'",
        ),
    ],
)
def test_bad_sources_fail_clearly_and_write_nothing(fake_cifar, tmp_path, damage, expected):
    damage(fake_cifar / cifar10.FOLDER)
    with pytest.raises(cifar10.CifarError, match=expected):
        _prepare(fake_cifar, tmp_path)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_file_that_differs_from_the_copys_manifest_is_named(fake_cifar, tmp_path):
    folder = fake_cifar / cifar10.FOLDER
    sums = "".join(f"{cifar10.md5(p)}  {cifar10.FOLDER}/{p.name}\n" for p in cifar10.source_paths(fake_cifar))
    (fake_cifar / "MD5SUMS").write_text(sums)
    assert _prepare(fake_cifar, tmp_path)["n_test"] == 40  # every file as listed
    raw = bytearray((folder / "data_batch_2").read_bytes())
    raw[-300] ^= 0x01  # an image byte: the batch still loads
    (folder / "data_batch_2").write_bytes(bytes(raw))
    with pytest.raises(cifar10.CifarError) as error:
        _prepare(fake_cifar, tmp_path / "again")
    message = str(error.value)
    assert message.startswith(f"{folder / 'data_batch_2'}: md5 ") and f"{fake_cifar / 'MD5SUMS'} lists" in message
    assert "\n" not in message


def test_a_configured_root_must_exist_and_be_readable(fake_cifar, tmp_path, monkeypatch):
    cifar10.check_root(fake_cifar)
    with pytest.raises(cifar10.CifarError, match=r"^cifar10_root: .*cifarr: no cifar-10-batches-py folder there"):
        cifar10.check_root(tmp_path / "cifarr")
    denied = fake_cifar / cifar10.FOLDER / "data_batch_3"

    def guarded_open(path, *args, **kwargs):  # root reads every file whatever its mode: deny this one here
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(cifar10, "open", guarded_open, raising=False)
    with pytest.raises(cifar10.CifarError, match=r"data_batch_3: cannot be read \(Permission denied\)"):
        cifar10.check_root(fake_cifar)


class _RunsACommand:
    """A pickle payload whose loading would run a shell command (what a hostile copy of the data could hold)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_pickle_is_refused_and_runs_nothing(fake_cifar, tmp_path):
    marker = tmp_path / "ran"
    hostile = pickle.dumps({b"data": _RunsACommand(marker), b"labels": [0]}, protocol=2)
    pickle.loads(pickle.dumps(_RunsACommand(tmp_path / "control")))  # the payload is live with plain pickle
    assert (tmp_path / "control").exists()
    (fake_cifar / cifar10.FOLDER / "test_batch").write_bytes(hostile)
    with pytest.raises(cifar10.CifarError) as refused:
        _prepare(fake_cifar, tmp_path)
    message = str(refused.value)
    assert "test_batch" in message and "refused to load posix.system" in message and "\n" not in message
    assert not marker.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_one_flipped_byte_anywhere_changes_what_the_figures_say(fake_cifar, tmp_path, monkeypatch):
    from pipeline import provenance
    from pipeline.plots import render

    folder = fake_cifar / cifar10.FOLDER
    monkeypatch.setattr(cifar10, "CANONICAL_MD5", {p.name: cifar10.md5(p) for p in cifar10.source_paths(fake_cifar)})
    before = render.provenance_line(provenance.record("cpu", {}, _prepare(fake_cifar, tmp_path)))
    assert "canonical CIFAR-10, data digest" in before
    raw = bytearray((folder / "test_batch").read_bytes())
    raw[-200] ^= 0x01  # inside the image bytes: the batch still loads
    (folder / "test_batch").write_bytes(bytes(raw))
    after = render.provenance_line(provenance.record("cpu", {}, _prepare(fake_cifar, tmp_path)))
    assert "non-canonical CIFAR-10 copy (test_batch differs from the canonical md5s)" in after
    digest = re.compile(r"data digest ([0-9a-f]{8})")
    assert digest.search(after).group(1) != digest.search(before).group(1)


def test_offline_download_fails_clearly_and_leaves_nothing(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*_args, **_kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(cifar10.CifarError, match="cifar10_root"):
        download.download(tmp_path / "raw")
    assert list((tmp_path / "raw").iterdir()) == []


def test_download_moves_the_verified_folder_into_place(tmp_path, monkeypatch):
    import torchvision.datasets

    from tests.conftest import write_fake_cifar

    def fake_download(root, train, download):  # stands in for torchvision's download + md5 check
        assert train and download
        write_fake_cifar(__import__("pathlib").Path(root))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_download)
    folder = download.download(tmp_path / "raw")
    assert folder == tmp_path / "raw" / cifar10.FOLDER and (folder / "test_batch").is_file()
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [cifar10.FOLDER]


def test_probe_batches_are_seeded_normalized_and_disjoint(fake_cifar, tmp_path):
    _prepare(fake_cifar, tmp_path)
    prepared = batches.load_prepared(tmp_path / "out" / "c.npz")
    first = list(batches.probe_batches(prepared, 50, 4, seed=3))
    again = list(batches.probe_batches(prepared, 50, 4, seed=3))
    other = list(batches.probe_batches(prepared, 50, 4, seed=4))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0][0], other[0][0])
    images = torch.cat([x for x, _ in first])
    assert images.shape == (200, 3, 32, 32) and images.dtype == torch.float32
    assert torch.allclose(images.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)  # all 200 train images: exact stats
    assert torch.allclose(images.std((0, 2, 3), correction=0), torch.ones(3), atol=1e-4)
    with pytest.raises(ValueError, match="need 250 images"):
        list(batches.probe_batches(prepared, 50, 5, seed=0))
