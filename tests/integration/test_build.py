"""`edgecnn build` of the converter's four targets end to end on a small trained model, through the real console
script, checked again here against the real runtimes and compilers; then a rebuild that must be
byte-identical. The build directory is built once per module and shared.

The data cache is pointed at an empty directory, so calibration and evaluation use the shipped
MNIST sample: the fresh-install path, and the same images on every machine.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgecnn.convert.layers import TFLM_OPS
from edgecnn.samples import load_sample

EDGECNN = Path(sys.executable).parent / "edgecnn"
# The converter's own targets, named one by one: `all` also builds targets other modules register.
ARGS = ("build", "--target", "tflite", "--target", "tflite-micro", "--target", "onnx", "--target", "ort",
        "--model", "lite28.keras", "--dataset", "mnist", "--input-range", "0,1", "--out", "out")
EXPECTED = {"manifest.json", "model.keras", "model_float.tflite", "model_int8.tflite", "model_float.onnx",
            "model_int8.onnx", "model_int8.ort", "model_int8.required_operators.config",
            "tflite-micro/model_data.h", "tflite-micro/model_data.cc", "tflite-micro/model_ops.h",
            "tflite-micro/model_settings.h", "tflite-micro/main.cc", "tflite-micro/CMakeLists.txt",
            "tflite-micro/README.md"}
# Written after the manifest and rewritten by `edgecnn bench`: present, but not hashed artifacts.
REPORT = {"report.html", "report.json"}
OBJDUMP = {"g++": "objdump", "arm-none-eabi-g++": "arm-none-eabi-objdump"}
ARCH_FLAGS = {"g++": [], "arm-none-eabi-g++": ["-mcpu=cortex-m4", "-mthumb"]}


def run_cli(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    if not EDGECNN.is_file():
        pytest.fail(f"{EDGECNN} missing: install the package (pip install -e '.[dev]')")
    return subprocess.run([str(EDGECNN), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


def train_fixture_model(path: Path) -> None:
    """lite28, one epoch on the shipped sample's 500 calibration images (seeded)."""
    import keras

    from edgecnn.model import build_model

    keras.utils.set_random_seed(0)
    s = load_sample("mnist")
    model = build_model("lite28")
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(s["x_calib"].astype(np.float32) / 255.0, s["y_calib"], epochs=1, batch_size=32, verbose=0)
    model.save(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    (root / "empty-cache").mkdir()
    env = {**os.environ, "EDGECNN_DATA_DIR": str(root / "empty-cache"), "COLUMNS": "200"}
    train_fixture_model(root / "lite28.keras")
    t0 = time.monotonic()
    res = run_cli(*ARGS, env=env, cwd=root)
    print(f"edgecnn {' '.join(ARGS)}: {time.monotonic() - t0:.1f} s\n{res.stderr}")
    assert res.returncode == 0, res.stderr
    out = root / "out"
    return {"root": root, "out": out, "env": env, "log": res.stderr,
            "manifest": json.loads((out / "manifest.json").read_text())}


def eval_x():
    return load_sample("mnist")["x_eval"]  # (500, 28, 28, 1) uint8


def litert_int8(tflite: bytes, x: np.ndarray, reference_kernels: bool = False) -> np.ndarray:
    """LiteRT int8 outputs: default kernels (XNNPACK), or the reference kernels TFLM's arithmetic follows."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    it = Interpreter(model_content=tflite, num_threads=1, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    out = []
    for img in x:
        it.set_tensor(i, (img.astype(np.int16) - 128).astype(np.int8)[None])
        it.invoke()
        out.append(it.get_tensor(o)[0])
    return np.stack(out)


def test_every_artifact_is_present_and_hashed(built):
    out, manifest = built["out"], built["manifest"]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == EXPECTED | REPORT
    import hashlib

    for rel, entry in manifest["artifacts"].items():
        data = (out / rel).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, rel
    assert set(manifest["artifacts"]) == EXPECTED - {"manifest.json"}
    assert not [p for p in out.parent.iterdir() if ".building-" in p.name]


def test_manifest_records_the_contract(built):
    m = built["manifest"]
    assert m["targets"] == ["tflite", "tflite-micro", "onnx", "ort"]
    # Paths are recorded relative to the build directory, or by file name (convert/provenance.py).
    assert m["command"] == "edgecnn " + " ".join(ARGS[:-1]) + " ." and ARGS[-2:] == ("--out", "out")
    assert m["source_model"]["path"] == "lite28.keras"
    assert m["dataset"] == "mnist" and m["dataset_label"] == "MNIST" and m["name"] == "mnist"
    assert m["source_model"]["params"] == 14946 and m["source_model"]["macs"] > 1_000_000
    assert m["input"] == {"shape": [1, 28, 28, 1], "dtype": "int8", "scale": pytest.approx(1 / 255),
                          "zero_point": -128, "range": [0.0, 1.0], "range_source": "--input-range"}
    assert m["output"]["shape"] == [1, 10] and m["output"]["dtype"] == "int8"
    assert m["ops"] == ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "MEAN", "SOFTMAX"]
    assert m["calibration"]["samples"] == 500 and "shipped sample" in m["calibration"]["description"]
    ev = m["evaluation"]
    assert ev["is_sample"] and ev["n_images"] == 500 and "shipped sample" in ev["description"]
    assert 0 <= ev["int8_top1_acc"] <= 1 and 0 <= ev["float_top1_acc"] <= 1
    assert m["tflm"]["tensor_arena_size"] == m["tflm"]["arena_bytes_measured"] + m["tflm"]["arena_margin_bytes"]
    assert {"tensorflow", "ai_edge_litert", "tflite_micro", "onnx", "onnxruntime", "tf2onnx", "numpy"} <= set(m["versions"])
    checks = [v for v in m["verification"].values() if isinstance(v, dict) and v.get("passed") is not None]
    assert len(checks) == 6 and all(c["passed"] for c in checks)
    assert m["verification"]["litert_int8_default_vs_ref"]["informative"]
    print({k: v.get("max_abs_diff_lsb", v.get("max_abs_diff")) for k, v in m["verification"].items()
           if isinstance(v, dict) and "check" in v})
    assert "top-1 on MNIST shipped sample" in built["log"]


def test_int8_model_is_batch1_full_integer_per_channel(built):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(built["out"] / "model_int8.tflite"))
    it.allocate_tensors()
    d_in, d_out = it.get_input_details()[0], it.get_output_details()[0]
    assert d_in["dtype"] == np.int8 and d_out["dtype"] == np.int8 and list(d_in["shape"]) == [1, 28, 28, 1]
    per_channel = [t for t in it.get_tensor_details() if len(t["quantization_parameters"]["scales"]) > 1]
    assert len(per_channel) >= 5  # every conv / depthwise weight tensor


def test_header_array_round_trips_to_the_tflite(built):
    d = built["out"] / "tflite-micro"
    tflite = (built["out"] / "model_int8.tflite").read_bytes()
    cc = (d / "model_data.cc").read_text()
    m = re.search(r"alignas\(16\) const unsigned char g_mnist_model_data\[\] = \{\n(.*?)\n\};", cc, re.S)
    assert m, "array definition not found"
    rows = m.group(1).splitlines()
    assert all(len(r.split(",")) - 1 == 12 for r in rows[:-1])
    assert bytes(int(t, 16) for t in re.findall(r"0x([0-9a-f]{2})", m.group(1))) == tflite
    assert f"const unsigned int g_mnist_model_data_size = {len(tflite)};" in cc
    sha = built["manifest"]["artifacts"]["model_int8.tflite"]["sha256"]
    for name in ("model_data.h", "model_data.cc", "model_ops.h", "model_settings.h", "main.cc"):
        head = (d / name).read_text().splitlines()[:4]
        assert head[0].startswith("// Generated by edgecnn") and sha in head[2] and "edgecnn build" in head[3]


def test_tflm_runs_the_header_bytes_like_litert_reference_kernels_within_1_lsb(built):
    from tflite_micro import runtime

    cc = (built["out"] / "tflite-micro" / "model_data.cc").read_text()
    data = bytes(int(t, 16) for t in re.findall(r"0x([0-9a-f]{2})", cc))
    arena = built["manifest"]["tflm"]
    settings = (built["out"] / "tflite-micro" / "model_settings.h").read_text()
    assert f"constexpr int kTensorArenaSize = {arena['tensor_arena_size']};" in settings
    x = eval_x()
    it = runtime.Interpreter.from_bytes(data, arena_size=arena["arena_bytes_measured"])
    got = []
    for img in x:
        it.set_input((img.astype(np.int16) - 128).astype(np.int8)[None], 0)
        it.invoke()
        got.append(it.get_output(0)[0].copy())
    ref = litert_int8((built["out"] / "model_int8.tflite").read_bytes(), x, reference_kernels=True)
    diff = np.abs(np.stack(got).astype(int) - ref.astype(int))
    print(f"TFLM vs LiteRT int8 reference kernels: max diff {diff.max()} LSB, top-1 agreement "
          f"{(np.stack(got).argmax(1) == ref.argmax(1)).mean():.4f}")
    assert diff.max() <= 1
    assert diff.max() == built["manifest"]["verification"]["tflm_vs_litert_int8_ref"]["max_abs_diff_lsb"]
    with pytest.raises(RuntimeError):  # the measured arena is the smallest that works
        small = runtime.Interpreter.from_bytes(data, arena_size=arena["arena_bytes_measured"] - 1)
        small.set_input(np.zeros((1, 28, 28, 1), np.int8), 0)
        small.invoke()


def test_model_ops_registers_exactly_the_models_ops(built):
    from edgecnn.convert.quantize import tflite_ops

    text = (built["out"] / "tflite-micro" / "model_ops.h").read_text()
    ops = tflite_ops((built["out"] / "model_int8.tflite").read_bytes())
    calls = re.findall(r"resolver\.(Add\w+)\(\)", text)
    assert calls == [TFLM_OPS[op] for op in ops]
    assert f"constexpr int kModelOpCount = {len(ops)};" in text
    assert "tflite::MicroMutableOpResolver<kModelOpCount>" in text


@pytest.mark.parametrize("cxx", ["g++", "arm-none-eabi-g++"])
def test_array_compiles_warning_free_into_aligned_rodata(built, cxx, tmp_path):
    if shutil.which(cxx) is None or shutil.which(OBJDUMP[cxx]) is None:
        pytest.skip(f"{cxx} / {OBJDUMP[cxx]} not installed")
    src = built["out"] / "tflite-micro"
    flags = [*ARCH_FLAGS[cxx], "-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-c"]
    subprocess.run([cxx, *flags, "-I", str(src), str(src / "model_data.cc"), "-o", "m.o"], cwd=tmp_path, check=True)
    (tmp_path / "s.cc").write_text('#include "model_settings.h"\nint f() { return kTensorArenaSize; }\n')
    subprocess.run([cxx, *flags, "-I", str(src), "s.cc", "-o", "s.o"], cwd=tmp_path, check=True)
    syms = subprocess.run([OBJDUMP[cxx], "-t", "m.o"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    line = next(l for l in syms.splitlines() if l.endswith(" g_mnist_model_data"))
    section = line.split()[-3]
    assert section.startswith(".rodata"), line
    heads = subprocess.run([OBJDUMP[cxx], "-h", "m.o"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    sec = re.search(rf"^\s*\d+\s+{re.escape(section)}\s+\S+\s+\S+\s+\S+\s+\S+\s+2\*\*(\d+)\n\s*(.*)$", heads, re.M)
    assert sec and int(sec.group(1)) >= 4 and "READONLY" in sec.group(2), heads
    entry = built["manifest"]["verification"]["tflm_compile"]
    assert entry["host_gxx" if cxx == "g++" else "cortex_m4_gxx"]["passed"]


def test_onnx_models_check_and_match_their_references(built):
    import onnx
    import onnxruntime as ort

    from edgecnn.convert.runners import ort_session, run_keras

    out = built["out"]
    for name in ("model_float.onnx", "model_int8.onnx"):
        onnx.checker.check_model(str(out / name), full_check=True)
    x = eval_x()[:100]
    import keras

    model = keras.models.load_model(out / "model.keras", compile=False)
    sess = ort.InferenceSession(str(out / "model_float.onnx"), providers=["CPUExecutionProvider"])
    f = np.concatenate([sess.run(None, {"image": (img[None] / 255.0).astype(np.float32)})[0] for img in x])
    assert np.abs(f - run_keras(model, x.astype(np.float32) / 255.0)).max() <= 1e-5
    ref = litert_int8((out / "model_int8.tflite").read_bytes(), x)
    for name in ("model_int8.onnx", "model_int8.ort"):
        sess = ort_session(out / name)  # exact int8 on x86 CPUs without VNNI too (its docstring)
        assert sess.get_inputs()[0].type == "tensor(int8)"
        q = np.concatenate([sess.run(None, {"image": (img.astype(np.int16) - 128).astype(np.int8)[None]})[0]
                            for img in x])
        diff = np.abs(q.astype(int) - ref.astype(int)).max()
        print(f"{name} vs LiteRT int8 (default kernels): max diff {diff} LSB")
        assert diff <= 1


def test_ort_config_names_the_file_not_a_temp_path(built):
    text = (built["out"] / "model_int8.required_operators.config").read_text()
    assert "# - model_int8.ort" in text and "/tmp" not in text and "QLinearConv" in text


def test_rebuild_is_byte_identical(built):
    out, snapshot = built["out"], built["root"] / "first"
    shutil.copytree(out, snapshot)
    res = run_cli(*ARGS, env=built["env"], cwd=built["root"])
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    declared = manifest["reproducibility"]["not_byte_identical"]
    differing = sorted(rel for rel in EXPECTED if (out / rel).read_bytes() != (snapshot / rel).read_bytes())
    print(f"not byte-identical: {differing}; declared: {declared}")
    assert set(differing) <= set(declared)
    assert sorted(manifest["reproducibility"]["byte_identical"]) == sorted(EXPECTED - set(declared))


def test_default_command_builds_the_shipped_model_offline(tmp_path):
    """`edgecnn build` with no argument: the shipped MNIST model, tflite-micro, build/mnist, sample data."""
    from edgecnn.paths import shipped_model_dir

    env = {**os.environ, "EDGECNN_DATA_DIR": str(tmp_path / "empty-cache"), "COLUMNS": "200"}
    t0 = time.monotonic()
    res = run_cli("build", env=env, cwd=tmp_path)
    seconds = time.monotonic() - t0
    shipped = shipped_model_dir("mnist") / "model.keras"
    if not shipped.is_file():  # before training shipped it: the one clear error, nothing written
        assert res.returncode == 2 and "shipped MNIST model is not installed" in res.stderr
        assert not (tmp_path / "build").exists()
        return
    assert res.returncode == 0, res.stderr
    print(f"`edgecnn build` (shipped model, sample data): {seconds:.1f} s\n{res.stderr}")
    manifest = json.loads((tmp_path / "build" / "mnist" / "manifest.json").read_text())
    assert manifest["targets"] == ["tflite-micro"] and manifest["source_model"]["path"] == "edgecnn/assets/models/mnist/model.keras"
    assert manifest["evaluation"]["is_sample"] and manifest["dataset"] == "mnist"
    assert (tmp_path / "build" / "mnist" / "tflite-micro" / "model_data.cc").is_file()
