"""Per-layer insight (`edgecnn inspect BUILD --layers`) with the real runtimes on the shipped MNIST model."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgecnn.codegen import generate
from edgecnn.insight.run import layer_insight
from edgecnn.paths import shipped_model_dir
from edgecnn.samples import calibration_data, evaluation_data


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """(build-like directory with manifest.json, model_int8.tflite, model_float.tflite; 40 sample images)."""
    from edgecnn.convert.feed import to_model_units
    from edgecnn.convert.quantize import load_keras, to_float_tflite, to_int8_tflite

    d = tmp_path_factory.mktemp("insight") / "build"
    d.mkdir()
    model = load_keras(shipped_model_dir("mnist") / "model.keras")
    calib, _ = calibration_data("mnist", 200, seed=0)
    (d / "model_int8.tflite").write_bytes(to_int8_tflite(model, to_model_units(calib, (0.0, 1.0))))
    (d / "model_float.tflite").write_bytes(to_float_tflite(model))
    (d / "manifest.json").write_text(json.dumps({"dataset": "mnist", "name": "mnist", "input": {"range": [0.0, 1.0]}}))
    # A badly calibrated int8 model of the same network: calibrated on blank images only.
    (d / "blank_int8.tflite").write_bytes(to_int8_tflite(model, np.zeros((8, 28, 28, 1), np.float32)))
    return d, to_model_units(evaluation_data("mnist", full=False).x[:40], (0.0, 1.0))


def test_runtimes_agree_on_every_layer_and_the_plan_adds_up(mnist):
    d, x = mnist
    info = layer_insight(d / "model_int8.tflite", x, (d / "model_float.tflite").read_bytes(), name="mnist")
    rows = info["layers"]
    assert [r["op"] for r in rows][:2] == ["CONV_2D", "CONV_2D"] and len(rows) == 13
    assert info["first_disagreement"] == {"c_vs_ref_lsb": None, "tflm_vs_ref_lsb": None, "c_vs_tflm_lsb": None}
    assert all(r["c_vs_ref_lsb"] is not None and r["c_vs_ref_lsb"] <= 1 for r in rows)
    gen = generate(d / "model_int8.tflite", d / "c_unfused", "mnist", fuse=False)
    assert sum(r["macs"] for r in rows) == gen.macs and sum(r["weights_bytes"] for r in rows) == gen.weights_bytes
    assert max(r["live_arena_bytes"] for r in rows) <= gen.arena_bytes
    snr = [r["snr_db"] for r in rows]
    print("SNR dB per layer:", [round(s, 1) for s in snr])
    assert all(s is not None and 15 < s < 80 for s in snr)
    assert all(r["max_abs_err"] > 0 for r in rows)
    assert info["worst_snr"][0]["snr_db"] == min(snr)


def test_a_wrong_multiplier_is_found_at_its_layer(mnist, tmp_path):
    """Halve one multiplier of the C engine's op 4 (a 1x1 conv): the C engine parts from LiteRT there."""
    d, x = mnist
    gen = generate(d / "model_int8.tflite", tmp_path / "c", "mnist", fuse=False)
    src = tmp_path / "c" / "mnist_model.c"
    text = src.read_text()
    m = re.search(r"(mnist_l04_conv_2d_mult\[\d+\] EC_ALIGN16 = \{\s*)(\d+)", text)
    assert m, "the generated engine has no l04 conv multiplier"
    src.write_text(text[:m.start(2)] + str(int(m.group(2)) // 2) + text[m.end(2):])
    info = layer_insight(d / "model_int8.tflite", x, None, gen=gen, name="mnist")
    first = info["first_disagreement"]
    assert first["c_vs_ref_lsb"]["index"] == 4 and first["c_vs_ref_lsb"]["op"] == "CONV_2D", first
    assert first["c_vs_tflm_lsb"]["index"] == 4 and first["c_vs_ref_lsb"]["max_abs_diff_lsb"] > 1
    assert first["tflm_vs_ref_lsb"] is None
    assert all(r["c_vs_ref_lsb"] <= 1 for r in info["layers"][:4])


def test_quantization_error_sees_a_bad_calibration(mnist):
    d, x = mnist
    good = layer_insight(d / "model_int8.tflite", x, (d / "model_float.tflite").read_bytes())
    bad = layer_insight(d / "blank_int8.tflite", x, (d / "model_float.tflite").read_bytes())
    g, b = (min(r["snr_db"] for r in i["layers"] if r["snr_db"] is not None) for i in (good, bad))
    print(f"lowest layer SNR: calibrated {g:.1f} dB, calibrated on blank images {b:.1f} dB")
    assert b < g - 10


def test_cortex_m4_instructions_per_layer(mnist):
    """Under QEMU (-icount): every kernel call counted; the layer with the most MACs costs the most."""
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("qemu-system-arm / arm-none-eabi-gcc not installed (scripts/setup.sh)")
    d, x = mnist
    rows = layer_insight(d / "model_int8.tflite", x[:2], None, name="mnist", cortex_m4=True)["layers"]
    instr = [r["m4_instructions"] for r in rows]
    print("Cortex-M4 instructions per layer:", instr)
    assert all(n is not None and n > 0 for n in instr)
    assert int(np.argmax(instr)) == int(np.argmax([r["macs"] for r in rows]))


def _cli(*args):
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "edgecnn", *args], capture_output=True, text=True, env=env)


def test_cli_inspect_layers(mnist, tmp_path):
    d, _ = mnist
    r = _cli("inspect", str(d), "--layers", "--images", "20")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "agree on every op" in r.stdout and "lowest quantization SNR" in r.stdout
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 100
    for name in ("0 b1_conv_1", "1 b2_conv_1", "11 head_dense_1", "12 Identity"):  # one line per op, not wrapped
        assert sum(line.lstrip().startswith(name + " ") for line in lines) == 1, (name, r.stdout)
    j = json.loads(_cli("inspect", str(d), "--layers", "--images", "5", "--json").stdout)
    assert len(j["layers"]) == 13 and j["n_images"] == 5
    bad = _cli("inspect", str(tmp_path), "--layers")
    assert bad.returncode == 2 and "not an edgecnn build directory" in bad.stderr and "Traceback" not in bad.stderr
