"""Fast checks of bench's pieces that need no build: statistics, timing, input quantization,
agreement, ratios, sha256 refusal, report rendering."""

import hashlib
import json
import time

import numpy as np
import pytest

from edgecnn.bench.base import dequantize, quantize_images
from edgecnn.bench.builddir import open_build
from edgecnn.bench.results import ROW_KEYS, RuntimeResult, agreement, ratios
from edgecnn.bench.runtimes import RUNTIMES
from edgecnn.bench.timing import summarize, time_calls
from edgecnn.errors import EdgecnnError

Q = {"scale": 1 / 255, "zero_point": -128}


def test_summarize_known_values():
    s = summarize(np.arange(1, 101, dtype=float))  # 1..100 µs
    assert (s.latency_us_min, s.latency_us_max, s.latency_us_mean) == (1.0, 100.0, 50.5)
    assert s.latency_us_p50 == 50.5
    assert s.latency_us_p90 == pytest.approx(90.1)
    assert s.latency_us_p99 == pytest.approx(99.01)
    assert s.throughput_ips == pytest.approx(1e6 / 50.5, abs=0.1)
    assert s.runs == 100


def test_summarize_rejects_empty():
    with pytest.raises(ValueError):
        summarize(np.array([]))


def test_time_calls_measures_each_call_and_skips_warmup():
    calls = []

    def slow(x):
        calls.append(int(x[0]))
        time.sleep(0.002)

    xs = np.arange(5).reshape(5, 1)
    lat = time_calls(slow, xs, runs=7, warmup=3)
    assert lat.shape == (7,)
    assert lat.min() >= 2000.0  # every timed call slept 2 ms = 2000 µs
    # 3 warm-up calls, then 7 timed calls cycling through the 5 images from the first
    assert calls == [0, 1, 2, 0, 1, 2, 3, 4, 0, 1]


def test_quantize_images_is_pixel_minus_128_for_the_model_input():
    px = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    q = quantize_images(px, Q)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q.astype(int), px.astype(int) - 128)
    np.testing.assert_allclose(dequantize(q.reshape(1, -1), Q), px.reshape(1, -1) / 255, atol=1e-12)


def _res(name, precision, outputs):
    r = RuntimeResult(name, "d", precision)
    r.outputs = outputs
    return r


def test_agreement_int8_in_lsb_and_float_in_probability():
    ref = np.array([[-128, 100, -100], [50, -128, 60]], dtype=np.int8)
    off = ref.astype(int)
    off[1, 2] -= 20  # flips the top-1 of image 1 (60-20=40 < 50)
    a = agreement(_res("x", "int8", off.astype(np.int8)), ref, Q, "litert-int8")
    assert a["max_abs_diff_vs_ref"] == 20 and a["max_abs_diff_vs_ref_unit"] == "int8_lsb"
    assert a["top1_agreement_vs_ref"] == 0.5
    probs = dequantize(ref, Q) + 0.001
    b = agreement(_res("f", "float", probs), ref, Q, "litert-int8")
    assert b["max_abs_diff_vs_ref_unit"] == "probability"
    assert b["max_abs_diff_vs_ref"] == pytest.approx(0.001, abs=1e-9)
    assert b["top1_agreement_vs_ref"] == 1.0


def test_ratios_from_p50_and_missing_ones_are_none():
    def timed(name, p50):
        r = RuntimeResult(name, "d", "int8")
        r.latency = summarize(np.full(3, p50))
        return r

    out = ratios([timed("litert-int8", 100.0), timed("onnxruntime-int8", 150.0)],
                 {"tflm": {"arena_bytes_measured": 8000}, "c_engine": {"arena_bytes": 6000}})
    assert out["onnxruntime_int8_over_litert_int8_latency_p50"] == 1.5
    assert out["c_host_over_litert_int8_latency_p50"] is None
    assert out["c_engine_arena_over_tflm_arena"] == 0.75


def test_row_has_every_key_even_when_skipped():
    r = RuntimeResult("c-host", "d", "int8", skip_reason="no C engine")
    row = r.row()
    assert set(row) == set(ROW_KEYS)
    assert row["status"] == "skipped" and row["skip_reason"] == "no C engine"


def test_registry_lists_the_issue_runtimes():
    assert list(RUNTIMES) == ["keras-float", "litert-float", "litert-int8", "litert-int8-ref", "tflm",
                              "onnxruntime-float", "onnxruntime-int8", "c-host", "c-cortex-m4"]
    for name, cls in RUNTIMES.items():
        assert cls.name == name and cls.precision in ("int8", "float")


def _fake_build(tmp_path, content=b"model bytes"):
    (tmp_path / "model_int8.tflite").write_bytes(content)
    manifest = {"dataset": "mnist", "input": Q, "output": Q,
                "artifacts": {"model_int8.tflite": {"bytes": len(content),
                                                    "sha256": hashlib.sha256(content).hexdigest()}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_open_build_accepts_matching_and_refuses_tampered_artifacts(tmp_path):
    build = open_build(_fake_build(tmp_path))
    assert build.artifact("model_int8.tflite").read_bytes() == b"model bytes"
    (tmp_path / "model_int8.tflite").write_bytes(b"model bytez")
    with pytest.raises(EdgecnnError, match="sha256 .* does not match"):
        open_build(tmp_path)


def test_unlisted_artifact_is_refused(tmp_path):
    build = open_build(_fake_build(tmp_path))
    (tmp_path / "model_float.tflite").write_bytes(b"x")
    with pytest.raises(EdgecnnError, match="not listed"):
        build.artifact("model_float.tflite")


def test_missing_manifest_says_what_was_expected(tmp_path):
    with pytest.raises(EdgecnnError, match="no manifest.json"):
        open_build(tmp_path)


def test_engine_that_does_not_compile_is_a_skipped_row_with_the_compiler_message(tmp_path):
    """A present toolchain that cannot build the engine skips the row (saying why) instead of crashing."""
    import shutil

    from edgecnn.bench.run import BenchOptions, bench

    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    c = tmp_path / "c"
    c.mkdir()
    (c / "broken_model.h").write_text("#define BROKEN_INPUT_SIZE 784\n#define BROKEN_OUTPUT_SIZE 10\n")
    (c / "broken_model.c").write_text("int broken_invoke(void) { return not C; }\n")
    arts = {f"c/{p.name}": {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
            for p in c.iterdir()}
    manifest = {"dataset": "mnist", "input": {**Q, "shape": [1, 28, 28, 1]}, "output": {**Q, "shape": [1, 10]},
                "artifacts": arts}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = bench(BenchOptions(tmp_path, runs=1, warmup=0, runtimes=("c-host",)))
    row = result["runtimes"][0]
    assert row["runtime"] == "c-host" and row["status"] == "skipped"
    assert row["skip_reason"].startswith("could not load: gcc could not compile") and "broken_model.c" in row["skip_reason"]


def test_agreement_with_reference_kernels_only_for_int8_rows():
    from edgecnn.bench.results import agreement_with_ref_kernels

    ref = np.array([[-128, 100, -100], [50, -128, 60]], dtype=np.int8)
    got = ref.astype(int)
    got[0, 0] += 3
    a = agreement_with_ref_kernels(_res("tflm", "int8", got.astype(np.int8)), ref)
    assert a == {"max_abs_diff_vs_ref_kernels_lsb": 3, "top1_agreement_vs_ref_kernels": 1.0}
    assert agreement_with_ref_kernels(_res("keras-float", "float", dequantize(ref, Q)), ref) == {}
