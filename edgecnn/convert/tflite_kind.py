"""What a .tflite file is: validated first, then classified by its tensor types.

Validation runs LiteRT's flatbuffer verifier (the interpreter refuses a buffer
that fails it) before any Python code walks the file, so a truncated or
corrupted file ends in one EdgecnnError instead of a struct.error,
UnicodeDecodeError or TypeError from deep inside the generated schema reader.

Classification (the one table, KINDS):
- "int8": full-integer, int8 input and output: the pivot every target reads;
- "int8-float-io": integer inside, float input/output (QUANTIZE/DEQUANTIZE at the edges);
- "float": every activation and weight float32;
- "dynamic-range": float activations with int8 weights (the converter's "hybrid" mode);
- "float16": float16 weights dequantized at run time.
"""

import functools
from dataclasses import dataclass

import numpy as np

from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError

MAGIC = b"TFL3"
_HOW_TO_INT8 = ("convert the float model with a representative data set, "
                "converter.optimizations = [tf.lite.Optimize.DEFAULT], "
                "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8], "
                "inference_input_type = inference_output_type = tf.int8 (or pass the float .keras/.tflite "
                "to `edgecnn build`, which does that)")


@dataclass(frozen=True)
class Kind:
    """One class of .tflite file: what it is, and None or the refusal's reason."""

    description: str
    refusal: str | None = None  # None: edgecnn builds it


KINDS: dict[str, Kind] = {
    "int8": Kind("full-integer int8 .tflite (int8 input and output)"),
    "float": Kind("float32 .tflite (quantized to full-integer int8 on calibration data)"),
    "int8-float-io": Kind("integer-quantized .tflite with float32 input/output",
                          "edgecnn's targets feed int8 input and read int8 output; re-convert with "
                          "inference_input_type = inference_output_type = tf.int8, or pass the float model"),
    "dynamic-range": Kind("dynamic-range (hybrid) quantized .tflite: int8 weights, float32 activations",
                          "TFLM and the C engine run full-integer models only; " + _HOW_TO_INT8),
    "float16": Kind("float16-quantized .tflite (float16 weights, float32 activations)",
                    "TFLM and the C engine run full-integer models only; " + _HOW_TO_INT8),
    "other": Kind(".tflite with tensor types edgecnn does not build (e.g. int16 activations)",
                  "expected a full-integer int8 or a float32 model; " + _HOW_TO_INT8),
}


def validate(raw: bytes, where: str) -> None:
    """EdgecnnError unless raw is a TFLite flatbuffer that LiteRT's verifier accepts and whose ops prepare."""
    if len(raw) < 8 or raw[4:8] != MAGIC:
        raise EdgecnnError(f"{where} is not a TFLite flatbuffer (no 'TFL3' identifier at byte 4); "
                           "the file may be truncated, corrupt or of another format")
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        with quiet():
            Interpreter(model_content=bytes(raw))  # the flatbuffer verifier; preparing ops comes next
    except Exception as err:  # ValueError from the verifier
        raise _invalid(where, err) from None
    aborted = _prepare_aborts(bytes(raw))
    if aborted:
        raise EdgecnnError(f"{where}: LiteRT's kernels abort the process while preparing the model's ops "
                           f"({aborted}); TFLM's kernels make the same checks. Typical cause: a tensor scale "
                           "outside the kernels' range, e.g. SOFTMAX on logits whose range is near zero (an "
                           "untrained or collapsed model); check the float model's outputs and the calibration data")
    try:
        with quiet():  # prepare every op with both kernel sets the build runs (known not to abort now)
            for resolver in (OpResolverType.AUTO, OpResolverType.BUILTIN_REF):
                it = Interpreter(model_content=bytes(raw), experimental_op_resolver_type=resolver)
                it.allocate_tensors()
            # Every name and op detail the later stages read: the verifier does not check string contents.
            it.get_tensor_details()
            it._get_ops_details()
            it.get_signature_list()
    except Exception as err:  # RuntimeError from ops that cannot prepare
        raise _invalid(where, err) from None


def _invalid(where: str, err: Exception) -> EdgecnnError:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return EdgecnnError(f"{where} is not a valid TFLite model (LiteRT: {msg[:300]}); "
                        "the file may be truncated or corrupt")


_PREPARE_CHILD = ("import sys\n"
                  "from ai_edge_litert.interpreter import Interpreter, OpResolverType\n"
                  "raw = open(sys.argv[1], 'rb').read()\n"
                  "for r in (OpResolverType.AUTO, OpResolverType.BUILTIN_REF):\n"
                  "    try:\n"
                  "        Interpreter(model_content=raw, experimental_op_resolver_type=r).allocate_tensors()\n"
                  "    except Exception:\n"
                  "        pass  # an ordinary error: validate() reports it in-process\n")


@functools.lru_cache(maxsize=64)
def _prepare_aborts(raw: bytes) -> str | None:
    """None, or how LiteRT died preparing the ops: some kernels' checks abort() instead of failing,
    so they are first tried in a child process (once per distinct model)."""
    import signal
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="edgecnn-prepare-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(raw)
        res = subprocess.run([sys.executable, "-c", _PREPARE_CHILD, str(path)], capture_output=True, text=True)
    if res.returncode == 0:
        return None
    if res.returncode < 0:
        return f"killed by {signal.Signals(-res.returncode).name}"
    return f"exit status {res.returncode}"


def _tensor_types(raw: bytes) -> tuple[set, set, str, str]:
    """(activation dtypes, constant dtypes, input dtype, output dtype) of every subgraph's tensors."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():
        it = Interpreter(model_content=bytes(raw))
    acts, consts = set(), set()
    from edgecnn.convert.graphinfo import constant_tensors

    const_idx = constant_tensors(raw)
    for t in it.get_tensor_details():
        name = np.dtype(t["dtype"]).name
        (consts if t["index"] in const_idx else acts).add(name)
    ins = {np.dtype(d["dtype"]).name for d in it.get_input_details()}
    outs = {np.dtype(d["dtype"]).name for d in it.get_output_details()}
    return acts, consts, ",".join(sorted(ins)), ",".join(sorted(outs))


def classify(raw: bytes) -> str:
    """The key of KINDS for a validated .tflite."""
    acts, consts, t_in, t_out = _tensor_types(raw)
    if "float16" in consts:
        return "float16"
    float_acts = "float32" in acts
    if not float_acts and {t_in, t_out} == {"int8"}:
        return "int8"
    if float_acts and (consts & {"int8"}) and not (acts & {"int8", "uint8", "int16"}):
        return "dynamic-range"
    if acts & {"int8"} and t_in == "float32":
        return "int8-float-io"
    if not (acts | consts) & {"int8", "uint8", "int16", "float16"}:
        return "float"
    return "other"


def check_buildable(raw: bytes, where: str) -> str:
    """Validate and classify; EdgecnnError naming the kind and the way out for a refused one."""
    validate(raw, where)
    kind = classify(raw)
    spec = KINDS[kind]
    if spec.refusal:
        raise EdgecnnError(f"{where} is a {spec.description}: {spec.refusal}")
    return kind
