"""Readers on the real files: IDX (MNIST, Fashion-MNIST), CIFAR-10 binary (exact partial files), python batches.

The full MNIST/Fashion-MNIST files come from the default cache, which `.ci/run`
fills with `edgecnn data fetch` before the tests: if it is empty these tests
fail (they never skip). Corrupt variants are made in tmp_path.
"""

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from edgecnn.data.readers import (CIFAR_RECORD_BYTES, parse_cifar_binary, parse_cifar_meta,
                                  parse_cifar_python, read_idx, unpickle_batch)
from edgecnn.data.registry import CIFAR10_CLASSES, SPECS
from edgecnn.errors import EdgecnnError
from edgecnn.paths import data_dir

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
PARTIAL = SHARED / "cifar10-exact-partial"
# From shared/datasets/README.md: official test images 0..19.
PARTIAL_TEST_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
# First labels of each split, as the original files have them.
FIRST_LABELS = {
    "mnist": ([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]),
    "fashion-mnist": ([9, 0, 0, 3, 0, 2, 7, 2, 5, 5], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]),
}


def cached_file(dataset: str, fname: str) -> Path:
    """A file of the default cache; fails loudly when `.ci/run` has not fetched the data set."""
    path = data_dir() / dataset / fname
    if not path.is_file():
        pytest.fail(f"{path} missing: run `edgecnn data fetch {dataset}` (CI's .ci/run does) before the tests")
    return path


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.is_file():
        pytest.fail(f"{path} missing: the shared data sets must sit beside the repository (../shared/datasets)")
    return path


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_idx_real_files_counts_labels_checksums(dataset):
    spec = SPECS[dataset]
    arrays = {}
    for f in spec.idx_files:
        path = cached_file(dataset, f.name)
        assert hashlib.md5(path.read_bytes()).hexdigest() == f.md5, f"{f.name} differs from the published MD5"
        arrays[f.role] = read_idx(path, 3 if f.role.startswith("x") else 1)
    assert arrays["x_train"].shape == (60000, 28, 28) and arrays["y_train"].shape == (60000,)
    assert arrays["x_test"].shape == (10000, 28, 28) and arrays["y_test"].shape == (10000,)
    first_train, first_test = FIRST_LABELS[dataset]
    assert arrays["y_train"][:10].tolist() == first_train
    assert arrays["y_test"][:10].tolist() == first_test
    assert np.bincount(arrays["y_test"]).tolist() == (
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009] if dataset == "mnist" else [1000] * 10)


def test_idx_gzip_equals_raw(tmp_path):
    raw = cached_file("mnist", "t10k-labels-idx1-ubyte")
    gz = tmp_path / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    np.testing.assert_array_equal(read_idx(gz, 1), read_idx(raw, 1))


@pytest.fixture
def labels_bytes() -> bytes:
    return cached_file("mnist", "t10k-labels-idx1-ubyte").read_bytes()


def _write(tmp_path, data: bytes, name="t10k-labels-idx1-ubyte") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_idx_truncated(tmp_path, labels_bytes):
    with pytest.raises(EdgecnnError, match=r"t10k-labels-idx1-ubyte: truncated IDX file: header says 10000 records"):
        read_idx(_write(tmp_path, labels_bytes[:-100]), 1)


