"""A user's own images through the real console script: `data add`, `data info`, `data list`,
`train --dataset NAME` (small and fast) and `build` on the result with no further flags;
bad input ends in one line, exit 2, and nothing in the cache."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import USER_SIDE

EDGECNN = Path(sys.executable).parent / "edgecnn"


def run(*args: str, cache: Path, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    if not EDGECNN.is_file():
        pytest.fail(f"{EDGECNN} missing: install the package (pip install -e '.[dev]')")
    # As a user's shell would run it: no oneDNN switch inherited from this process.
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env |= {"EDGECNN_DATA_DIR": str(cache), "COLUMNS": "200"}
    return subprocess.run([str(EDGECNN), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)


def assert_user_error(res: subprocess.CompletedProcess, pattern: str) -> None:
    assert res.returncode == 2, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    assert re.search(pattern, errors[0]), errors[0]


def test_add_info_list_and_errors(user_folder, tmp_path):
    cache = tmp_path / "cache"
    res = run("data", "add", "photos", "--from", str(user_folder), cache=cache)
    assert res.returncode == 0, res.stderr
    n = len(list(user_folder.rglob("*.png")))
    m = re.search(r"photos: (\d+) train / (\d+) test images, 40x40x3 uint8, 10 classes", res.stdout)
    assert m and int(m[1]) + int(m[2]) == n, res.stdout
    assert "stratified by class" in res.stdout
    info = run("data", "info", "photos", cache=cache)
    assert info.returncode == 0, info.stderr
    assert f"image shape: {USER_SIDE}x{USER_SIDE}x3 uint8" in info.stdout and "sha256:" in info.stdout
    assert re.search(r"│ 3\s+│ cat\s+│ \d+\s+│ \d+\s+│", info.stdout), info.stdout
    assert "no test split in the source" in info.stdout
    listed = run("data", "list", cache=cache)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "photos" in line)
    assert re.search(r"photos\s+│ user\s+│ cached\s+│ 40x40x3\s+│ 10\s+│ " + m[1], row), row
    assert re.search(r"mnist\s+│ built-in", listed.stdout)

    assert_user_error(run("data", "add", "mnist", "--from", str(user_folder), cache=cache),
                      r"'mnist' is taken by a built-in data set")
    assert_user_error(run("data", "add", "photos", "--from", str(user_folder), cache=cache),
                      r"'photos' is already registered; pass --replace")
    assert_user_error(run("data", "info", "nosuch", cache=cache), r"unknown data set 'nosuch'.*registered: photos")
    assert_user_error(run("train", "--dataset", "nosuch", cache=cache), r"unknown data set 'nosuch'")
    assert_user_error(run("data", "fetch", "photos", cache=cache), r"registered with `edgecnn data add`; nothing to fetch")
    before = sorted(p.name for p in cache.iterdir())
    mixed = tmp_path / "mixed"
    shutil.copytree(user_folder, mixed)
    first = sorted(mixed.rglob("*.png"))[0]
    Image.open(first).resize((30, 20)).save(first)
    assert_user_error(run("data", "add", "mixed", "--from", str(mixed), cache=cache),
                      r"images of 2 sizes \(HxW\): 40x40 \(\d+ images\), 20x30 \(1 image\); pass --size HxW")
    assert_user_error(run("data", "add", "mixed", "--from", str(mixed), "--size", "forty", cache=cache),
                      r"--size 'forty': expected HxW")
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((4, 20, 20), np.float64), y_train=np.arange(4) % 2)
    assert_user_error(run("data", "add", "bad", "--from", str(bad), cache=cache), r"bad.npz: arrays")
    assert sorted(p.name for p in cache.iterdir()) == before
    res = run("data", "add", "mixed", "--from", str(mixed), "--size", "32x32", "--channels", "1", cache=cache)
    assert res.returncode == 0 and "resized from 20x30, 40x40 to 32x32 with bilinear" in res.stdout, res.stdout


def test_train_on_user_set_then_build_and_bench(user_folder, tmp_path):
    """data add -> train (baseline, 1 epoch, 96 images, a RAM budget) -> build --target c with no flags
    -> bench (LiteRT int8 and the C engine on the registered set's test split)."""
    cache = tmp_path / "cache"
    assert run("data", "add", "photos", "--from", str(user_folder), cache=cache).returncode == 0
    out = tmp_path / "run"
    res = run("train", "--dataset", "photos", "--method", "baseline", "--limit", "96", "--epochs", "1",
              "--max-arena", "24000", "--out", str(out), cache=cache, cwd=tmp_path, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    assert (out / "model.keras").stat().st_size > 0 and (out / "confusion.png").stat().st_size > 0
    assert m["dataset"] == "photos" and m["input_range"] == [0.0, 1.0] and m["input_shape"] == [40, 40, 3]
    assert m["class_names"] == sorted(d.name for d in user_folder.iterdir())
    choice = m["family_choice"]
    assert choice["chosen"]["arena_bytes"] <= 24000 and choice["chosen"]["params"] <= 15000
    assert any(not c["fits"] for c in choice["candidates"])  # the 15k-parameter member needs more arena
    assert m["family"] == choice["chosen"]["family"] and m["params"] == choice["chosen"]["params"]
    assert f"chose {m['family']}: {m['params']} params" in res.stdout + res.stderr
    import keras

    model = keras.models.load_model(out / "model.keras")
    assert model.input_shape == (None, 40, 40, 3) and model.output_shape == (None, 10)

    build = tmp_path / "build"
    res = run("build", "--model", str(out / "model.keras"), "--target", "c", "--out", str(build),
              cache=cache, cwd=tmp_path, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["dataset"] == "photos"
    header = (build / "c" / "photos_model.h").read_text()
    # The figures measured on the untrained candidate are the trained model's.
    for macro, key in (("ARENA_BYTES", "arena_bytes"), ("WEIGHTS_BYTES", "weights_bytes"), ("MACS", "macs")):
        assert re.search(rf"_{macro} {choice['chosen'][key]}\n", header), (macro, header)

    bench_json = tmp_path / "bench.json"
    res = run("bench", "--build", str(build), "--runs", "20", "--warmup", "2", "--runtime", "litert-int8",
              "--runtime", "c-host", "--json", str(bench_json), cache=cache, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    b = json.loads(bench_json.read_text())
    rows = {r["runtime"]: r for r in b["runtimes"]}
    n_test = json.loads((cache / "photos" / "manifest.json").read_text())["n_test"]
    for name in ("litert-int8", "c-host"):
        assert rows[name]["status"] == "ok" and rows[name]["n_images"] == n_test
        assert round(rows[name]["top1_acc"] * n_test) == round(manifest["evaluation"]["int8_top1_acc"] * n_test)
    assert rows["c-host"]["arena_bytes"] == choice["chosen"]["arena_bytes"]
