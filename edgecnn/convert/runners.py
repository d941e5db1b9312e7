"""Run evaluation images through each real runtime, one image at a time (the deployed batch size).

Every function takes inputs (N, ...) as float32 in the model's input units
(feed.py made them from pixels once) and returns the raw model outputs
(N, K): float32 for float models, int8 for int8 models, which quantize the
inputs with their own input scale and zero point.
Shown as a Rich progress bar on a terminal, since the full test set takes seconds.
"""

from pathlib import Path

import numpy as np

from edgecnn.convert.quantize import TensorQuant
from edgecnn.convert.quiet import quiet
from edgecnn.convert.report import task


def model_units(x: np.ndarray) -> np.ndarray:
    """x as float32; uint8 pixels are refused (convert them once with feed.to_model_units)."""
    if x.dtype == np.uint8:
        raise TypeError("runners take float inputs in the model's units, not uint8 pixels: "
                        "convert them once with edgecnn.convert.feed.to_model_units(x, input_range)")
    return x.astype(np.float32)


def to_int8(x: np.ndarray, q: TensorQuant) -> np.ndarray:
    """Float inputs in model units (N, ...) -> int8 with the model's input quantization."""
    from edgecnn.convert.feed import quantize

    return quantize(model_units(x), q.scale, q.zero_point)


def _loop(label: str, x: np.ndarray, run_one) -> np.ndarray:
    out = []
    with task(label, len(x)) as advance:
        for img in x:
            out.append(np.array(run_one(img[None]))[0])
            advance()
    return np.stack(out)


def run_keras(model, x: np.ndarray) -> np.ndarray:
    """Keras float outputs (N, classes), batches of 250 (float results do not depend on batching beyond 1e-7)."""
    out = []
    with task("Keras float", len(x)) as advance:
        for i in range(0, len(x), 250):
            out.append(np.asarray(model(model_units(x[i:i + 250]), training=False)))
            advance(len(out[-1]))
    return np.concatenate(out)


def run_litert(tflite: bytes, x: np.ndarray, label: str, reference_kernels: bool = False) -> np.ndarray:
    """LiteRT with its default kernels (XNNPACK where it applies; what a phone app runs), or with its
    reference kernels: TFLite's integer arithmetic, which TFLM and MCU kernels implement. XNNPACK
    requantizes in float32, so on int8 models the two can differ by several LSB."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    with quiet():  # LiteRT announces its XNNPACK delegate on stderr
        it = Interpreter(model_content=tflite, num_threads=1, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
    if len(it.get_input_details()) > 1 or len(it.get_output_details()) > 1:
        return _run_litert_packed(it, x, label)
    din, dout = it.get_input_details()[0], it.get_output_details()[0]
    if din["dtype"] == np.int8:
        scale, zp = din["quantization"]
        x = to_int8(x, TensorQuant((), "int8", scale, zp))
    else:
        x = model_units(x)

    def one(img):
        it.set_tensor(din["index"], img)
        it.invoke()
        return it.get_tensor(dout["index"])

    return _loop(label, x, one)


def _quant(d: dict) -> TensorQuant:
    scale, zp = d["quantization"]
    return TensorQuant(tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]).name, float(scale), int(zp))


def _run_litert_packed(it, x: np.ndarray, label: str) -> np.ndarray:
    """Several inputs or outputs: packed inputs (multiio.py) in, packed outputs out; int8 models only."""
    from edgecnn.convert import multiio

    dins, douts = it.get_input_details(), it.get_output_details()
    xs = multiio.quantize(x, [_quant(d) for d in dins]) if dins[0]["dtype"] == np.int8 else model_units(x)
    shapes = [tuple(d["shape"]) for d in dins]

    def one(row):
        for d, part in zip(dins, multiio.split(row, shapes)):
            it.set_tensor(d["index"], part.astype(d["dtype"]))
        it.invoke()
        return multiio.join([it.get_tensor(d["index"]) for d in douts])

    return _loop(label, xs, one)


def run_tflm(tflite: bytes, x: np.ndarray, q_in: TensorQuant, arena_bytes: int, q_ins=None, n_outputs: int = 1) -> np.ndarray:
    """The tflite_micro interpreter (TFLM's kernels, compiled for the host) on int8 inputs.

    With several inputs or outputs (q_ins: every input's TensorQuant), x and the result are packed (multiio.py).
    """
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(tflite, arena_size=arena_bytes)
    if q_ins is not None and (len(q_ins) > 1 or n_outputs > 1):
        from edgecnn.convert import multiio

        def packed(row):
            for i, part in enumerate(multiio.split(row, [q.shape for q in q_ins])):
                it.set_input(part, i)
            it.invoke()
            return multiio.join([it.get_output(i).copy() for i in range(n_outputs)])

        return _loop("TFLM int8", multiio.quantize(x, q_ins), packed)

    def one(img):
        it.set_input(img, 0)
        it.invoke()
        return it.get_output(0).copy()

    return _loop("TFLM int8", to_int8(x, q_in), one)


def ort_session(path: Path, threads: int = 1):
    """An onnxruntime CPU session on an .onnx / .ort file, int8 arithmetic exact on every x86 CPU.

    On x86 CPUs without VNNI (AVX2, AVX-512 without VNNI; this machine's AMD EPYC) onnxruntime's
    u8s8 int8 GEMM adds pairs of u8 x s8 products in saturating int16 (VPMADDUBSW), so a conv or
    dense layer with large weights comes out wrong (58 LSB against LiteRT on a 640-input dense
    model). The session option `session.x64quantprecision` makes onnxruntime widen to int16 first
    where that can happen: slower, and the integers LiteRT and the C engine compute.
    onnxruntime 1.32's transformer behind that option fails on some graphs ("Attempt to replace
    the existing tensor", a residual CNN on AVX2); such a graph runs with the basic graph
    optimizations only, which leave the QuantizeLinear / DequantizeLinear pairs unfused, so no
    int8 GEMM runs at all (float arithmetic between them, within the verification's 1 LSB).
    """
    import onnxruntime as ort

    def session(precision: bool):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4
        if precision:
            opts.add_session_config_entry("session.x64quantprecision", "1")
        else:
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    try:
        return session(True)
    except Exception as e:  # onnxruntime raises its own Fail / RuntimeException types
        if "Attempt to replace the existing tensor" not in str(e):
            raise
        return session(False)


def run_onnx(path: Path, x: np.ndarray, label: str, q_in: TensorQuant | None = None) -> np.ndarray:
    """onnxruntime (CPU, one thread) on an .onnx or .ort file; int8 inputs when q_in is given."""
    sess = ort_session(path)
    name = sess.get_inputs()[0].name
    xs = to_int8(x, q_in) if q_in is not None else model_units(x)
    return _loop(label, xs, lambda img: sess.run(None, {name: img})[0])
