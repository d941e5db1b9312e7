"""The int8 pivot: every front end ends in one full-integer int8 .tflite, with reference outputs beside it.

- Keras (.keras / .h5 / SavedModel): TensorFlow's converter, full-integer (quantize.py).
- float .tflite: ai-edge-quantizer (Google's quantizer for .tflite files) with its static
  int8-weights/int8-activations recipe, calibrated on the same data. Chosen because it works
  on the .tflite itself (TF's converter needs the original model), is maintained by the LiteRT
  team, co-installs with tensorflow-cpu 2.21 / ai-edge-litert 2.3 (pip install --dry-run adds
  only immutabledict, litert-lm-builder and tomli), and its output runs in TFLM with int8 input
  and output (checked at build time by the tflite-micro target, as for every model).
- int8 .tflite: used as it is, never requantized.
"""

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class Pivot:
    """The int8 model every target reads, and the reference outputs on the evaluation inputs."""

    int8: object  # quantize.Int8Model
    rows: list  # graphinfo.OpRow per op of the int8 model
    float_tflite: bytes | None  # the source float .tflite (float .tflite front end), else None
    float_out: np.ndarray | None  # (N, K) float reference outputs on feed.x; None without a float model
    int8_out: np.ndarray  # (N, K) int8 outputs of LiteRT's default kernels on feed.x
    quantizer: str  # how the int8 model was made
    x: np.ndarray | None = None  # the evaluation inputs: feed.x, or packed random inputs (multiio.py)


def io_shapes(src) -> tuple[tuple, tuple, object]:
    """(input shape (1, ...), output shape (1, ...), int8 input TensorQuant or None) of a ModelSource."""
    from edgecnn.convert.quantize import tflite_io

    if src.keras is not None:
        m = src.keras
        return (1, *m.inputs[0].shape[1:]), (1, *m.outputs[0].shape[1:]), None
    q_in, q_out = tflite_io(src.tflite)
    return tuple(q_in.shape), tuple(q_out.shape), q_in if src.is_int8 else None


def float_tflite_to_int8(raw: bytes, calib: np.ndarray) -> bytes:
    """Full-integer int8 (int8 input and output) from a float .tflite with ai-edge-quantizer."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    with quiet():
        sigs = Interpreter(model_content=raw).get_signature_list()
    if len(sigs) != 1 or len(next(iter(sigs.values()))["inputs"]) != 1:
        raise EdgecnnError(f"the float .tflite has signatures {sigs}; ai-edge-quantizer needs exactly one signature "
                           "with one input (convert with TFLiteConverter.from_keras_model or from_saved_model)")
    key, sig = next(iter(sigs.items()))
    data = {key: [{sig["inputs"][0]: x[None].astype(np.float32)} for x in calib]}
    try:
        with quiet(), contextlib.redirect_stdout(io.StringIO()):
            q = quantizer.Quantizer(bytes(raw), recipe.static_wi8_ai8())
            result = q.quantize(q.calibrate(data), enable_progress_bar=False, enable_progress_report=False)
    except Exception as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EdgecnnError(f"ai-edge-quantizer could not quantize the float .tflite: {msg[:300]}") from None
    return bytes(result.quantized_model)


def make(src, feed, console) -> Pivot:
    """Quantize (or take) the int8 model and run the reference runtimes on feed.x."""
    from edgecnn.convert import graphinfo, quantize, runners

    if src.is_int8:
        data, how = src.tflite, "none: the source is a full-integer int8 .tflite, used as it is"
    elif src.keras is not None:
        console.print(f"quantizing to int8, calibrating on {feed.calib_description}")
        data, how = quantize.to_int8_tflite(src.keras, feed.calib), "TensorFlow Lite converter, full-integer int8"
    elif feed.x is None:
        raise EdgecnnError(f"{src.path}: a float .tflite with several inputs or outputs cannot be quantized here "
                           "(ai-edge-quantizer is given one input); convert the float model with TensorFlow's "
                           "converter to a full-integer int8 .tflite, or pass the .keras model")
    else:
        console.print(f"quantizing the float .tflite to int8 with ai-edge-quantizer, calibrating on "
                      f"{feed.calib_description}")
        data, how = float_tflite_to_int8(src.tflite, feed.calib), "ai-edge-quantizer static_wi8_ai8 (int8 I/O)"
    int8 = quantize.read_int8(data)
    rows = graphinfo.op_rows(data)
    graphinfo.check_dtypes(rows)
    if feed.x is None:  # several inputs or outputs (multiio.py): random inputs, no float reference
        from edgecnn.convert import multiio

        x = multiio.random_inputs(int8.q_ins)
        return Pivot(int8, rows, src.tflite if src.tflite_kind == "float" else None, None,
                     runners.run_litert(data, x, "LiteRT int8"), how, x)
    if src.keras is not None:
        float_out = runners.run_keras(src.keras, feed.x)
    elif src.tflite_kind == "float":
        float_out = runners.run_litert(src.tflite, feed.x, "LiteRT float")
    else:
        float_out = None
    int8_out = runners.run_litert(data, feed.x, "LiteRT int8")
    return Pivot(int8, rows, src.tflite if src.tflite_kind == "float" else None, float_out, int8_out, how, feed.x)
