"""Models edgecnn did not train, written here with Keras (seeded, tiny), through `build --target all`.

Each model goes in as .keras, as legacy .h5, and as an int8 .tflite made by TF's
converter directly (not by edgecnn). Every target either builds (and verified
itself against the real runtimes during the build) or, where its op table lacks an
op of the int8 graph, fails with that op named while the other targets build. The
expectation is read from the targets' own op tables (TFLM_OPS, the C engine's OPS),
so the test follows the engine as it gains ops.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from edgecnn.convert.build import BuildRequest, build
from edgecnn.convert.targets import TARGETS, supported_ops
from edgecnn.errors import EdgecnnError

N_DATA = 24  # labelled samples per model: calibration and evaluation stay cheap


def _residual(keras):
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(inp)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    y = keras.layers.Conv2D(8, 3, padding="same", name="res_conv")(x)
    y = keras.layers.BatchNormalization(name="res_bn")(y)
    x = keras.layers.ReLU()(keras.layers.Add(name="res_add")([x, y]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(5, activation="softmax", name="head")(x))


def _separable(keras):
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="rescale")(inp)
    x = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep")(x)
    x = keras.layers.ReLU(max_value=6, name="relu6")(x)
    x = keras.layers.ZeroPadding2D(1, name="zpad")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="head")(x))


def _flatten_dense(keras):
    inp = keras.Input((10, 10, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(16, activation="relu", name="fc1")(x)
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax", name="head")(x))


def _vector(keras):
    inp = keras.Input((640,))
    x = keras.layers.Dense(16, activation="relu", name="fc1")(inp)
    return keras.Model(inp, keras.layers.Dense(4, activation="softmax", name="head")(x))


def _rgb64(keras):
    inp = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(4, activation="softmax", name="head")(x))


def _audio(keras):
    """A keyword-spotting shape: 49 frames x 10 MFCC features, DS-CNN style."""
    inp = keras.Input((49, 10, 1))
    x = keras.layers.Conv2D(8, (10, 4), strides=2, padding="same", activation="relu", name="conv")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(12, activation="softmax", name="head")(x))


MODELS = {"residual": _residual, "separable": _separable, "flatten_dense": _flatten_dense,
          "vector640": _vector, "rgb64_4class": _rgb64, "audio49x10": _audio}
# What the data is for each model: (input range the model takes, images or not).
RANGE = {"separable": "0,255"}  # Rescaling first: raw pixels, and edgecnn infers it
FLOAT_DATA = {"vector640", "audio49x10"}  # float features in the model's units, not pixels


def _data(name: str, model, path: Path) -> None:
    """N_DATA seeded samples with labels: uint8 images for image models, float vectors otherwise."""
    rng = np.random.default_rng(1)
    shape, k = tuple(model.inputs[0].shape[1:]), int(model.outputs[0].shape[-1])
    y = np.arange(N_DATA) % k
    if len(shape) == 3 and name != "audio49x10":
        x = rng.integers(0, 256, (N_DATA, *shape), dtype=np.int64).astype(np.uint8)
    else:
        x = rng.standard_normal((N_DATA, *shape)).astype(np.float32)
    np.savez(path, x=x, y=y)


def _tf_int8(model, npz: Path, range_: str) -> bytes:
    """An int8 .tflite from TF's converter directly (int8 input and output), not through edgecnn."""
    import tensorflow as tf

    x = np.load(npz)["x"].astype(np.float32)
    if np.load(npz)["x"].dtype == np.uint8 and range_ != "0,255":
        x = x / 255.0
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([s[None]] for s in x)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return bytes(conv.convert())


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("user-models")
    out = {}
    for name, make in MODELS.items():
        keras.utils.set_random_seed(0)
        model = make(keras)
        model.save(root / f"{name}.keras")
        model.save(root / f"{name}.h5")
        _data(name, model, root / f"{name}.npz")
        (root / f"{name}.tflite").write_bytes(_tf_int8(model, root / f"{name}.npz", RANGE.get(name, "0,1")))
    return root


