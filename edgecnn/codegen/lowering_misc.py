"""Lowering of the ops without weights: MEAN, SOFTMAX, ADD, PAD, RESHAPE."""

import numpy as np

from edgecnn.codegen import quant
from edgecnn.codegen.ir import CStruct, Lowered
from edgecnn.codegen.lowering import _fail, _qp, activation, hwc
from edgecnn.codegen.tflite_reader import Graph, Operator


# Ops that only relabel a shape: the output shares the input's buffer.
ALIAS_OPS = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def _const_ints(g: Graph, op: Operator, idx: int, what: str) -> np.ndarray:
    t = g.tensors[idx]
    if t.data is None:
        raise _fail(op, f"{what} {t.name!r} is computed at run time; expected a constant")
    return t.data.astype(np.int64)


def lower_mean(g: Graph, op: Operator, layer: str) -> Lowered:
    """MEAN over H and W of a (1, H, W, C) tensor (global average pooling)."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    h, w, c = hwc(x)
    axes = sorted({int(a) % 4 for a in _const_ints(g, op, op.inputs[1], "axis").reshape(-1)})
    if axes != [1, 2] or y.size != c:
        raise _fail(op, f"reduces axes {axes} of {list(x.shape)}; expected axes [1, 2] (global pooling of NHWC)")
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    mult, shift = quant.mean_multiplier(s_in, s_out, h * w)
    fields = {"h": h, "w": w, "c": c, "in_zero_point": z_in, "out_zero_point": z_out, "mult": mult, "shift": shift}
    return Lowered(layer, (op.opcode,), "ec_mean_hw_s8", [CStruct(layer, "ec_mean_params", fields)], [],
                   [x.index], y.index)


def lower_softmax(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    s_out, z_out = _qp(y)
    if z_out != -128 or abs(s_out - 1.0 / 256) > 0.001 / 256:
        raise _fail(op, f"output scale {s_out} zero point {z_out}; expected 1/256 and -128")
    depth = x.shape[-1]
    mult, shift, diff_min = quant.softmax_params(float(op.options.get("beta", 1.0)), _qp(x)[0])
    fields = {"rows": x.size // depth, "depth": depth, "input_multiplier": mult, "input_left_shift": shift,
              "diff_min": diff_min}
    return Lowered(layer, (op.opcode,), "ec_softmax_s8", [CStruct(layer, "ec_softmax_params", fields)], [],
                   [x.index], y.index)


def lower_add(g: Graph, op: Operator, layer: str) -> Lowered:
    a, b = activation(g, op, op.inputs[0]), activation(g, op, op.inputs[1])
    y = activation(g, op, op.outputs[0])
    if a.shape != b.shape or a.shape != y.shape:
        raise _fail(op, f"shapes {list(a.shape)} + {list(b.shape)} -> {list(y.shape)}; expected equal shapes (no broadcasting)")
    (s1, z1), (s2, z2), (so, zo) = _qp(a), _qp(b), _qp(y)
    act_min, act_max = quant.activation_range(int(op.options.get("fusedActivationFunction", 0)), so, zo)
    fields = {"size": y.size, "in1_offset": -z1, "in2_offset": -z2, "out_offset": zo}
    fields |= quant.add_params(s1, s2, so)
    fields |= {"act_min": act_min, "act_max": act_max}
    return Lowered(layer, (op.opcode,), "ec_add_s8", [CStruct(layer, "ec_add_params", fields)], [],
                   [a.index, b.index], y.index)


def lower_pad(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    h, w, c = hwc(x)
    pads = _const_ints(g, op, op.inputs[1], "paddings").reshape(-1, 2)
    if pads.shape != (4, 2) or pads[0].any() or (pads < 0).any():
        raise _fail(op, f"paddings {pads.tolist()}; expected 4x2 non-negative with no batch padding")
    if _qp(x) != _qp(y):
        raise _fail(op, f"input {_qp(x)} and output {_qp(y)} quantization differ; expected the same")
    fields = {"in_h": h, "in_w": w, "in_c": c, "pad_top": int(pads[1, 0]), "pad_bottom": int(pads[1, 1]),
              "pad_left": int(pads[2, 0]), "pad_right": int(pads[2, 1]), "pad_front": int(pads[3, 0]),
              "pad_back": int(pads[3, 1]), "value": _qp(y)[1]}
    return Lowered(layer, (op.opcode,), "ec_pad_s8", [CStruct(layer, "ec_pad_params", fields)], [],
                   [x.index], y.index)


def lower_reshape(g: Graph, op: Operator, layer: str) -> Lowered:
    """RESHAPE moves no data: the planner lets the output share the input's buffer."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    if x.size != y.size or _qp(x) != _qp(y):
        raise _fail(op, f"{list(x.shape)} -> {list(y.shape)} changes size or quantization; expected neither")
    source = x.index
    while (p := g.producer(source)) is not None and g.operators[p].opcode in ALIAS_OPS:
        source = g.operators[p].inputs[0]
    # The caller's input and output are distinct buffers: a model that only
    # reshapes its input into its output has to copy.
    kernel = "ec_copy_s8" if source in g.inputs and y.index in g.outputs else None
    return Lowered(layer, (op.opcode,), kernel, [], [], [x.index], y.index, args=[str(y.size)])
