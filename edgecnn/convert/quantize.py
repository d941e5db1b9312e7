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
    q_ins: tuple = ()  # every input's TensorQuant, in the model's order (q_in is the first)
    q_outs: tuple = ()  # every output's TensorQuant, in the model's order (q_out is the first)
    names: tuple = ((), ())  # (input names, output names) as the .tflite names them

    @property
    def multi_io(self) -> bool:
        return len(self.q_ins) > 1 or len(self.q_outs) > 1


def int8_model(model, calib_x: np.ndarray) -> Int8Model:
    """Quantize a Keras model; calib_x: (N, ...) float32 in the model's input units."""
    return read_int8(to_int8_tflite(model, calib_x))


def read_int8(data: bytes) -> Int8Model:
    """An int8 .tflite's input/output quantization and ops; EdgecnnError unless its I/O is int8."""
    q_ins, q_outs, names = tflite_io_all(data)
    ops = tflite_ops(data)
    for q in (*q_ins, *q_outs):
        check_int8_io(q_ins[0], q)
    return Int8Model(data, q_ins[0], q_outs[0], ops, tuple(q_ins), tuple(q_outs), names)


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

    if len(model.inputs) == 1:
        spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image")
        return tf.function(lambda image: model(image, training=False), input_signature=[spec])
    # Several inputs: one argument each, in the model's order; zero-padded names, since the .tflite may
    # order its inputs by name.
    specs = [tf.TensorSpec((1, *t.shape[1:]), tf.float32, name=f"input_{i:03d}") for i, t in enumerate(model.inputs)]
    return tf.function(lambda *xs: model(list(xs), training=False), input_signature=specs)


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

    calib_x: (N, ...) float32 calibration inputs in the model's input units (feed.py prepared them);
    for a model with several inputs, a list of such arrays, one per input in the model's order.
    """
    import tensorflow as tf

    from edgecnn.convert.runners import model_units

    calib = [model_units(x) for x in calib_x] if isinstance(calib_x, (list, tuple)) else [model_units(calib_x)]
    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8

    with task("calibrating", len(calib[0])) as advance:

        def representative():
            for i in range(len(calib[0])):
                advance()
                yield [x[i][None].astype(np.float32) for x in calib]

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
    """Input and output shape, dtype and quantization of a one-input, one-output .tflite model."""
    q_ins, q_outs, _ = tflite_io_all(tflite)
    if len(q_ins) != 1 or len(q_outs) != 1:
        raise EdgecnnError(f"the .tflite has {len(q_ins)} inputs and {len(q_outs)} outputs; expected one input "
                           "and one output here")
    return q_ins[0], q_outs[0]


def tflite_io_all(tflite: bytes) -> tuple[list[TensorQuant], list[TensorQuant], tuple]:
    """(inputs, outputs, (input names, output names)) of a .tflite model, in the model's order."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():
        it = Interpreter(model_content=tflite)

    def quant(d):
        scale, zp = d["quantization"]
        return TensorQuant(tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name, float(scale), int(zp))

    ins, outs = it.get_input_details(), it.get_output_details()
    return [quant(d) for d in ins], [quant(d) for d in outs], (tuple(d["name"] for d in ins),
                                                            tuple(d["name"] for d in outs))


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
    if ctx.multi_io:
        why = ("several inputs or outputs: the float model is not exported or verified yet; "
               "model_int8.tflite is the tflite artifact")
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
