"""End to end: `edgecnn build` a small model, then `edgecnn bench` it with every runtime.

The fixture trains a small lite28 model for one epoch on the shipped MNIST
sample (the converter tests' recipe) and builds it with the real converter (every registered target but the
ORT one, which bench does not use). EDGECNN_DATA_DIR points at an empty
directory so build and bench both evaluate on the shipped 500-image sample.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgecnn.bench.results import ROW_KEYS
from edgecnn.bench.run import BenchOptions, bench
from edgecnn.bench.runtimes import RUNTIMES
from edgecnn.errors import EdgecnnError

RUNS = 20
LATENCY_ORDER = ("latency_us_min", "latency_us_p50", "latency_us_p90", "latency_us_p99", "latency_us_max")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(build dir, manifest) of a real `edgecnn build` of a 1-epoch lite28 model; sample data only."""
    import keras

    from edgecnn.convert.build import BuildRequest, build
    from edgecnn.convert.targets import TARGETS
    from edgecnn.model import build_model
    from edgecnn.samples import load_sample

    tmp = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGECNN_DATA_DIR", str(tmp / "no-data-sets"))
        keras.utils.set_random_seed(0)
        s = load_sample("mnist")
        model = build_model("lite28")
        model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
        model.fit(s["x_calib"].astype("float32") / 255, s["y_calib"], epochs=1, batch_size=32, verbose=0)
        model.save(tmp / "model.keras")
        targets = tuple(t for t in TARGETS if t != "ort")
        out, manifest = build(BuildRequest(targets=targets, model=tmp / "model.keras", dataset="mnist", input_range="0,1",
                                           out=tmp / "build" / "mnist", command="pytest fixture build"))
        yield out, manifest


