"""A model with two inputs (an 8x8 image and a 144-value feature vector) and two outputs (4 class
scores and a 2-value regression), written here with Keras (seeded, tiny), through `build`.

It goes in as .keras (quantized by edgecnn, calibrated on seeded random inputs) and as an
int8 .tflite made by TF's converter directly. c and tflite-micro build and verify every output
on seeded random inputs: C engine vs LiteRT's reference kernels and, built with TFLM's
fixed-point FULLY_CONNECTED rounding, vs TFLM, 0 LSB; TFLM vs LiteRT's reference kernels. The
C header and model_settings.h name each input and output; a C program calls invoke() with one
pointer per tensor and its outputs are compared with LiteRT here. The data options say they do
not apply; targets that do not build several inputs or outputs say so, and bench refuses in one line.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgecnn.convert.build import BuildRequest, build
from edgecnn.convert.targets import TARGETS
from edgecnn.errors import EdgecnnError


def _model(keras):
    init = {"bias_initializer": "random_normal"}
    img = keras.Input((8, 8, 1), batch_size=1, name="image")
    vec = keras.Input((144,), batch_size=1, name="features")
    a = keras.layers.Conv2D(4, 3, activation="relu", **init)(img)
    b = keras.layers.Reshape((6, 6, 4))(vec)
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    scores = keras.layers.Dense(4, activation="softmax", name="scores", **init)(h)
    box = keras.layers.Dense(2, name="box", **init)(h)
    return keras.Model([img, vec], [scores, box])


def _tf_int8(model) -> bytes:
    """TF's converter directly (int8 input and output), calibrated on seeded random inputs."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ({"image": rng.random((1, 8, 8, 1), np.float32),
                                            "features": rng.normal(size=(1, 144)).astype(np.float32)}
                                           for _ in range(32))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return bytes(conv.convert())


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("multi-io")
    keras.utils.set_random_seed(0)
    model = _model(keras)
    model.save(root / "two.keras")
    (root / "two.tflite").write_bytes(_tf_int8(model))
    return root


@pytest.fixture(scope="module")
def builds(models, tmp_path_factory):
    out = {}
    for fmt in ("keras", "tflite"):
        path = tmp_path_factory.mktemp(f"build-{fmt}") / "out"
        _, manifest = build(BuildRequest(targets=("c", "tflite-micro"), model=models / f"two.{fmt}", out=path,
                                         calibration_samples=32, name="mio", command="pytest"))
        out[fmt] = (path, manifest)
    return out


EXACT = ("c_vs_litert_ref_eval", "c_vs_litert_ref_random", "c_fixed_point_fc_vs_tflm_random")


@pytest.mark.parametrize("fmt", ["keras", "tflite"])
def test_two_inputs_two_outputs_build_and_verify_every_output(builds, fmt):
    path, m = builds[fmt]
    assert [len(m["inputs"]), len(m["outputs"])] == [2, 2] and "input" not in m
    assert sorted(tuple(t["shape"]) for t in m["inputs"]) == [(1, 8, 8, 1), (1, 144)]
    assert sorted(tuple(t["shape"]) for t in m["outputs"]) == [(1, 2), (1, 4)]
    v = m["verification"]
    for i in range(2):
        for key in EXACT:
            entry = v[f"{key}_output_{i}"]
            assert entry["passed"] and entry["max_abs_diff_lsb"] == 0, (key, i, entry)
        assert v[f"tflm_vs_litert_int8_ref_output_{i}"]["passed"]
    assert m["evaluation"]["accuracy"] == "unknown" and m["data"]["source"] == "random"
    assert m["failed_targets"] == {}
    settings = (path / "tflite-micro" / "model_settings.h").read_text()
    for i, t in enumerate(m["inputs"]):
        assert f"kInput{i}Size = {int(np.prod(t['shape']))};" in settings and t["name"] in settings
    for i, t in enumerate(m["outputs"]):
        assert f"kOutput{i}ZeroPoint = {t['zero_point']};" in settings
    header = (path / "c" / "mio_model.h").read_text()
    assert ("int mio_invoke(const int8_t *input0, const int8_t *input1, int8_t *output0, int8_t *output1);"
            in header)


