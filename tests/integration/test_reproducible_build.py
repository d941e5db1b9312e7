"""Two builds of the shipped MNIST model, every target, into different directories (other depth,
other name, relative vs absolute --out, other working directory) give the same bytes, except
the files the manifest itself declares not byte-identical.

The data cache is pointed at an empty directory, so calibration and evaluation use the
shipped sample (the fresh-install path) and each build takes tens of seconds, not minutes.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from edgecnn import htmlreport
from edgecnn.convert.targets import TARGETS

ARGS = ("build", "--target", "all", "--calibration-samples", "100")


def _build(cwd: Path, out: str, env: dict) -> Path:
    cwd.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "edgecnn", *ARGS, "--out", out], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=900)
    print(f"edgecnn {' '.join(ARGS)} --out {out} (cwd {cwd}): {time.monotonic() - t0:.1f} s")
    assert res.returncode == 0, res.stdout + res.stderr
    return (cwd / out).resolve()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_builds_into_two_directories_are_byte_identical(tmp_path):
    (tmp_path / "empty-cache").mkdir()
    env = {**os.environ, "EDGECNN_DATA_DIR": str(tmp_path / "empty-cache"), "COLUMNS": "200"}
    # Names that occur in no generated file by chance, so that finding one there is a leak.
    first = _build(tmp_path / "cwd-a", "deeper-q7/still/build-x3k", env)
    second = _build(tmp_path / "elsewhere" / "cwd-b", str(tmp_path / "other-z9"), env)

    files = _files(first)
    assert files == _files(second) and "manifest.json" in files and len(files) > 20
    m1, m2 = (json.loads((d / "manifest.json").read_text()) for d in (first, second))
    assert m1["targets"] == list(TARGETS)  # every target of the one table, so each is checked
    declared = m1["reproducibility"]["not_byte_identical"]
    assert declared == m2["reproducibility"]["not_byte_identical"]
    # The report (report.html, report.json) is written after the manifest and rewritten by bench, so
    # the manifest does not hash it; it is compared byte for byte below like every other file.
    report = {htmlreport.PAGE, htmlreport.DATA}
    assert report <= files
    assert sorted(m1["reproducibility"]["byte_identical"]) == sorted(files - set(declared) - report)
    # Only the .ort (onnxruntime's writer, docs/packaging.md) and the manifest holding its hash may differ.
    assert set(declared) <= {"model_int8.ort", "manifest.json"}, declared
    differing = sorted(f for f in files if (first / f).read_bytes() != (second / f).read_bytes())
    print(f"differing: {differing}; declared not byte-identical: {sorted(declared)}")
    assert set(differing) <= set(declared), differing
    # Apart from the declared files' own entries, the manifests are equal too.
    for m in (m1, m2):
        for f in declared:
            m["artifacts"].pop(f, None)
    assert m1 == m2

    # What makes them equal: the command and the model are recorded without the directories.
    assert m1["command"] == "edgecnn " + " ".join(ARGS) + " --out ."
    assert m1["source_model"]["path"] == "edgecnn/assets/models/mnist/model.keras"
    for d in (first, second):
        for f in sorted(files):
            text = (d / f).read_bytes()
            for leak in (str(tmp_path), "cwd-a", "cwd-b", "deeper-q7", "build-x3k", "other-z9"):
                assert leak.encode() not in text, f"{d / f} records {leak!r}"
    head = (first / "tflite-micro" / "model_data.cc").read_text().splitlines()[:4]
    assert head[3] == "// Command: " + m1["command"] and m1["source_model"]["sha256"] in head[1]