@pytest.fixture(scope="module")
def cli_result(built, tmp_path_factory):
    """The JSON, Markdown and PNG written by `edgecnn bench --runs 20` on the fixture build."""
    out_dir = tmp_path_factory.mktemp("bench-out")
    build_dir, _ = built
    paths = {k: out_dir / f"bench.{k}" for k in ("json", "md", "png")}
    cmd = [sys.executable, "-m", "edgecnn", "bench", "--build", str(build_dir),
           "--runs", str(RUNS), "--warmup", "5", "--json", str(paths["json"]), "--markdown", str(paths["md"]),
           "--plot", str(paths["png"])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(paths["json"].read_text()), paths


def test_json_has_every_field_for_every_runtime(cli_result, built):
    result, _ = cli_result
    build_dir, manifest = built
    rows = {r["runtime"]: r for r in result["runtimes"]}
    assert list(rows) == list(RUNTIMES)
    for name, row in rows.items():
        assert set(row) == set(ROW_KEYS), name
        if row["status"] == "skipped":
            assert row["skip_reason"], name
            continue
        assert row["skip_reason"] is None
        assert row["artifact_bytes"] == sum(f.stat().st_size for f in _files(build_dir / row["artifact"]))
        if RUNTIMES[name].latency_source is None:  # the QEMU row: instructions, flash and RAM instead
            for key in ("flash_bytes", "ram_bytes", "instructions_per_inference", "mcu_images_checked"):
                assert isinstance(row[key], int) and row[key] > 0, (name, key)
            assert row["mcu_output_mismatches_vs_c_host"] == 0
            bounds = [row[f"cycles_per_inference_{k}"] for k in ("best", "estimate", "worst")]
            assert row["instructions_per_inference"] < bounds[0] <= bounds[1] < bounds[2], bounds
            continue
        values = [row[k] for k in LATENCY_ORDER]
        assert all(isinstance(v, float) and v > 0 for v in values), (name, values)
        assert values == sorted(values), (name, values)
        assert row["runs"] == RUNS and len(result["latency_us_samples"][name]) == RUNS
        # throughput_ips is rounded to 0.1 image/s
        assert row["throughput_ips"] == pytest.approx(1e6 / row["latency_us_mean"], rel=1e-3, abs=0.05)
        assert 0.0 <= row["top1_acc"] <= 1.0 and row["n_images"] == manifest["evaluation"]["n_images"]
        assert row["agreement_reference"] == "litert-int8"
        assert row["max_abs_diff_vs_ref_unit"] == ("int8_lsb" if row["precision"] == "int8" else "probability")
        assert 0.0 <= row["top1_agreement_vs_ref"] <= 1.0
        if row["precision"] == "int8":
            assert isinstance(row["max_abs_diff_vs_ref_kernels_lsb"], int), name
            assert 0.0 <= row["top1_agreement_vs_ref_kernels"] <= 1.0
    for key in ("cpu_model", "cpu_cores_logical", "cpu_cores_usable"):
        assert result["machine"][key]
    assert result["versions"]["ai-edge-litert"] and result["versions"]["onnxruntime"]
    assert result["command"].startswith("edgecnn bench --build")
    assert set(result["ratios"]) == {"c_host_over_litert_int8_latency_p50",
                                     "onnxruntime_int8_over_litert_int8_latency_p50",
                                     "tflm_over_c_host_latency_p50", "c_engine_arena_over_tflm_arena"}
    assert result["ratios"]["onnxruntime_int8_over_litert_int8_latency_p50"] == pytest.approx(
        rows["onnxruntime-int8"]["latency_us_p50"] / rows["litert-int8"]["latency_us_p50"], rel=1e-2)


def _files(path):
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def test_markdown_and_png_are_written(cli_result):
    result, paths = cli_result
    md = paths["md"].read_text()
    for row in result["runtimes"]:
        assert f"| {row['runtime']} |" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_accuracy_equals_what_build_reported(cli_result, built):
    result, _ = cli_result
    _, manifest = built
    ev = manifest["evaluation"]
    rows = {r["runtime"]: r for r in result["runtimes"]}
    assert result["evaluation"]["description"] == ev["description"]
    assert result["evaluation"]["is_sample"] is True and ev["is_sample"] is True
    assert rows["keras-float"]["top1_acc"] == pytest.approx(ev["float_top1_acc"], abs=1e-6)
    assert rows["litert-int8"]["top1_acc"] == pytest.approx(ev["int8_top1_acc"], abs=1e-6)
    assert result["evaluation"]["matches_build"] == {"keras-float": True, "litert-int8": True}
    if "c_engine" in manifest:
        assert rows["c-host"]["top1_acc"] == pytest.approx(manifest["c_engine"]["top1_acc"], abs=1e-6)


def test_agreement_is_measured_against_litert_int8(cli_result):
    """The reference agrees with itself exactly; every other row that ran is compared with it."""
    result, _ = cli_result
    rows = {r["runtime"]: r for r in result["runtimes"]}
    print({n: (r["max_abs_diff_vs_ref"], r["max_abs_diff_vs_ref_unit"], r["top1_agreement_vs_ref"])
           for n, r in rows.items() if r["status"] == "ok"})
    assert rows["litert-int8"]["max_abs_diff_vs_ref"] == 0 and rows["litert-int8"]["top1_agreement_vs_ref"] == 1.0
    assert rows["litert-int8-ref"]["max_abs_diff_vs_ref_kernels_lsb"] == 0
    for name, row in rows.items():
        if row["status"] == "ok" and row["latency_source"] is not None:
            assert row["max_abs_diff_vs_ref"] is not None, name


def test_tampered_artifact_is_refused(built, tmp_path):
    build_dir, _ = built
    copy = tmp_path / "mnist"
    shutil.copytree(build_dir, copy)
    data = bytearray((copy / "model_int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "model_int8.onnx").write_bytes(bytes(data))
    with pytest.raises(EdgecnnError, match=r"model_int8.onnx: sha256 .* does not match"):
        bench(BenchOptions(copy, runs=5, warmup=0, runtimes=("litert-int8",)))
    proc = subprocess.run([sys.executable, "-m", "edgecnn", "bench", "--build",
                           str(copy), "--runs", "5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "sha256" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unavailable_runtimes_get_a_skipped_row_with_the_reason(built, tmp_path, monkeypatch):
    build_dir, _ = built
    copy = tmp_path / "mnist"
    shutil.copytree(build_dir, copy)
    (copy / "model_float.onnx").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no gcc, no arm-none-eabi-gcc, no QEMU
    result = bench(BenchOptions(copy, runs=5, warmup=0,
                                runtimes=("litert-int8", "onnxruntime-float", "c-host", "c-cortex-m4")))
    rows = {r["runtime"]: r for r in result["runtimes"]}
    assert rows["litert-int8"]["status"] == "ok"
    assert rows["onnxruntime-float"]["status"] == "skipped"
    assert "model_float.onnx" in rows["onnxruntime-float"]["skip_reason"]
    for name in ("c-host", "c-cortex-m4"):
        assert rows[name]["status"] == "skipped"
        assert ("not found on PATH" in rows[name]["skip_reason"]
                or "no C engine in this build" in rows[name]["skip_reason"]), rows[name]["skip_reason"]
        assert all(rows[name][k] is None for k in ("latency_us_p50", "top1_acc", "flash_bytes"))
    assert result["ratios"]["c_host_over_litert_int8_latency_p50"] is None


def test_unknown_runtime_is_a_clear_error(built):
    build_dir, _ = built
    with pytest.raises(EdgecnnError, match="unknown runtime 'tflite-gpu'; expected one of keras-float"):
        bench(BenchOptions(build_dir, runtimes=("tflite-gpu",)))
