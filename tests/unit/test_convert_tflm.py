"""The TFLM C sources: array formatting and parse-back, identifiers, templates, and the compile checks
with the real compilers (skipped per compiler only when it is not installed)."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from edgecnn.convert import tflm, verify
from edgecnn.convert.quantize import TensorQuant
from edgecnn.errors import EdgecnnError

Q_IN = TensorQuant((1, 28, 28, 1), "int8", 1 / 255, -128)
Q_OUT = TensorQuant((1, 10), "int8", 1 / 256, -128)
OPS = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "MEAN", "SOFTMAX"]


def _render(data: bytes, name: str = "fashion-mnist") -> dict[str, str]:
    return tflm.render(tflm.c_identifier(name), data, OPS, Q_IN, Q_OUT, [f"c{i}" for i in range(10)],
                       tflm.Arena(37888, 3792), "// provenance line", "0.test")


@pytest.mark.parametrize("n", [0, 1, 11, 12, 13, 1000])
def test_c_array_round_trip_and_12_bytes_a_line(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    body = tflm.c_array_body(data)
    lines = body.splitlines()
    assert len(lines) == -(-n // 12)
    assert all(len(re.findall("0x", line)) == 12 for line in lines[:-1])
    src = f"alignas(16) const unsigned char g_x_model_data[] = {{\n{body}\n}};\n"
    assert tflm.parse_c_array(src, "g_x_model_data") == data


def test_parse_c_array_names_a_missing_symbol():
    with pytest.raises(EdgecnnError, match="g_y_model_data"):
        tflm.parse_c_array("const unsigned char g_x_model_data[] = {0x01};", "g_y_model_data")


@pytest.mark.parametrize("name,ident", [("mnist", "mnist"), ("fashion-mnist", "fashion_mnist"),
                                        ("10x.v2", "m_10x_v2")])
def test_c_identifier(name, ident):
    assert tflm.c_identifier(name) == ident


def test_render_fills_every_placeholder_and_guards_each_header():
    files = _render(bytes(range(40)))
    assert sorted(files) == sorted(tflm.TEMPLATES)
    for name, text in files.items():
        assert "${" not in text, name
        assert text.startswith("// provenance line"), name
        if name.endswith(".h"):
            guard = f"EDGECNN_FASHION_MNIST_{name.upper().replace('.', '_')}_"
            assert f"#ifndef {guard}\n#define {guard}\n" in text and text.rstrip().endswith(f"#endif  // {guard}")
    assert "alignas(16) const unsigned char g_fashion_mnist_model_data[] = {" in files["model_data.cc"]
    assert "const unsigned int g_fashion_mnist_model_data_size = 40;" in files["model_data.cc"]
    assert "MicroMutableOpResolver<kModelOpCount>" in files["model_ops.h"]
    assert "constexpr int kModelOpCount = 6;" in files["model_ops.h"]
    assert re.findall(r"resolver\.(Add\w+)\(\)", files["model_ops.h"]) == [
        "AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddMaxPool2D", "AddMean", "AddSoftmax"]
    assert "constexpr int kTensorArenaSize = 41680;" in files["model_settings.h"]
    assert "constexpr float kInputScale = 0.003921569f;" in files["model_settings.h"]


def test_render_rejects_label_count_mismatch():
    with pytest.raises(EdgecnnError, match="3 class labels"):
        tflm.render("m", b"\0", OPS, Q_IN, Q_OUT, ["a", "b", "c"], tflm.Arena(1, 1024), "//", "0")


@pytest.mark.parametrize("measured", [100, 37888, 123457])
def test_arena_margin_is_ten_percent_at_least_1k_and_16_aligned(measured):
    arena = tflm.with_margin(measured)
    assert arena.measured_bytes == measured
    assert arena.total_bytes % 16 == 0
    assert max(1024, measured / 10) <= arena.margin_bytes < max(1024, measured / 10) + 16


def _write(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)


@pytest.mark.parametrize("key", sorted(verify.COMPILERS))
def test_compile_checks_pass_with_real_compilers(tmp_path, key):
    compiler = verify.COMPILERS[key]["cxx"]
    data = np.random.default_rng(0).integers(0, 256, 3001, dtype=np.uint8).tobytes()
    _write(tmp_path, _render(data))
    result = verify.compile_checks(tmp_path, "fashion_mnist", len(data))
    if shutil.which(compiler) is None:
        assert result[key] == f"skipped: {compiler} not found on PATH"
        pytest.skip(f"{compiler} not installed")
    entry = result[key]
    assert entry["passed"] and entry["section"].startswith(".rodata") and "W" not in entry["section_flags"]
    assert entry["section_align_bytes"] >= 16 and entry["symbol_offset"] % 16 == 0
    assert entry["symbol_bytes"] == len(data)
    assert set(result["not_compiled"]) == {"model_ops.h", "main.cc"}


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_placement_check_fails_for_a_writable_array(tmp_path):
    """Without const the array lands in .data (RAM): the check must say so."""
    files = _render(bytes(range(64)), "m")
    files["model_data.cc"] = files["model_data.cc"].replace("alignas(16) const unsigned char",
                                                            "alignas(16) unsigned char")
    files["model_data.h"] = files["model_data.h"].replace("extern const unsigned char", "extern unsigned char")
    _write(tmp_path, files)
    subprocess.run(["g++", "-std=c++17", "-c", "model_data.cc", "-o", "m.o"], cwd=tmp_path, check=True)
    entry = verify.placement("readelf", tmp_path / "m.o", "g_m_model_data", 64)
    assert not entry["passed"] and "W" in entry["section_flags"]


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_compile_check_fails_on_a_warning(tmp_path):
    files = _render(bytes(range(16)), "m")
    files["model_data.cc"] += "static int unused_variable_here;\n"
    _write(tmp_path, files)
    with pytest.raises(EdgecnnError, match="unused"):
        verify.compile_checks(tmp_path, "m", 16)
