"""The converter's tables and small decisions: MACs from the converted graph, TFLM ops, the target
registry and its op gates, input ranges, names, output directories, comparisons, manifest helpers."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgecnn.convert import build as b
from edgecnn.convert import manifest as mf
from edgecnn.convert import report, targets, verify
from edgecnn.convert import feed, graphinfo
from edgecnn.convert.layers import TFLM_OPS, resolver_methods
from edgecnn.errors import EdgecnnError
from edgecnn.samples import EvalData


def test_macs_come_from_the_converted_graph():
    from edgecnn.convert.quantize import to_float_tflite
    from edgecnn.model import build_model

    model = build_model("lite28")
    rows = graphinfo.op_rows(to_float_tflite(model))
    # lite28 by hand: two 3x3 convs at 28x28, pool, two depthwise-separable blocks at 14x14,
    # pool, one at 7x7, then Dense 64 -> 10 (BatchNorm folded, pooling free).
    expected = (28 * 28 * 9 * 1 * 16 + 28 * 28 * 9 * 16 * 24
                + 14 * 14 * 9 * 24 + 14 * 14 * 24 * 56
                + 14 * 14 * 9 * 56 + 14 * 14 * 56 * 56
                + 7 * 7 * 9 * 56 + 7 * 7 * 56 * 64
                + 64 * 10)
    assert graphinfo.total_macs(rows) == expected
    from edgecnn.summary import keras_rows, totals

    assert totals(keras_rows(model))["macs"] == expected  # every op's MACs credited to a Keras layer


def test_tflm_registration_table_and_the_op_gate_names_ops_and_layers():
    assert resolver_methods(["CONV_2D", "SOFTMAX"]) == ["AddConv2D", "AddSoftmax"]
    with pytest.raises(EdgecnnError, match="CUSTOM"):
        resolver_methods(["CONV_2D", "CUSTOM"])
    rows = [graphinfo.OpRow(0, "CONV_2D", "conv_a", "f/conv_a_1/x", (1, 4), "int8", 1, 1),
            graphinfo.OpRow(1, "GELU", "act_b", "f/act_b_1/x", (1, 4), "int8", 0, 0)]
    msg = targets.gate("tflite-micro", rows)
    assert "GELU (from act_b)" in msg and "tflite-micro" in msg and "CONV_2D" in msg.split("It runs:")[1]
    assert targets.gate("tflite", rows) is None  # LiteRT runs every builtin op
    from edgecnn.codegen.ops import OPS

    c_msg = targets.gate("c", rows)
    assert (c_msg is None) == ({"CONV_2D", "GELU"} <= set(OPS))


def test_layer_name_from_converter_tensor_names():
    assert graphinfo.layer_of("functional_1/sep1_1/separable_conv2d/depthwise2") == "sep1"
    assert graphinfo.layer_of("functional_1/c2_1/convolution;functional_1/zero_padding2d_1/Pad") == "c2"


@pytest.mark.parametrize("scale,zp,expected", [(1 / 255, -128, (0.0, 1.0)), (1.0, -128, (0.0, 255.0)),
                                                (2 / 255, 0, (-1.0, 1.0)), (0.05, 3, None)])
def test_input_range_from_the_int8_input_quantization(scale, zp, expected):
    assert feed.range_from_quant(scale, zp) == expected


def test_input_range_option_and_pixel_scaling():
    assert feed.parse_range("-1,1") == (-1.0, 1.0)
    with pytest.raises(EdgecnnError, match="--input-range"):
        feed.parse_range("0,2")
    px = np.array([0, 255], np.uint8)
    assert feed.to_model_units(px, (-1.0, 1.0)).tolist() == [-1.0, 1.0]
    assert feed.to_model_units(px, (0.0, 255.0)).tolist() == [0.0, 255.0]


def test_class_count_mismatch_is_a_clear_error():
    feed.check_classes(4, (1, 4), "data")
    with pytest.raises(EdgecnnError, match="3 classes, but the model's output \\(1, 10\\) has 10 scores"):
        feed.check_classes(3, (1, 10), "data")


def test_target_registry_expands_dependencies_and_all():
    assert targets.expand(["ort"]) == ["onnx", "ort"]
    assert targets.expand(["tflite-micro", "tflite-micro"]) == ["tflite-micro"]
    assert targets.expand(["all"]) == list(targets.TARGETS)
    for name in targets.TARGETS:
        assert callable(targets.build_function(name))
    with pytest.raises(EdgecnnError) as err:
        targets.expand(["coreml"])
    assert str(err.value) == f"unknown target 'coreml'; expected one of: {', '.join(targets.target_names())}"


def test_target_help_lists_every_target():
    from edgecnn.cli import _build_targets_help

    text = _build_targets_help()
    assert all(f"{name}:" in text for name in targets.TARGETS) and "all:" in text


def test_shipped_model_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(b, "shipped_model_dir", lambda dataset: tmp_path / dataset)
    with pytest.raises(EdgecnnError, match="shipped MNIST model is not installed.*--model"):
        b.resolve_model_path(None)


@pytest.mark.parametrize("name", ["", "a b", ".hidden", "x/y"])
def test_bad_build_names(name):
    with pytest.raises(EdgecnnError, match="build name"):
        b.check_name(name)


def test_prepare_out_refuses_a_foreign_directory_and_a_file_parent(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(EdgecnnError, match="not an edgecnn build directory"):
        b.prepare_out(tmp_path / "mine")
    (tmp_path / "f").write_text("")
    with pytest.raises(EdgecnnError, match="is a file, not a directory"):
        b.prepare_out(tmp_path / "f" / "out")
    tmp = b.prepare_out(tmp_path / "new" / "out")
    assert tmp.is_dir() and tmp.parent == tmp_path / "new" and not (tmp_path / "new" / "out").exists()


def test_publish_replaces_a_previous_build(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "old.txt").write_text("old")
    tmp = b.prepare_out(out)
    (tmp / "manifest.json").write_text('{"new": 1}')
    b.publish(tmp, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def test_int8_comparison_counts_lsb_and_fails_beyond_tolerance():
    ref = np.array([[-128, 10, 127], [0, 0, 5]], np.int8)
    got = ref.copy()
    got[1, 2] = 3  # 2 LSB off, argmax unchanged
    entry = verify.compare_int8("x", got, ref, tol_lsb=1)
    assert entry["max_abs_diff_lsb"] == 2 and entry["outputs_differing"] == 1
    assert entry["top1_agreement"] == 1.0 and entry["passed"] is False
    with pytest.raises(EdgecnnError, match="verification failed: x"):
        verify.require(entry)
    assert verify.compare_int8("x", ref, ref, tol_lsb=0)["passed"]


def test_cross_kernel_comparison_allows_rare_ties_but_not_a_broken_conversion():
    rng = np.random.default_rng(0)
    ref = rng.integers(-128, 128, (1000, 10)).astype(np.int8)
    rare = ref.copy()
    rare[3, 5] = np.clip(int(ref[3, 5]) + 4, -128, 127)  # 1 of 10,000 outputs, a few LSB off
    entry = verify.compare_int8("onnx", rare, ref, 1, verify.CROSS_KERNEL_FRACTION)
    assert entry["passed"] and entry["outputs_beyond_tolerance"] == 1 and entry["max_abs_diff_lsb"] >= 3
    assert not verify.compare_int8("tflm", rare, ref, 1)["passed"]  # strict when no fraction is allowed
    shifted = np.clip(ref.astype(np.int16) + 3, -128, 127).astype(np.int8)  # e.g. a wrong zero point
    assert not verify.compare_int8("onnx", shifted, ref, 1, verify.CROSS_KERNEL_FRACTION)["passed"]


def test_float_comparison():
    ref = np.array([[0.1, 0.9]], np.float32)
    assert verify.compare_float("f", ref + 5e-6, ref)["passed"]
    assert not verify.compare_float("f", ref + 2e-5, ref)["passed"]


def test_accuracy_drop_warns_loudly():
    ev = EvalData(np.zeros((4, 1, 1, 1), np.uint8), np.array([0, 1, 0, 1]), "four images", True)
    keras_out = np.eye(2)[[0, 1, 0, 1]].astype(np.float32)
    int8_out = np.eye(2, dtype=np.int8)[[0, 1, 0, 0]]
    with report.console.capture() as cap:
        entry = report.accuracy("mnist", ev, keras_out, int8_out, max_drop_pp=0.5)
    assert entry["float_top1_acc"] == 1.0 and entry["int8_top1_acc"] == 0.75
    assert entry["int8_drop_pp"] == 25.0 and entry["int8_drop_exceeds_threshold"]
    assert "int8 accuracy drop" in cap.get() and "shipped sample" in cap.get()
    with report.console.capture() as cap:
        entry = report.accuracy("mnist", ev, keras_out, int8_out, max_drop_pp=30)
    assert not entry["int8_drop_exceeds_threshold"] and "int8 accuracy drop" not in cap.get()


def test_manifest_helpers(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.bin").write_bytes(b"abc")
    (tmp_path / "manifest.json").write_text("{}")
    files = mf.artifacts(tmp_path)
    assert files == {"sub/a.bin": {"bytes": 3, "sha256": mf.sha256_bytes(b"abc")}}
    assert mf.merge({"v": {"a": 1}, "k": 1}, {"v": {"b": 2}, "k": 2}) == {"v": {"a": 1, "b": 2}, "k": 2}
    rep = mf.reproducibility({"x": {}, "y": {}}, {"y": "why"})
    assert rep == {"byte_identical": ["x"], "not_byte_identical": {"manifest.json": "records the sha256 of y",
                                                                   "y": "why"}}
    assert mf.reproducibility({"x": {}}, {})["byte_identical"] == ["manifest.json", "x"]