MAIN_C = r"""#include <stdio.h>
#include "mio_model.h"
int main(void) {
    static int8_t in0[MIO_INPUT0_SIZE], in1[MIO_INPUT1_SIZE], out0[MIO_OUTPUT0_SIZE], out1[MIO_OUTPUT1_SIZE];
    int i;
    for (i = 0; i < MIO_INPUT0_SIZE; ++i) in0[i] = (int8_t)((i * 37) % 256 - 128);
    for (i = 0; i < MIO_INPUT1_SIZE; ++i) in1[i] = (int8_t)((i * 91 + 5) % 256 - 128);
    if (mio_invoke(in0, in1, out0, out1) != 0 || mio_invoke(in0, NULL, out0, out1) != -1) return 1;
    for (i = 0; i < MIO_OUTPUT0_SIZE; ++i) printf("%d ", out0[i]);
    printf("\n");
    for (i = 0; i < MIO_OUTPUT1_SIZE; ++i) printf("%d ", out1[i]);
    printf("\n");
    return 0;
}
"""


def test_c_program_calls_invoke_with_one_pointer_per_tensor(builds, tmp_path):
    """A user's program against the generated header; its outputs equal LiteRT's reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path, m = builds["tflite"]
    c = path / "c"
    (tmp_path / "main.c").write_text(MAIN_C)
    exe = tmp_path / "prog"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{c}", str(tmp_path / "main.c"),
                    *map(str, sorted(c.glob("*.c"))), "-o", str(exe)], check=True, capture_output=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    got = [np.array(line.split(), dtype=np.int64) for line in lines]
    it = Interpreter(model_path=str(path / "model_int8.tflite"),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    formulas = [lambda i: (i * 37) % 256 - 128, lambda i: (i * 91 + 5) % 256 - 128]
    for d, f in zip(it.get_input_details(), formulas):
        n = int(np.prod(d["shape"]))
        it.set_tensor(d["index"], np.array([f(i) for i in range(n)], np.int8).reshape(d["shape"]))
    it.invoke()
    want = [it.get_tensor(d["index"]).reshape(-1).astype(np.int64) for d in it.get_output_details()]
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_data_options_say_they_do_not_apply(models, tmp_path):
    _, m = build(BuildRequest(targets=("tflite-micro",), model=models / "two.tflite", out=tmp_path / "o",
                              dataset="mnist", input_range="0,1", command="pytest"))
    notes = m["data"]["notes"]
    assert any(n.startswith("--dataset does not apply: the model has 2 input(s) and 2 output(s)") for n in notes)
    assert any(n.startswith("--input-range does not apply") for n in notes)
    assert m["dataset"] is None and m["data"]["source"] == "random" and m["name"] == "two"


def test_targets_without_several_io_fail_with_one_reason_and_the_others_build(models, tmp_path):
    with pytest.raises(EdgecnnError) as err:
        build(BuildRequest(targets=("all",), model=models / "two.tflite", out=tmp_path / "o", name="mio",
                           command="pytest"))
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    without = {name for name, t in TARGETS.items() if not t.multi_io}  # from the one target table
    assert {"onnx", "ort"} <= without and "c" not in without and "tflite-micro" not in without
    assert set(m["failed_targets"]) == without
    assert all("several inputs or outputs" in m["failed_targets"][t] for t in without - {"ort"})  # ort: needs onnx
    assert "model_float.tflite" in m["skipped"]  # tflite: the int8 source is the artifact
    assert "several inputs or outputs" in str(err.value)
    assert (tmp_path / "o" / "c" / "mio_model.h").is_file() and (tmp_path / "o" / "tflite-micro" / "main.cc").is_file()


def test_bench_says_it_does_not_support_several_io(builds):
    from edgecnn.bench.builddir import open_build

    path, _ = builds["tflite"]
    with pytest.raises(EdgecnnError, match="bench does not support models with several inputs or outputs"):
        open_build(Path(path))
    res = subprocess.run(["python", "-m", "edgecnn", "bench", "--build", str(path), "--runs", "20"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "several inputs or outputs" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
