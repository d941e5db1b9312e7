"""Facts read from a .tflite graph: per-op rows (layer, shape, params, MACs) and the ops each target lacks.

MACs are counted on the converted graph, the ops the runtimes execute (BatchNorm
folded, Rescaling folded or kept as MUL/ADD), not on Keras layer classes.
Tensor names written by TensorFlow's converter carry the Keras layer name
("functional_1/sep1_1/separable_conv2d"), so each op can name the layer it came from.
"""

import re
from dataclasses import dataclass

import numpy as np

from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError

# TFLite builtin op -> MACs from (filter shape, output shape). Filter layouts: CONV_2D [Cout, kh, kw, Cin],
# DEPTHWISE_CONV_2D [1, kh, kw, Cout], FULLY_CONNECTED [out, in], TRANSPOSE_CONV [Cout, kh, kw, Cin].
MACS = {
    "CONV_2D": lambda f, out: int(np.prod(out[1:-1])) * int(np.prod(f)),
    "DEPTHWISE_CONV_2D": lambda f, out: int(np.prod(out[1:-1])) * int(np.prod(f)),
    "FULLY_CONNECTED": lambda f, out: int(np.prod(f)) * int(np.prod(out[:-1])),
    "TRANSPOSE_CONV": lambda f, out: int(np.prod(out[1:-1])) * int(np.prod(f[1:])),
}
# Inputs of these ops that are weights: (index of the filter among the op's inputs).
FILTER_INPUT = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1}


@dataclass(frozen=True)
class OpRow:
    """One operator of the graph, in execution order."""

    index: int
    op: str  # builtin name, e.g. "CONV_2D"
    layer: str  # Keras layer it came from, or the output tensor's name when unknown
    output_name: str
    output_shape: tuple[int, ...]
    output_dtype: str
    params: int  # elements of its constant inputs (weights, biases)
    macs: int


def layer_of(tensor_name: str) -> str:
    """The Keras layer name in a converter tensor name ('functional_1/conv_a_1/BiasAdd;...' -> 'conv_a')."""
    first = tensor_name.split(";")[0]
    parts = first.split("/")
    name = parts[1] if len(parts) > 2 else parts[0]
    return re.sub(r"_1$", "", name)


def op_rows(tflite: bytes) -> list[OpRow]:
    """Per-op rows of a (validated) .tflite, read with the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():
        it = Interpreter(model_content=bytes(tflite))
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    const = constant_tensors(bytes(tflite))
    rows = []
    for op in it._get_ops_details():  # the public API has no per-op view
        outs = [i for i in op["outputs"] if i >= 0]
        out = tensors[outs[0]] if outs else {"name": "", "shape": (), "dtype": np.int8}
        shape = tuple(int(d) for d in out["shape"])
        consts = [tensors[i] for i in op["inputs"] if i in const and i in tensors]
        params = sum(int(np.prod(t["shape"])) for t in consts)
        macs = 0
        name = op["op_name"]
        if name in MACS and len(op["inputs"]) > FILTER_INPUT[name] and op["inputs"][FILTER_INPUT[name]] >= 0:
            macs = MACS[name](tensors[op["inputs"][FILTER_INPUT[name]]]["shape"], shape)
        rows.append(OpRow(int(op["index"]), name, layer_of(out["name"]), out["name"], shape,
                          np.dtype(out["dtype"]).name, params, int(macs)))
    return rows


def constant_tensors(raw: bytes) -> set[int]:
    """Indices (first subgraph) of tensors whose buffer holds data: weights, biases, constants."""
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.Model.GetRootAs(raw, 0)
        g = model.Subgraphs(0)
        out = set()
        for i in range(g.TensorsLength()):
            b = g.Tensors(i).Buffer()
            if 0 < b < model.BuffersLength() and model.Buffers(b).DataLength() > 0:
                out.add(i)
        return out
    except Exception as err:  # verified by LiteRT first; a failure here is still the file's fault
        raise EdgecnnError(f"cannot read the tensors of the .tflite ({type(err).__name__}); "
                           "the file may be corrupt") from None


def total_macs(rows: list[OpRow]) -> int:
    return sum(r.macs for r in rows)


def missing_ops(rows: list[OpRow], supported: set[str], target: str, what: str) -> str | None:
    """None when every op is in `supported`, else the one-line reason, op by op with its Keras layers."""
    lacking: dict[str, list[str]] = {}
    for r in rows:
        if r.op not in supported:
            lacking.setdefault(r.op, [])
            if r.layer not in lacking[r.op]:
                lacking[r.op].append(r.layer)
    if not lacking:
        return None
    listed = "; ".join(f"{op} (from {', '.join(layers[:4])}{', ...' if len(layers) > 4 else ''})"
                       for op, layers in sorted(lacking.items()))
    return (f"target {target}: {what} cannot run {len(lacking)} op(s) of the int8 model: {listed}. "
            f"It runs: {', '.join(sorted(supported))}")


def check_dtypes(rows: list[OpRow]) -> None:
    """Raise for op outputs of a dtype no target reads (e.g. float64), naming the op."""
    odd = [r for r in rows if r.output_dtype not in ("int8", "int32", "float32", "uint8", "int16", "bool", "int64")]
    if odd:
        r = odd[0]
        raise EdgecnnError(f"op {r.index} {r.op} (layer {r.layer}) outputs {r.output_dtype}; unsupported dtype")
