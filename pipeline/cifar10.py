"""CIFAR-10 on disk: read the ``cifar-10-batches-py`` layout, verify it, and write the prepared data set.

The prepared data set is one ``.npz`` (uint8 images N x 3 x 32 x 32, int64 labels, the per-channel mean and std
of the training images in [0, 1] units) and one JSON provenance record (the md5 of every source file, whether
the copy is the canonical CIFAR-10, where it came from). Results carry that record, so a figure made from a
non-canonical copy (such as the JPEG re-encoded one in ../shared/cifar10) says so.

Images stay uint8 until they reach the device that uses them (:mod:`pipeline.batches`): the data set is 184 MB
as uint8 and four times that as float32. This module needs numpy only, so the workflow can import it cheaply.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from pipeline.artifacts import reading
from pipeline.atomic import atomic_path, file_hash, write_text

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
SOURCE_FILES = (*TRAIN_FILES, TEST_FILE, META_FILE)
# The md5 sums of the files torchvision downloads (torchvision.datasets.CIFAR10.train_list / test_list / meta).
CANONICAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
NUM_CLASSES = 10
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Files beside the layout that may list its md5 sums, one "md5  path" line per file (as md5sum writes them):
# ../shared/cifar10 publishes them in its README.md.
MANIFESTS = ("MD5SUMS", "md5sums.txt", "README.md")


class CifarError(RuntimeError):
    """A CIFAR-10 source that cannot be used; the message names the file and what is wrong."""


def source_folder(root: str | Path) -> Path:
    """The ``cifar-10-batches-py`` folder under ``root`` (``root`` may also be that folder itself)."""
    root = Path(root)
    return root if root.name == FOLDER else root / FOLDER


def source_paths(root: str | Path) -> list[Path]:
    """The seven files of the layout, in a fixed order (train batches, test batch, meta)."""
    folder = source_folder(root)
    return [folder / name for name in SOURCE_FILES]


def check_root(root: str | Path) -> None:
    """A configured local copy must hold the layout, every file readable: checked when the workflow loads, so a
    mistyped ``cifar10_root`` or an unreadable file is one line even when results already exist (Snakemake would
    otherwise ignore the first and crash on the second while building its DAG)."""
    folder = source_folder(root)
    if not folder.is_dir():
        raise CifarError(f"cifar10_root: {root}: no {FOLDER} folder there (a path to the copy, e.g. ../shared/cifar10)")
    for path in source_paths(root):
        if not path.is_file():
            raise CifarError(f"cifar10_root: {path}: missing (expected the {FOLDER} layout that torchvision downloads)")
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise CifarError(f"cifar10_root: {path}: cannot be read ({exc.strerror}); check its permissions") from exc


def md5(path: Path) -> str:
    return file_hash(path, "md5")


def digest(sums: dict[str, str]) -> str:
    """One md5 over every recorded source file's name and md5: a byte changed in any file changes it."""
    return hashlib.md5("".join(f"{name} {md5}\n" for name, md5 in sorted(sums.items())).encode()).hexdigest()


