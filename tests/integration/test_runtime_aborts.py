"""Models on which LiteRT's and TFLM's kernels call abort(): one clear error, never a dead process.

SOFTMAX's prepare step in both runtimes aborts when its input scale is far too
small (logits whose range is near zero, as an untrained MobileNetV2 gives).
The tests make such a model with Keras and check that every path that used to
run these kernels in-process now ends in an EdgecnnError.
"""

import numpy as np
import pytest

from edgecnn.convert.build import BuildRequest, build
from edgecnn.errors import EdgecnnError, TargetCannotRun

GAIN = 1e-8  # logits of range ~1e-7: SOFTMAX's input scale is below what its kernels accept


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory):
    """(.keras path, TF's own int8 .tflite path, .npz data path) of a 16-feature, 3-class softmax model."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inp = keras.Input((16,), batch_size=1)
    dense = keras.layers.Dense(3)
    model = keras.Model(inp, keras.layers.Softmax()(dense(inp)))
    rng = np.random.default_rng(0)
    dense.set_weights([rng.normal(size=(16, 3)).astype(np.float32) * GAIN,
                       np.array([1, 2, 3], np.float32) * GAIN])
    d = tmp_path_factory.mktemp("collapsed")
    model.save(d / "m.keras")
    x = rng.normal(size=(60, 16)).astype(np.float32)
    np.savez(d / "data.npz", x=x, y=rng.integers(0, 3, 60).astype(np.uint8))
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([row[None]] for row in x[:20])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    (d / "m_int8.tflite").write_bytes(conv.convert())
    return d / "m.keras", d / "m_int8.tflite", d / "data.npz"


@pytest.mark.parametrize("source", ["keras", "int8_tflite"])
def test_build_ends_in_one_error_naming_the_abort(collapsed, tmp_path, source):
    keras_path, tflite_path, data = collapsed
    model, with_data = (keras_path, data) if source == "keras" else (tflite_path, None)
    out = tmp_path / "out"
    with pytest.raises(EdgecnnError, match="abort the process while preparing") as err:
        build(BuildRequest(targets=("c", "tflite-micro"), model=model, data=with_data, out=out,
                           calibration_samples=20))
    where = "the int8 model converted from it" if source == "keras" else tflite_path.name
    assert where in str(err.value) and "SIGABRT" in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_tflm_reference_reports_an_abort_instead_of_dying(collapsed):
    from edgecnn.codegen import verify

    _, tflite_path, _ = collapsed
    with pytest.raises(TargetCannotRun, match="TFLM's interpreter could not run"):
        verify.tflm_reference(tflite_path, verify.random_inputs((1, 16), 4, seed=0))