def test_idx_truncated_image_file(tmp_path):
    images = cached_file("mnist", "t10k-images-idx3-ubyte").read_bytes()
    with pytest.raises(EdgecnnError, match=r"truncated IDX file: header says 10000 records \(10000x28x28"):
        read_idx(_write(tmp_path, images[: len(images) // 2], "t10k-images-idx3-ubyte"), 3)


def test_idx_wrong_magic(tmp_path, labels_bytes):
    # An image file's magic (3 dimensions) where a label file (1 dimension) is expected.
    bad = labels_bytes[:3] + b"\x03" + labels_bytes[4:]
    with pytest.raises(EdgecnnError, match=r"wrong magic number 0x00000803; expected 0x00000801"):
        read_idx(_write(tmp_path, bad), 1)


def test_idx_count_does_not_match_header(tmp_path, labels_bytes):
    bad = labels_bytes[:4] + (9990).to_bytes(4, "big") + labels_bytes[8:]
    with pytest.raises(EdgecnnError, match=r"record count does not match the header: header says 9990 records"):
        read_idx(_write(tmp_path, bad), 1)


def test_idx_truncated_gzip(tmp_path, labels_bytes):
    gz = gzip.compress(labels_bytes)
    with pytest.raises(EdgecnnError, match=r"corrupt or truncated gzip data"):
        read_idx(_write(tmp_path, gz[: len(gz) // 2], "t10k-labels-idx1-ubyte.gz"), 1)


def test_cifar_binary_exact_partial_files():
    train_path = shared_file("cifar10-exact-partial/data_batch_1_records_0000-3999.bin")
    test_path = shared_file("cifar10-exact-partial/test_batch_records_00-19.bin")
    sums = dict(reversed(line.split()) for line in shared_file("SHA256SUMS").read_text().splitlines())
    for path in (train_path, test_path):
        rel = f"cifar10-exact-partial/{path.name}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[rel]
    raw = train_path.read_bytes()
    x, y = parse_cifar_binary(raw, train_path.name)
    assert x.shape == (4000, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (4000,)
    assert y.max() <= 9 and len(np.unique(y)) == 10
    # Planar R, G, B planes become the last axis: pixel (row 5, col 7) of record 3.
    rec = np.frombuffer(raw, np.uint8)[3 * CIFAR_RECORD_BYTES: 4 * CIFAR_RECORD_BYTES]
    assert y[3] == rec[0]
    assert x[3, 5, 7].tolist() == [rec[1 + 5 * 32 + 7], rec[1 + 1024 + 5 * 32 + 7], rec[1 + 2048 + 5 * 32 + 7]]
    xt, yt = parse_cifar_binary(test_path.read_bytes(), test_path.name)
    assert xt.shape == (20, 32, 32, 3) and yt.tolist() == PARTIAL_TEST_LABELS


def test_cifar_meta_names():
    path = shared_file("cifar10-exact-partial/batches.meta.txt")
    assert parse_cifar_meta(path.read_bytes(), path.name) == CIFAR10_CLASSES


def test_cifar_binary_truncated_and_bad_label():
    raw = shared_file("cifar10-exact-partial/test_batch_records_00-19.bin").read_bytes()
    with pytest.raises(EdgecnnError, match=r"61459 bytes is not a whole number of 3073-byte records"):
        parse_cifar_binary(raw[:-1], "test_batch.bin")
    bad = bytearray(raw)
    bad[2 * CIFAR_RECORD_BYTES] = 10
    with pytest.raises(EdgecnnError, match=r"label 10 at record 2; expected labels 0..9"):
        parse_cifar_binary(bytes(bad), "test_batch.bin")


def _python_batch(x_planar: np.ndarray, labels: list[int]) -> bytes:
    """A batch in the python version's layout (dict with bytes keys, protocol 2)."""
    return pickle.dumps({b"batch_label": b"testing batch 1 of 1", b"labels": labels,
                         b"data": x_planar, b"filenames": [b"x.png"] * len(labels)}, protocol=2)


def test_cifar_python_batch_matches_binary():
    raw = shared_file("cifar10-exact-partial/test_batch_records_00-19.bin").read_bytes()
    x_bin, y_bin = parse_cifar_binary(raw, "test_batch.bin")
    planar = np.frombuffer(raw, np.uint8).reshape(-1, CIFAR_RECORD_BYTES)[:, 1:].copy()
    x_py, y_py = parse_cifar_python(_python_batch(planar, y_bin.tolist()), "test_batch")
    np.testing.assert_array_equal(x_py, x_bin)
    np.testing.assert_array_equal(y_py, y_bin)


def test_cifar_python_refuses_code_and_bad_shapes():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(EdgecnnError, match=r"refusing to load (__builtin__|builtins).print"):
        unpickle_batch(pickle.dumps(Evil(), protocol=2), "data_batch_1")
    with pytest.raises(EdgecnnError, match=r"data is uint8 \(2, 100\); expected uint8 \(N, 3072\)"):
        parse_cifar_python(_python_batch(np.zeros((2, 100), np.uint8), [0, 1]), "data_batch_1")
    with pytest.raises(EdgecnnError, match=r"1 labels for 2 images"):
        parse_cifar_python(_python_batch(np.zeros((2, 3072), np.uint8), [0]), "data_batch_1")