def _expected_failures(manifest: dict) -> dict[str, set[str]]:
    """target -> the ops of the int8 model its op table lacks (empty: it must build); a target that needs
    pixels (the target table says) on a model without a pixel range: {"pixels"}."""
    out = {t: set(manifest["ops"]) - ops for t in TARGETS if (ops := supported_ops(t)) is not None}
    if manifest["input"].get("range") is None:
        out |= {t: {"pixels"} for t, spec in TARGETS.items() if spec.pixels}
    return out


def _run(models: Path, name: str, fmt: str, tmp_path: Path, with_data: bool):
    req = BuildRequest(targets=("all",), model=models / f"{name}.{fmt}", out=tmp_path / "out",
                       data=models / f"{name}.npz" if with_data else None, calibration_samples=16,
                       input_range=None if name in RANGE or name in FLOAT_DATA else "0,1", command="pytest")
    try:
        _, manifest = build(req)
        return manifest, None
    except EdgecnnError as err:
        path = tmp_path / "out" / "manifest.json"
        return (json.loads(path.read_text()) if path.is_file() else None), str(err)


def _check(manifest: dict | None, err: str | None, out: Path):
    assert manifest is not None, f"nothing was built: {err}"
    failing = {t: lacking for t, lacking in _expected_failures(manifest).items() if lacking}
    failing |= {t: {"needs"} for t, spec in TARGETS.items() if set(spec.requires) & set(failing)}  # e.g. cmake on c
    assert set(manifest["failed_targets"]) == set(failing), (manifest["failed_targets"], failing)
    for target, lacking in failing.items():
        words = {"pixels": "uint8 pixels"}
        assert all(words.get(op, op) in err and words.get(op, op) in manifest["failed_targets"][target]
                   for op in lacking), err
    assert (err is None) == (not failing)
    built = [t for t in manifest["targets"] if t not in failing]
    assert "tflite-micro" in built and (out / "tflite-micro" / "model_settings.h").is_file()
    assert manifest["verification"]["tflm_vs_litert_int8_ref"]["passed"]
    if "c" in built:
        assert manifest["verification"]["c_vs_litert_ref_random"]["passed"]
    else:
        assert not (out / "c").exists()  # nothing half-written of a failed target
    assert manifest["verification"]["onnx_int8_vs_litert_int8"]["passed"]
    assert manifest["source_model"]["macs"] > 0


@pytest.mark.parametrize("name", list(MODELS))
def test_keras_model_with_data_builds_every_target_it_can(models, tmp_path, name):
    manifest, err = _run(models, name, "keras", tmp_path, with_data=True)
    _check(manifest, err, tmp_path / "out")
    assert manifest["source_model"]["format"] == "keras"
    assert manifest["evaluation"]["float_top1_acc"] is not None  # labelled data: accuracy measured
    assert manifest["verification"]["tflite_float_vs_keras"]["passed"]
    if name == "separable":  # a leading Rescaling layer says the model takes raw pixels
        assert manifest["input"]["range"] == [0.0, 255.0]
        assert "kInputRangeMax = 255.0f" in (tmp_path / "out" / "tflite-micro" / "model_settings.h").read_text()
    if name == "vector640":  # not an image: no range, no image-only constants
        assert manifest["input"]["range"] is None
        assert "kNumRows" not in (tmp_path / "out" / "tflite-micro" / "model_settings.h").read_text()


@pytest.mark.parametrize("name", ["residual", "vector640"])
def test_h5_model_builds_like_the_keras_one(models, tmp_path, name):
    manifest, err = _run(models, name, "h5", tmp_path, with_data=True)
    _check(manifest, err, tmp_path / "out")
    assert manifest["source_model"]["format"] == "h5"


