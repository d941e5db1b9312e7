"""CIFAR-10's official formats through `fetch`, built from the shared exact records.

The official files cannot be fetched here, so full-size batches are assembled
from the 4,020 exact records (repeated): enough to drive the binary reader,
the .npz cache and the published-checksum checks end to end.
"""

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from edgecnn.data import fetch, load
from edgecnn.data.cache import ChecksumMismatch
from edgecnn.data.readers import CIFAR_RECORD_BYTES, parse_cifar_binary
from edgecnn.errors import EdgecnnError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
RECORDS_PER_BATCH = 10000


@pytest.fixture(scope="module")
def records() -> np.ndarray:
    """(4020, 3073) uint8: the exact train and test records, in file order."""
    parts = []
    for name in ("data_batch_1_records_0000-3999.bin", "test_batch_records_00-19.bin"):
        path = SHARED / "cifar10-exact-partial" / name
        if not path.is_file():
            pytest.fail(f"{path} missing: the shared data sets must sit beside the repository")
        parts.append(np.frombuffer(path.read_bytes(), np.uint8).reshape(-1, CIFAR_RECORD_BYTES))
    return np.concatenate(parts)


def batch(records: np.ndarray, i: int) -> np.ndarray:
    """Batch i: 10000 records, rolling through the exact ones."""
    return records[(np.arange(RECORDS_PER_BATCH) + i * 777) % len(records)]


def test_binary_version_folder(records, tmp_path):
    src = tmp_path / "cifar-10-batches-bin"
    src.mkdir()
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for i, name in enumerate(names):
        (src / name).write_bytes(batch(records, i).tobytes())
    (src / "batches.meta.txt").write_bytes((SHARED / "cifar10-exact-partial" / "batches.meta.txt").read_bytes())
    ds = fetch("cifar10", from_=src, data_dir=tmp_path / "cache")
    assert ds.label == "CIFAR-10" and ds.x_train.shape == (50000, 32, 32, 3) and ds.x_test.shape == (10000, 32, 32, 3)
    x2, y2 = parse_cifar_binary(batch(records, 1).tobytes(), "b2")
    np.testing.assert_array_equal(ds.x_train[10000:20000], x2)  # binary batches keep their order
    np.testing.assert_array_equal(ds.y_train[10000:20000], y2)
    assert sorted(ds.checksums) == sorted(names) and all(v.startswith("sha256:") for v in ds.checksums.values())
    again = load("cifar10", data_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_binary_meta_with_wrong_class_names(records, tmp_path):
    src = tmp_path / "bin"
    src.mkdir()
    for i, name in enumerate([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]):
        (src / name).write_bytes(batch(records, i).tobytes())
    (src / "batches.meta.txt").write_text("\n".join(["plane"] + ["x"] * 9) + "\n")
    with pytest.raises(EdgecnnError, match=r"batches.meta.txt: class names \['plane'"):
        fetch("cifar10", from_=src, data_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "cifar10").exists()


def test_python_version_checked_against_published_md5(records, tmp_path):
    src = tmp_path / "cifar-10-batches-py"
    src.mkdir()
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        b = batch(records, i)
        (src / name).write_bytes(pickle.dumps({b"labels": b[:, 0].tolist(), b"data": b[:, 1:]}, protocol=2))
    with pytest.raises(ChecksumMismatch, match=r"checksum mismatch for .*cifar-10-batches-py/data_batch_1 from "
                                               r".*\(--from\): expected md5:c99cafc152244af753f735de768cd75f, got md5:"):
        fetch("cifar10", from_=src, data_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "cifar10").exists()


def test_official_archive_name_is_checked(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    (src / "test_batch.bin").write_bytes(b"\0" * CIFAR_RECORD_BYTES)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-bin")
    with pytest.raises(ChecksumMismatch, match=r"cifar-10-binary.tar.gz from .*: expected "
                                               r"md5:c32a1d4ab5d03f1284b67883e8d87530, got md5:"):
        fetch("cifar10", from_=archive, data_dir=tmp_path / "cache")
