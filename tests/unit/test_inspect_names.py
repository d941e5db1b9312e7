"""`edgecnn inspect` on a .tflite: short op names that fit 100 columns, full TF names in --json."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edgecnn.summary import SHORT_NAME_MAX, short_tensor_name


def test_short_name_picks_the_ops_own_layer():
    fused = ("m_1/b3_dwrelu_1/Relu;m_1/b3_dwbn_1/batchnorm/add_1;m_1/b3_dwbn_1/batchnorm/mul_1;"
             "m_1/b3_dw_1/depthwise;m_1/b3_dwbn_1/batchnorm/mul")
    assert short_tensor_name(fused, "DEPTHWISE_CONV_2D", 3) == "3 b3_dw_1"
    assert short_tensor_name("model/conv2d_8/Conv2D;model/conv2d_8/BiasAdd/ReadVariableOp/resource1",
                             "CONV_2D", 8) == "8 conv2d_8"
    assert short_tensor_name("m/head/MatMul;m/head/BiasAdd", "FULLY_CONNECTED", 11) == "11 head"
    assert short_tensor_name("Identity", "SOFTMAX", 12) == "12 Identity"
    long = short_tensor_name("m/" + "x" * 200 + "/Conv2D", "CONV_2D", 0)
    assert len(long) <= SHORT_NAME_MAX + 2 and long.endswith("~")


@pytest.fixture(scope="module")
def tflite(tmp_path_factory):
    """A user-style model with long, TF-generated tensor names, as an int8 .tflite."""
    import keras

    from edgecnn.convert.quantize import to_int8_tflite

    keras.utils.set_random_seed(1)
    L = keras.layers
    x = inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", name="a_rather_long_convolution_layer_name_from_a_user")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(4, activation="softmax")(x)
    path = tmp_path_factory.mktemp("inspect") / "user.tflite"
    calib = np.random.default_rng(0).integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    path.write_bytes(to_int8_tflite(keras.Model(inp, out), calib.astype(np.float32) / 255.0))
    return path


def _inspect(path, *args):
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "edgecnn", "inspect", str(path), *args], capture_output=True,
                          text=True, env=env, check=True).stdout


def test_table_fits_100_columns_one_line_per_op(tflite):
    out = _inspect(tflite)
    rows = json.loads(_inspect(tflite, "--json"))["layers"]
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100, out
    for i, r in enumerate(rows):
        hits = [line for line in lines if line.startswith(f"│ {i:02d} ")]
        assert len(hits) == 1 and r["kind"] in hits[0], (i, out)  # one line: nothing wrapped