@pytest.mark.parametrize("name", list(MODELS))
def test_tf_int8_tflite_without_data_builds_on_random_inputs(models, tmp_path, name):
    src = (models / f"{name}.tflite").read_bytes()
    manifest, err = _run(models, name, "tflite", tmp_path, with_data=False)
    _check(manifest, err, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "model_int8.tflite").read_bytes() == src  # used as it is, never requantized
    assert manifest["evaluation"]["accuracy"] == "unknown" and manifest["data"]["source"] == "random"
    assert not (out / "model_float.tflite").exists() and not (out / "model_float.onnx").exists()
    assert {"model_float.tflite", "model_float.onnx"} <= set(manifest["skipped"])


def test_class_count_mismatch_is_one_clear_error_and_leaves_nothing(models, tmp_path):
    np.savez(tmp_path / "three.npz", x=np.zeros((6, 64, 64, 3), np.uint8), y=np.arange(6) % 3)
    with pytest.raises(EdgecnnError, match="3 classes, but the model's output .* has 4 scores"):
        build(BuildRequest(model=models / "rgb64_4class.keras", data=tmp_path / "three.npz", input_range="0,1",
                           out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def _tf_convert(model, mode: str) -> bytes:
    """A float / dynamic-range / float16 .tflite from TF's converter (from_keras_model keeps a signature)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        conv.target_spec.supported_types = [tf.float16]
    return bytes(conv.convert())


def test_float_tflite_is_quantized_to_full_integer_and_runs_in_tflm(models, tmp_path):
    import keras

    model = keras.models.load_model(models / "residual.keras")
    (tmp_path / "float.tflite").write_bytes(_tf_convert(model, "float"))
    _, manifest = build(BuildRequest(targets=("tflite", "tflite-micro", "onnx"), model=tmp_path / "float.tflite",
                                     data=models / "residual.npz", input_range="0,1", calibration_samples=16,
                                     out=tmp_path / "out", command="pytest"))
    assert manifest["source_model"]["quantizer"].startswith("ai-edge-quantizer")
    assert manifest["input"]["dtype"] == manifest["output"]["dtype"] == "int8"
    assert manifest["verification"]["tflm_vs_litert_int8_ref"]["passed"]
    assert manifest["verification"]["onnx_float_vs_keras"]["passed"]  # float ONNX from the float .tflite
    assert (tmp_path / "out" / "model_float.tflite").read_bytes() == (tmp_path / "float.tflite").read_bytes()


@pytest.mark.parametrize("mode,what", [("dynamic", "dynamic-range \\(hybrid\\)"), ("float16", "float16-quantized")])
def test_hybrid_and_float16_tflite_are_refused_saying_what_they_are(models, tmp_path, mode, what):
    import keras

    # The converter leaves weight tensors under 1,024 values in float: the (640 -> 16) dense layer is above it.
    model = keras.models.load_model(models / "vector640.keras")
    (tmp_path / "m.tflite").write_bytes(_tf_convert(model, mode))
    with pytest.raises(EdgecnnError, match=f"is a {what}.*TFLITE_BUILTINS_INT8"):
        build(BuildRequest(model=tmp_path / "m.tflite", out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_savedmodel_directory_builds(models, tmp_path):
    import keras

    keras.models.load_model(models / "flatten_dense.keras").export(tmp_path / "sm")
    _, manifest = build(BuildRequest(targets=("tflite-micro", "c"), model=tmp_path / "sm",
                                     data=models / "flatten_dense.npz", input_range="0,1", calibration_samples=16,
                                     out=tmp_path / "out", command="pytest"))
    assert manifest["source_model"]["format"] == "savedmodel"
    assert manifest["verification"]["tflm_vs_litert_int8_ref"]["passed"]


@pytest.mark.parametrize("fmt", ["keras", "h5", "tflite"])
def test_inspect_reads_every_format_with_macs_from_the_graph(models, fmt):
    from edgecnn.summary import model_rows, totals

    tot = totals(model_rows(models / f"rgb64_4class.{fmt}"))
    # c1: 16x16 outputs x 3x3x3 taps x 4; c2: 7x7 x 3x3x4 x 8; head 8 x 4
    assert tot["macs"] == 16 * 16 * 27 * 4 + 7 * 7 * 36 * 8 + 8 * 4
