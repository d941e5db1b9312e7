"""The recorded command and paths name no directory outside the build (convert/provenance.py)."""

import os

from edgecnn.convert.provenance import recorded_command, recorded_path
from edgecnn.paths import PACKAGE_DIR, shipped_model_dir


def test_paths_are_relative_to_the_build_the_package_or_a_file_name(tmp_path, monkeypatch):
    out = tmp_path / "deep" / "out"
    assert recorded_path(out, out) == "."
    assert recorded_path(out / "c" / "x.h", out) == "c/x.h"
    assert recorded_path(shipped_model_dir("mnist") / "model.keras", out) == "edgecnn/assets/models/mnist/model.keras"
    assert recorded_path(tmp_path / "models" / "net.keras", out) == "net.keras"
    monkeypatch.chdir(tmp_path.parent)
    rel = os.path.relpath(out)  # a relative --out names the same directory
    assert recorded_path(rel, out) == "."
    assert PACKAGE_DIR.name == "edgecnn"


def test_command_rewrites_every_path_option_in_both_spellings(tmp_path):
    out = tmp_path / "b" / "mnist"
    argv = ["--debug", "build", "--target", "all", "--model", str(tmp_path / "m" / "net.keras"),
            f"--data={tmp_path / 'photos'}", "--out", str(out), "--name", "my net"]
    assert recorded_command(argv, out) == ("edgecnn --debug build --target all --model net.keras --data=photos "
                                           "--out . --name 'my net'")
    assert str(tmp_path) not in recorded_command(argv, out)
    assert recorded_command(["build", "--out"], out) == "edgecnn build --out"  # a missing value stays missing
