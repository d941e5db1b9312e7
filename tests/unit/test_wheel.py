"""The sdist and the wheel carry everything edgecnn reads at run time, as regular files.

Builds both from a copy of the checkout with `python -m build --no-isolation` (the wheel is
built from the sdist, so a file missing from the sdist is missing from the wheel too), then
compares their file lists with the source tree. About 10 s.
"""

import importlib.util
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import edgecnn

ROOT = Path(__file__).resolve().parents[2]
# Read at run time (edgecnn/paths.py): directory in the checkout -> its path inside the package.
RUNTIME_DIRS = {"firmware_export": "edgecnn/firmware_export", "edgecnn/assets": "edgecnn/assets",
                "edgecnn/codegen/kernels": "edgecnn/codegen/kernels",
                "edgecnn/codegen/harness": "edgecnn/codegen/harness", "edgecnn/bench/harness": "edgecnn/bench/harness"}
NOT_SOURCES = ("build", "dist", "runs", "tmp", ".git", ".pytest_cache", "*.egg-info", "__pycache__", "*.o", "*.elf")


def _expected_package_files() -> set[str]:
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "edgecnn").rglob("*.py") if "__pycache__" not in p.parts}
    for src, dst in RUNTIME_DIRS.items():
        found = [p for p in (ROOT / src).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert found, f"nothing under {src}"
        files |= {f"{dst}/{p.relative_to(ROOT / src).as_posix()}" for p in found}
    return files


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    for module in ("build", "setuptools"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{module} is not installed: install the dev extras (pip install -e '.[dev]')")
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "out"), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheel, = (tmp / "out").glob("edgecnn-*.whl")
    sdist, = (tmp / "out").glob("edgecnn-*.tar.gz")
    print(f"wheel {wheel.name}: {wheel.stat().st_size} bytes; sdist {sdist.name}: {sdist.stat().st_size} bytes")
    return wheel, sdist


def test_wheel_carries_every_runtime_file_as_a_regular_file(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as z:
        infos = z.infolist()
        metadata = z.read(f"edgecnn-{edgecnn.__version__}.dist-info/METADATA").decode()
        entry_points = z.read(f"edgecnn-{edgecnn.__version__}.dist-info/entry_points.txt").decode()
    names = {i.filename for i in infos}
    missing = _expected_package_files() - names
    assert not missing, sorted(missing)
    links = [i.filename for i in infos if stat.S_ISLNK(i.external_attr >> 16)]
    assert not links, links
    assert not [n for n in names if n.startswith(("tests/", "firmware_export/", "benchmarks/"))]
    licences = {"LICENSE", *(p.relative_to(ROOT).as_posix() for p in (ROOT / "LICENSES").glob("*.txt"))}
    assert len(licences) == 4
    for lic in licences:
        assert f"edgecnn-{edgecnn.__version__}.dist-info/licenses/{lic}" in names, lic
        assert f"License-File: {lic}" in metadata
    for field in (f"Version: {edgecnn.__version__}", "License-Expression: Apache-2.0 AND CC-BY-SA-3.0 AND MIT",
                  "Requires-Python: >=3.11", "Classifier: Programming Language :: Python :: 3.11",
                  "Requires-Dist: tensorflow-cpu", "Requires-Dist: tflite-micro"):
        assert field in metadata, field
    assert "edgecnn = edgecnn.cli:main" in entry_points


def test_sdist_has_the_package_data_as_regular_files_and_passes_twine(dists):
    wheel, sdist = dists
    with tarfile.open(sdist) as t:
        members = t.getmembers()
    top = members[0].name.split("/")[0]
    names = {m.name.removeprefix(top + "/") for m in members if m.isfile()}
    missing = _expected_package_files() - names
    assert not missing, sorted(missing)
    assert not [m.name for m in members if m.issym() or m.islnk()]
    assert {"pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"} <= names
    if importlib.util.find_spec("twine") is None:
        pytest.fail("twine is not installed: install the dev extras (pip install -e '.[dev]')")
    r = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.count("PASSED") == 2, r.stdout + r.stderr
