"""Keras model -> float and full-integer int8 .tflite with the TFLite converter.

The model is traced at batch size 1 (a fixed input signature), and its
variables are frozen into constants before conversion: a dynamic batch makes
the converter emit SHAPE / STRIDED_SLICE ops that TFLM would need to
register, and Keras 3 variables left unfrozen become VAR_HANDLE /
READ_VARIABLE ops that the int8 calibrator cannot run.
"""

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.convert.quiet import quiet
from edgecnn.convert.report import task
from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class TensorQuant:
    """Shape, dtype and affine quantization of a model input or output (real = scale * (q - zero_point))."""

    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class Int8Model:
    """The int8 .tflite flatbuffer and what the later stages read from it."""

    data: bytes
    q_in: TensorQuant
    q_out: TensorQuant
    ops: list[str]  # distinct builtin ops, sorted


def int8_model(model, calib_x: np.ndarray) -> Int8Model:
    """Quantize, read back the input/output quantization and ops, and check it is batch-1 full integer."""
    data = to_int8_tflite(model, calib_x)
    q_in, q_out = tflite_io(data)
    ops = tflite_ops(data)
    check_int8_io(q_in, q_out, ops)
    return Int8Model(data, q_in, q_out, ops)


def load_keras(path: Path):
    """Load a .keras model (no compile), turning every failure into one EdgecnnError."""
    path = Path(path)
    if not path.is_file():
        raise EdgecnnError(f"model file {path} does not exist; expected a Keras model saved as .keras "
                           "(e.g. by `edgecnn train`)")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise EdgecnnError(f"model file {path} is not a Keras .keras archive (a zip with config.json and "
                           "model.weights.h5); it may be corrupt or of another format")
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a damaged archive
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise EdgecnnError(f"could not load model file {path} ({msg}); expected a Keras 3 .keras model") from None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise EdgecnnError(f"model {path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                           "expected one image input and one class-score output")
    return model


def batch1_function(model):
    """A tf.function of the model at batch size 1 (inference mode), input named "image"."""
    import tensorflow as tf

    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image")
    return tf.function(lambda image: model(image, training=False), input_signature=[spec])


def _converter(model):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(batch1_function(model).get_concrete_function())
    # Frozen graphs take the converter's graph-def path; its "provide trackable_obj" warning does not apply.
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf.lite.TFLiteConverter.from_concrete_functions([frozen])


def to_float_tflite(model) -> bytes:
    """The float32 .tflite flatbuffer of the model, batch 1."""
    with quiet():
        return bytes(_converter(model).convert())


def to_int8_tflite(model, calib_x: np.ndarray) -> bytes:
    """Full-integer int8 .tflite: int8 input/output, per-channel weights, calibrated on calib_x.

    calib_x: (N, H, W, C) uint8 training images, fed as pixel / 255 (the model's input range).
    """
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8

    with task("calibrating", len(calib_x)) as advance:

        def representative():
            for img in calib_x:
                advance()
                yield [img[None].astype(np.float32) / 255.0]

        conv.representative_dataset = representative
        try:
            with quiet():
                return bytes(conv.convert())
        except Exception as err:
            raise EdgecnnError(f"int8 conversion failed: {str(err).splitlines()[0]}") from None


def tflite_ops(tflite: bytes) -> list[str]:
    """Distinct builtin op names in a .tflite flatbuffer, sorted (read from the file, as TFLM resolves them)."""
    from tflite_micro import runtime

    model = runtime.convert_bytearray_to_object(bytearray(tflite))
    names = {v: k for k, v in vars(runtime.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = {runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])
             for sg in model.subgraphs for op in (sg.operators or [])}
    return sorted(names[c] for c in codes)


def tflite_io(tflite: bytes) -> tuple[TensorQuant, TensorQuant]:
    """Input and output shape, dtype and quantization of a .tflite model."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():
        it = Interpreter(model_content=tflite)

    def quant(d):
        scale, zp = d["quantization"]
        return TensorQuant(tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name, float(scale), int(zp))

    return quant(it.get_input_details()[0]), quant(it.get_output_details()[0])


def check_int8_io(inp: TensorQuant, out: TensorQuant, ops: list[str]) -> None:
    """Fail when the converter did not give int8 in/out or left dynamic-shape ops behind."""
    if inp.dtype != "int8" or out.dtype != "int8":
        raise EdgecnnError(f"int8 model has {inp.dtype} input and {out.dtype} output; expected int8 both")
    dynamic = sorted(set(ops) & {"SHAPE", "STRIDED_SLICE", "VAR_HANDLE", "READ_VARIABLE", "QUANTIZE", "DEQUANTIZE"})
    if dynamic:
        raise EdgecnnError(f"int8 model contains {dynamic}; expected a batch-1, fully integer graph")


def build_target(ctx) -> dict:
    """`tflite` target: model_float.tflite beside model_int8.tflite, checked against Keras."""
    from edgecnn.convert.runners import run_litert
    from edgecnn.convert.verify import compare_float, require

    tflite = to_float_tflite(ctx.model)
    (ctx.out_dir / "model_float.tflite").write_bytes(tflite)
    got = run_litert(tflite, ctx.eval_x, "LiteRT float")
    return {"verification": {"tflite_float_vs_keras": require(compare_float(
        "model_float.tflite (LiteRT) vs Keras", got, ctx.keras_out))}}