class Refused(pickle.UnpicklingError):
    """A pickle that asks for something a CIFAR-10 batch never holds."""


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """How protocol-2 pickles written by Python 3 spell bytes (``_codecs.encode(text, 'latin1')``), and only that."""
    if encoding != "latin1":
        raise Refused(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# numpy's array reconstructor, under the module name of the numpy that wrote the file (1.x or 2.x).
_RECONSTRUCT = np.zeros(0).__reduce__()[0]


class BatchUnpickler(pickle.Unpickler):
    """Unpickles what a CIFAR-10 batch holds and nothing else: dicts, lists, bytes, str, ints and numpy arrays.

    ``pickle.load`` would call whatever callable a file names (``os.system`` included); a copy of the data from
    anywhere but the canonical source must not be able to run code. Every global the file asks for is checked
    against this list; anything else is refused before it is called.
    """

    ALLOWED: ClassVar[dict[tuple[str, str], object]] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("_codecs", "encode"): _latin1_bytes,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise Refused(
                f"refused to load {module}.{name}: a CIFAR-10 batch holds only dicts, lists, bytes, str, ints and "
                "numpy arrays"
            ) from None


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickled batch (:class:`BatchUnpickler`: no code runs): uint8 images (N, 3, 32, 32) and int64
    labels (N,), checked for shape and range."""
    if not path.is_file():
        raise CifarError(f"{path}: missing (expected the {FOLDER} layout that torchvision downloads)")
    try:
        with open(path, "rb") as handle:
            batch = BatchUnpickler(handle, encoding="bytes").load()
    except Refused as exc:
        raise CifarError(f"{path}: not a CIFAR-10 batch, nothing from it was run: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise CifarError(f"{path}: not a readable CIFAR-10 batch, truncated or corrupt ({exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise CifarError(f"{path}: not a CIFAR-10 batch (no b'data' / b'labels' entries)")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CifarError(f"{path}: key b'data' has {data.dtype} {data.shape}, expected uint8 (N, 3072)")
    if labels.shape != (data.shape[0],):
        raise CifarError(f"{path}: key b'labels' has {labels.shape[0]} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise CifarError(f"{path}: key b'labels' has values outside 0..{NUM_CLASSES - 1}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_meta(path: Path) -> list[str]:
    """The label names of ``batches.meta``, checked against CIFAR-10's ten classes in their order."""
    if not path.is_file():
        raise CifarError(f"{path}: missing (expected the {FOLDER} layout that torchvision downloads)")
    try:
        with open(path, "rb") as handle:
            meta = BatchUnpickler(handle, encoding="bytes").load()
    except (Refused, pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise CifarError(f"{path}: not a readable CIFAR-10 meta file, truncated or corrupt ({exc})") from exc
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or [n.decode() if isinstance(n, bytes) else n for n in names] != list(LABEL_NAMES):
        raise CifarError(f"{path}: key b'label_names' is {names!r}, expected CIFAR-10's {list(LABEL_NAMES)}")
    return list(LABEL_NAMES)


def manifest(root: str | Path) -> tuple[Path, dict[str, str]] | None:
    """The md5 sums a copy publishes beside its layout (the first of :data:`MANIFESTS` that lists any of the
    seven files), as (manifest file, {file name: md5}); None when there is none."""
    folder = source_folder(root)
    for name in MANIFESTS:
        candidate = folder.parent / name
        if not candidate.is_file():
            continue
        listed = {}
        for line in candidate.read_text(errors="replace").splitlines():
            match = re.fullmatch(r"\s*([0-9a-f]{32})\s+\*?(\S+)\s*", line)
            if match and Path(match[2]).name in SOURCE_FILES:
                listed[Path(match[2]).name] = match[1]
        if listed:
            return candidate, listed
    return None


def check_manifest(root: str | Path, sums: dict[str, str]) -> None:
    """A file whose md5 differs from the one its copy's manifest lists is an error naming both."""
    found = manifest(root)
    if found is None:
        return
    listed_in, listed = found
    for name, expected in listed.items():
        if name in sums and sums[name] != expected:
            raise CifarError(
                f"{source_folder(root) / name}: md5 {sums[name]}, but {listed_in} lists {expected}: the file changed "
                "after the copy was made; restore it from the copy's source"
            )


def prepare(root: str | Path, npz_path: str | Path, provenance_path: str | Path) -> dict:
    """Load and verify the layout under ``root``; write the prepared ``.npz`` and its provenance JSON.

    Every file is validated before anything is written, and both outputs are written atomically.
    """
    paths = source_paths(root)
    for path in paths:
        if not path.is_file():
            raise CifarError(f"{path}: missing (expected the {FOLDER} layout that torchvision downloads)")
    sums = {p.name: md5(p) for p in paths}
    check_manifest(root, sums)
    load_meta(paths[-1])
    train = [load_batch(p) for p in paths[: len(TRAIN_FILES)]]
    test_x, test_y = load_batch(paths[len(TRAIN_FILES)])
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    pixels = train_x.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64) / 255.0
    mean, std = pixels.mean(axis=1), pixels.std(axis=1)
    noncanonical = sorted(name for name, digest in sums.items() if CANONICAL_MD5[name] != digest)
    provenance = {
        "source": str(source_folder(root)),
        "md5": sums,
        "digest": digest(sums),
        "canonical": not noncanonical,
        "noncanonical_files": noncanonical,
        "n_train": int(train_x.shape[0]),
        "n_test": int(test_x.shape[0]),
        "mean": mean.tolist(),
        "std": std.tolist(),
    }
    with atomic_path(npz_path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, mean=mean, std=std)
    write_text(provenance_path, json.dumps(provenance, indent=2) + "\n")
    return provenance


def load_provenance(path: str | Path) -> dict:
    """The provenance record :func:`prepare` wrote beside the prepared data set."""
    with reading(path, "data provenance record", (OSError, ValueError)):
        return json.loads(Path(path).read_text())
