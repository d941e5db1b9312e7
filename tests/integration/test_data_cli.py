"""`edgecnn data` through the real console script: exit codes, one-line errors, info output,
and CIFAR-10 from the shared JPEG copy as a .tar.gz (via `fetch all --from`) and as an extracted folder."""

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from edgecnn.data import fetch, load
from edgecnn.data.cache import MANIFEST
from edgecnn.paths import data_dir

REAL_CACHE = data_dir()  # before any test points EDGECNN_DATA_DIR elsewhere
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
EDGECNN = Path(sys.executable).parent / "edgecnn"


def run(*args: str, cache: Path) -> subprocess.CompletedProcess:
    if not EDGECNN.is_file():
        pytest.fail(f"{EDGECNN} missing: install the package (pip install -e '.[dev]')")
    env = {**os.environ, "EDGECNN_DATA_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.run([str(EDGECNN), *args], capture_output=True, text=True, env=env, timeout=600)


def shared(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.fail(f"{path} missing: the shared data sets must sit beside the repository (../shared/datasets)")
    return path


def assert_user_error(res: subprocess.CompletedProcess, pattern: str) -> None:
    """Exit 2, one `error:` line matching `pattern`, no traceback."""
    assert res.returncode == 2, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    assert re.search(pattern, errors[0]), errors[0]


def test_help_lists_data_commands(tmp_path):
    res = run("data", "--help", cache=tmp_path)
    assert res.returncode == 0 and "fetch" in res.stdout and "info" in res.stdout
    res = run("data", "fetch", "--help", cache=tmp_path)
    assert res.returncode == 0 and "--from" in res.stdout


def test_unknown_name(tmp_path):
    assert_user_error(run("data", "fetch", "nosuch", cache=tmp_path),
                      r"unknown data set 'nosuch'; expected one of: mnist, fashion-mnist, cifar10, all")
    assert_user_error(run("data", "info", "nosuch", cache=tmp_path), r"unknown data set 'nosuch'")


def test_debug_shows_traceback(tmp_path):
    res = run("--debug", "data", "fetch", "nosuch", cache=tmp_path)
    assert res.returncode != 0 and "Traceback" in res.stderr and "EdgecnnError" in res.stderr


def test_info_before_fetch(tmp_path):
    assert_user_error(run("data", "info", "mnist", cache=tmp_path / "empty"),
                      r"data set 'mnist' is not in the cache .*; run `edgecnn data fetch mnist`")


def test_bad_from_paths(tmp_path):
    assert_user_error(run("data", "fetch", "mnist", "--from", str(tmp_path / "nope"), cache=tmp_path),
                      r"nope: no such file or directory")
    (tmp_path / "empty").mkdir()
    assert_user_error(run("data", "fetch", "mnist", "--from", str(tmp_path / "empty"), cache=tmp_path),
                      r"empty: holds none of the formats of mnist; expected IDX files")
    assert_user_error(run("data", "fetch", "all", "--from", str(tmp_path / "empty"), cache=tmp_path),
                      r"empty: holds none of the supported formats; expected IDX files")
    res = run("data", "fetch", "cifar10", "--from", str(shared("cifar10-exact-partial")), cache=tmp_path / "c")
    assert_user_error(res, r"not the full CIFAR-10 binary version: .*data_batch_1_records_0000-3999.bin "
                           r"\(4000 records\).*partial files are not loaded as the cifar10 data set")
    assert not (tmp_path / "c" / "cifar10").exists()


def test_info_on_real_cache():
    if not (REAL_CACHE / "mnist" / MANIFEST).is_file():
        pytest.fail(f"{REAL_CACHE}/mnist missing: run `edgecnn data fetch mnist` (CI's .ci/run does)")
    res = run("data", "info", "mnist", cache=REAL_CACHE)
    assert res.returncode == 0, res.stderr
    assert "train: 60000 images, test: 10000 images" in res.stdout
    assert "train-images-idx3-ubyte  md5:6bbc9ace898e44ae57da46a324031adb" in res.stdout
    assert "│ 5     │ 5     │ 5421  │ 892   │" in res.stdout


def test_fetch_all_with_jpeg_targz(tmp_path):
    """`fetch all --from cifar10-jpeg.tar.gz`: the archive serves CIFAR-10, the default sources the rest."""
    archive = shared("cifar10-jpeg.tar.gz")
    cache = tmp_path / "a"
    res = run("data", "fetch", "all", "--from", str(archive), cache=cache)
    assert res.returncode == 0, res.stderr
    assert "decoding images" in res.stderr  # Rich progress
    assert "CIFAR-10 (JPEG copy): 50000 train / 10000 test images, 32x32x3 uint8" in res.stdout
    assert "MNIST: 60000 train / 10000 test images" in res.stdout
    assert "Fashion-MNIST: 60000 train / 10000 test images" in res.stdout
    ds = load("cifar10", data_dir=cache)
    assert ds.source == f"{archive.resolve()} (--from)"
    assert ds.checksums["cifar10-jpeg.tar.gz"].startswith("sha256:45b041e867f5a40f")
    assert np.bincount(ds.y_train).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    # Shuffled: the class-grouped folder order does not survive into the arrays.
    assert len(np.unique(ds.y_train[-5000:])) == 10


@pytest.mark.slow
def test_extracted_folder_equals_targz(tmp_path):
    """The extracted JPEG copy gives the same arrays as the archive (in the default cache)."""
    if not (REAL_CACHE / "cifar10" / MANIFEST).is_file():
        pytest.fail(f"{REAL_CACHE}/cifar10 missing: run `edgecnn data fetch cifar10 --from .../cifar10-jpeg.tar.gz`")
    from_tar = load("cifar10", data_dir=REAL_CACHE)
    assert from_tar.source.startswith(str(shared("cifar10-jpeg.tar.gz").resolve()))
    folder = tmp_path / "extracted"
    with tarfile.open(shared("cifar10-jpeg.tar.gz")) as tar:
        tar.extractall(folder, filter="data")
    from_dir = fetch("cifar10", from_=folder, data_dir=tmp_path / "b")
    assert from_dir.label == "CIFAR-10 (JPEG copy)"
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(from_dir, key), getattr(from_tar, key))
