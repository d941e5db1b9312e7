"""Fold shape arithmetic into constants at generation time.

TF's converter keeps a model's batch dimension dynamic: a Keras `Flatten`
from `TFLiteConverter.from_keras_model` becomes SHAPE -> STRIDED_SLICE ->
PACK feeding RESHAPE's shape input. The engine runs batch 1, where every
shape is static, so any operator whose inputs are all known (constants, or
SHAPE of a tensor whose shape is fixed) and whose outputs are plain integers
(not int8 activations) is evaluated here with NumPy and removed. Operators
that do not fold stay and go through the op table as usual.
"""

import dataclasses

import numpy as np

from edgecnn.codegen.tflite_reader import Graph, Operator, Tensor


def _slice(x: np.ndarray, begin, end, stride, o: dict) -> np.ndarray:
    if int(o.get("ellipsisMask", 0)) or int(o.get("newAxisMask", 0)) or o.get("offset", False):
        raise ValueError("unsupported strided slice masks")
    index, shrink = [], []
    for k in range(x.ndim):
        if (int(o.get("shrinkAxisMask", 0)) >> k) & 1:
            index.append(int(begin[k]))
            shrink.append(k)
            continue
        b = None if (int(o.get("beginMask", 0)) >> k) & 1 else int(begin[k])
        e = None if (int(o.get("endMask", 0)) >> k) & 1 else int(end[k])
        index.append(slice(b, e, int(stride[k])))
    return np.asarray(x[tuple(index)])


def _evaluate(op: Operator, g: Graph, known: dict) -> np.ndarray:
    """The output value of a foldable op; ValueError/KeyError/IndexError if it does not fold."""
    if op.opcode == "SHAPE":
        t = g.tensors[op.inputs[0]]
        return np.asarray(t.shape, np.int64 if int(op.options.get("outType", 2)) == 4 else np.int32)
    vals = [known[i] for i in op.inputs if i >= 0]
    o = op.options
    rules = {
        "STRIDED_SLICE": lambda: _slice(vals[0], vals[1], vals[2], vals[3], o),
        "PACK": lambda: np.stack(vals, axis=int(o.get("axis", 0))),
        "CONCATENATION": lambda: np.concatenate(vals, axis=int(o.get("axis", 0))),
        "RESHAPE": lambda: vals[0].reshape([int(d) for d in (vals[1] if len(vals) > 1 else o["newShape"])]),
        "GATHER": lambda: np.take(vals[0], vals[1], axis=int(o.get("axis", 0))),
        "MUL": lambda: vals[0] * vals[1],
        "ADD": lambda: vals[0] + vals[1],
        "SUB": lambda: vals[0] - vals[1],
        "REDUCE_PROD": lambda: np.prod(vals[0], axis=tuple(int(a) for a in np.ravel(vals[1])),
                                       keepdims=bool(o.get("keepDims", False))),
        "SQUEEZE": lambda: vals[0].reshape(g.tensors[op.outputs[0]].shape),
        "EXPAND_DIMS": lambda: vals[0].reshape(g.tensors[op.outputs[0]].shape),
        "CAST": lambda: vals[0],
    }
    if op.opcode not in rules:
        raise KeyError(op.opcode)
    return rules[op.opcode]()


def _plain_int(t: Tensor) -> bool:
    """An integer tensor that carries no quantization: shape arithmetic, not an activation."""
    return t.dtype in (np.int32, np.int64) and t.scale.size == 0


def fold_constants(g: Graph) -> Graph:
    """The graph with its shape-only operators evaluated into constant tensors."""
    known = {t.index: t.data for t in g.tensors if t.data is not None}
    tensors = list(g.tensors)
    kept = []
    for op in g.operators:
        out = [g.tensors[i] for i in op.outputs]
        inputs_known = op.opcode == "SHAPE" or all(i < 0 or i in known for i in op.inputs)
        if len(out) == 1 and _plain_int(out[0]) and inputs_known and out[0].index not in g.outputs:
            try:
                value = _evaluate(op, g, known)
            except (KeyError, ValueError, IndexError):
                value = None
            if value is not None:
                value = np.asarray(value, dtype=out[0].dtype)
                known[out[0].index] = value
                tensors[out[0].index] = dataclasses.replace(out[0], data=value, shape=tuple(value.shape))
                continue
        kept.append(op)
    ops = tuple(dataclasses.replace(op, index=i) for i, op in enumerate(kept))
    return dataclasses.replace(g, tensors=tuple(tensors), operators=ops)
