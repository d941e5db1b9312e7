"""Keras model -> float and full-integer int8 .tflite with the TFLite converter.

The model is traced at batch size 1 (a fixed input signature), and its
variables are frozen into constants before conversion: a dynamic batch makes
the converter emit SHAPE / STRIDED_SLICE ops that TFLM would need to
register, and Keras 3 variables left unfrozen become VAR_HANDLE /
READ_VARIABLE ops that the int8 calibrator cannot run.
"""

import logging
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
    """Quantize a Keras model; calib_x: (N, ...) float32 in the model's input units."""
    return read_int8(to_int8_tflite(model, calib_x))


def read_int8(data: bytes) -> Int8Model:
    """An int8 .tflite's input/output quantization and ops; EdgecnnError unless its I/O is int8."""
    q_in, q_out = tflite_io(data)
    ops = tflite_ops(data)
    check_int8_io(q_in, q_out)
    return Int8Model(data, q_in, q_out, ops)


def load_keras(path: Path):
    """A Keras model from .keras / .h5 / SavedModel (see frontends), as one EdgecnnError on failure."""
    from edgecnn.convert.frontends import load

    src = load(path)
    if src.keras is None:
        raise EdgecnnError(f"{path} is a {src.description}, not a Keras model")
    return src.keras


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

    calib_x: (N, ...) float32 calibration inputs in the model's input units (feed.py prepared them).
    """
    import tensorflow as tf

    from edgecnn.convert.runners import model_units

    calib_x = model_units(calib_x)
    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8

    with task("calibrating", len(calib_x)) as advance:

        def representative():
            for x in calib_x:
                advance()
                yield [x[None].astype(np.float32)]

        conv.representative_dataset = representative
        try:
            with quiet():
                return bytes(conv.convert())
        except Exception as err:  # the converter raises ConverterError, ValueError, ... with long logs
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EdgecnnError(f"LiteRT's converter could not make a full-integer int8 model: {first[:300]}") from None


def tflite_ops(tflite: bytes) -> list[str]:
    """Distinct builtin op names in a .tflite flatbuffer, sorted (LiteRT's view of the graph)."""
    from edgecnn.convert.graphinfo import op_rows

    return sorted({r.op for r in op_rows(tflite)})


def tflite_io(tflite: bytes) -> tuple[TensorQuant, TensorQuant]:
    """Input and output shape, dtype and quantization of a .tflite model."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():
        it = Interpreter(model_content=tflite)

    n_in, n_out = len(it.get_input_details()), len(it.get_output_details())
    if n_in != 1 or n_out != 1:
        raise EdgecnnError(f"the .tflite has {n_in} inputs and {n_out} outputs; edgecnn builds models with one "
                           "input and one output (several inputs or outputs are not supported yet)")

    def quant(d):
        scale, zp = d["quantization"]
        return TensorQuant(tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name, float(scale), int(zp))

    return quant(it.get_input_details()[0]), quant(it.get_output_details()[0])


def check_int8_io(inp: TensorQuant, out: TensorQuant) -> None:
    """Fail unless the model takes int8 and gives int8 (what every target feeds and reads)."""
    if inp.dtype != "int8" or out.dtype != "int8":
        raise EdgecnnError(f"int8 model has {inp.dtype} input and {out.dtype} output; expected int8 both")


def build_target(ctx) -> dict:
    """`tflite` target: model_float.tflite beside model_int8.tflite, checked against the float model.

    From a Keras model it is converted and compared with Keras; a float .tflite source is
    copied as it is; an int8 .tflite source has no float model, so it is skipped (one line).
    """
    from edgecnn.console import console
    from edgecnn.convert.runners import run_litert
    from edgecnn.convert.verify import compare_float, require

    if ctx.model is None and ctx.float_tflite is None:
        why = "no float model (the source is an int8 .tflite); model_int8.tflite is the tflite artifact"
        console.print(f"[cyan]tflite: model_float.tflite skipped:[/] {why}")
        return {"skipped": {"model_float.tflite": why}}
    if ctx.model is None:
        (ctx.out_dir / "model_float.tflite").write_bytes(ctx.float_tflite)
        return {"tflite": {"model_float.tflite": "the source float .tflite, copied unchanged"}}
    tflite = to_float_tflite(ctx.model)
    (ctx.out_dir / "model_float.tflite").write_bytes(tflite)
    got = run_litert(tflite, ctx.eval_x, "LiteRT float")
    return {"verification": {"tflite_float_vs_keras": require(compare_float(
        "model_float.tflite (LiteRT) vs Keras", got, ctx.keras_out))}}
