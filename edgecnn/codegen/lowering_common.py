"""Lowering of the common ops without weights onto the kernels of ec_elementwise.c.

ADD / SUB / MUL / MAXIMUM / MINIMUM with 4-D broadcasting (and constant
operands), PRELU, RELU / RELU6 / RELU_N1_TO_1 / LEAKY_RELU / QUANTIZE (one
requantization kernel), CONCATENATION, PAD of any rank <= 4, STRIDED_SLICE /
TRANSPOSE / RESIZE_NEAREST_NEIGHBOR (one gather through per-axis offset
tables) and REDUCE_MAX. Multipliers are computed as TFLite's Prepare does,
including where it divides in float32 rather than double.
"""

import numpy as np

from edgecnn.codegen import lowering_misc, quant
from edgecnn.codegen.ir import ConstArray, ConstRef, CStruct, Lowered
from edgecnn.codegen.lowering import _fail, _qp, activation
from edgecnn.codegen.tflite_reader import Graph, Operator, Tensor

BINARY_CODES = {"ADD": 0, "SUB": 1, "MUL": 2, "MAXIMUM": 3, "MINIMUM": 4, "PRELU": 5}


def _f32(x) -> np.float32:
    return np.float32(x)


def shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A shape of rank <= 4 as 4-D, ones in front (TFLite's RuntimeShape::ExtendedShape)."""
    if len(shape) > 4:
        raise ValueError(f"rank {len(shape)} > 4")
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def strides4(shape: tuple[int, ...]) -> list[int]:
    s4 = shape4(shape)
    return [int(np.prod(s4[k + 1:], dtype=np.int64)) for k in range(4)]


def _operand(g: Graph, op: Operator, idx: int) -> Tensor:
    """An int8 per-tensor input that may be a constant (then its data rides along in flash)."""
    t = g.tensors[idx]
    if t.data is None:
        return activation(g, op, idx)
    if t.dtype != np.int8 or t.scale.size != 1 or len(t.shape) > 4:
        raise _fail(op, f"constant {t.name!r} is {t.dtype} {list(t.shape)} with {t.scale.size} scales; "
                        "expected int8, per-tensor, rank <= 4")
    return t


def _broadcast_strides(op: Operator, t: Tensor, out_shape: tuple[int, ...]) -> list[int]:
    s_in, s_out, st = shape4(t.shape), shape4(out_shape), strides4(t.shape)
    for k in range(4):
        if s_in[k] != s_out[k] and s_in[k] != 1:
            raise _fail(op, f"input {list(t.shape)} does not broadcast to the output {list(out_shape)}")
    return [0 if s_in[k] == 1 and s_out[k] != 1 else st[k] for k in range(4)]


def _binary(g: Graph, op: Operator, layer: str, a: Tensor, b: Tensor, y: Tensor, fields: dict) -> Lowered:
    consts = [ConstArray(layer, f"const{i + 1}", "int8_t", t.data.reshape(-1)) for i, t in enumerate((a, b))
              if t.data is not None]
    fields = {"op": BINARY_CODES[op.opcode], "dims": list(shape4(y.shape)),
              "stride1": _broadcast_strides(op, a, y.shape), "stride2": _broadcast_strides(op, b, y.shape),
              "in1_offset": -_qp(a)[1], "in2_offset": -_qp(b)[1], "out_offset": _qp(y)[1],
              "left_shift": 0, "in1_mult": 0, "in1_shift": 0, "in2_mult": 0, "in2_shift": 0,
              "out_mult": 0, "out_shift": 0, **fields,
              "const1": ConstRef("const1") if a.data is not None else None,
              "const2": ConstRef("const2") if b.data is not None else None}
    acts = [t.index for t in (a, b) if t.data is None]
    if not acts:
        raise _fail(op, "both inputs are constants; expected at least one activation")
    kernel = "ec_binary_s8" if len(acts) == 2 else "ec_binary_const_s8"
    return Lowered(layer, (op.opcode,), kernel, [CStruct(layer, "ec_binary_params", fields)], consts, acts, y.index)


def lower_binary(g: Graph, op: Operator, layer: str) -> Lowered:
    """ADD, SUB, MUL, MAXIMUM, MINIMUM of two int8 tensors, with broadcasting."""
    a, b = _operand(g, op, op.inputs[0]), _operand(g, op, op.inputs[1])
    y = activation(g, op, op.outputs[0])
    if op.opcode == "ADD" and a.shape == b.shape == y.shape and a.data is None and b.data is None:
        return lowering_misc.lower_add(g, op, layer)  # the same-shape kernel (no index arithmetic)
    (s1, _), (s2, _), (so, zo) = _qp(a), _qp(b), _qp(y)
    act_min, act_max = quant.activation_range(int(op.options.get("fusedActivationFunction", 0)), so, zo)
    fields = {"act_min": act_min, "act_max": act_max}
    if op.opcode in ("ADD", "SUB"):
        fields |= quant.add_params(s1, s2, so)
    elif op.opcode == "MUL":
        # TFLite's int8 MUL: double(in1 * in2 (float)) / out, as float arithmetic.
        fields["out_mult"], fields["out_shift"] = quant.quantize_multiplier(float(_f32(s1) * _f32(s2) / _f32(so)))
    elif _qp(a) != _qp(y) or _qp(b) != _qp(y):
        raise _fail(op, f"quantization {_qp(a)}, {_qp(b)} -> {_qp(y)}; expected the same for all (TFLite compares raw values)")
    return _binary(g, op, layer, a, b, y, fields)


def lower_prelu(g: Graph, op: Operator, layer: str) -> Lowered:
    """PRELU: x >= 0 rescaled, else x * alpha rescaled; alpha is a constant broadcast over the input."""
    x, alpha, y = activation(g, op, op.inputs[0]), _operand(g, op, op.inputs[1]), activation(g, op, op.outputs[0])
    (s_in, _), (s_a, _), (s_out, _) = _qp(x), _qp(alpha), _qp(y)
    m1, e1 = quant.quantize_multiplier(float(_f32(s_in) / _f32(s_out)))
    m2, e2 = quant.quantize_multiplier(float(_f32(s_in) * _f32(s_a) / _f32(s_out)))
    fields = {"in1_mult": m1, "in1_shift": e1, "out_mult": m2, "out_shift": e2, "act_min": -128, "act_max": 127}
    return _binary(g, op, layer, x, alpha, y, fields)


def lower_requant(g: Graph, op: Operator, layer: str) -> Lowered:
    """RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU and QUANTIZE (int8 -> int8): x - zp_in rescaled per sign."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    if x.size != y.size:
        raise _fail(op, f"{list(x.shape)} -> {list(y.shape)}; expected the same size")
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    if op.opcode == "QUANTIZE":  # Prepare divides the scales as doubles
        pos = neg = quant.quantize_multiplier(float(s_in) / float(s_out))
    else:  # the activations divide in float32
        pos = neg = quant.quantize_multiplier(float(_f32(s_in) / _f32(s_out)))
    if op.opcode == "LEAKY_RELU":
        neg = quant.quantize_multiplier(float(_f32(s_in) * _f32(op.options.get("alpha", 0.2)) / _f32(s_out)))
    fused = {"RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}.get(op.opcode, 0)
    act_min, act_max = quant.activation_range(fused, s_out, z_out)
    fields = {"size": y.size, "in_zero_point": z_in, "out_zero_point": z_out, "pos_mult": pos[0], "pos_shift": pos[1],
              "neg_mult": neg[0], "neg_shift": neg[1], "act_min": act_min, "act_max": act_max}
    return Lowered(layer, (op.opcode,), "ec_requant_s8", [CStruct(layer, "ec_requant_params", fields)], [],
                   [x.index], y.index)


def _same_quant(op: Operator, tensors: list[Tensor], y: Tensor) -> None:
    for t in tensors:
        if _qp(t) != _qp(y):
            raise _fail(op, f"input {t.name!r} quantization {_qp(t)} differs from the output's {_qp(y)}; "
                            "expected the same (the int8 kernel copies values)")


def lower_concat(g: Graph, op: Operator, layer: str) -> Lowered:
    xs = [activation(g, op, i) for i in op.inputs]
    y = activation(g, op, op.outputs[0])
    _same_quant(op, xs, y)
    if int(op.options.get("fusedActivationFunction", 0)) != 0:
        raise _fail(op, "fused activation; expected NONE")
    if len(xs) > 16:
        raise _fail(op, f"{len(xs)} inputs; the kernel takes at most 16")
    axis = int(op.options.get("axis", 0)) % len(y.shape)
    inner = [int(np.prod(x.shape[axis:], dtype=np.int64)) for x in xs]
    fields = {"n": len(xs), "outer": int(np.prod(y.shape[:axis], dtype=np.int64)), "inner": inner + [0] * (16 - len(xs))}
    return Lowered(layer, (op.opcode,), "ec_concat_s8", [CStruct(layer, "ec_concat_params", fields)], [],
                   [x.index for x in xs], y.index, pack_inputs=True)


def lower_pad(g: Graph, op: Operator, layer: str) -> Lowered:
    """PAD of a rank <= 4 tensor (Conv1D's causal padding is 3-D) on ec_pad_s8's (1, H, W, C) view."""
    x = activation(g, op, op.inputs[0])
    if len(x.shape) == 4:
        return lowering_misc.lower_pad(g, op, layer)
    pads = lowering_misc._const_ints(g, op, op.inputs[1], "paddings").reshape(-1, 2)
    pads4 = np.concatenate([np.zeros((4 - len(pads), 2), np.int64), pads])
    if pads4[:2].any() or (pads4 < 0).any() or _qp(x) != _qp(activation(g, op, op.outputs[0])):
        raise _fail(op, f"paddings {pads.tolist()} of {list(x.shape)}; expected non-negative, no batch padding, "
                        "same quantization")
    _, h, w, c = shape4(x.shape)
    fields = {"in_h": h, "in_w": w, "in_c": c, "pad_top": int(pads4[1, 0]), "pad_bottom": int(pads4[1, 1]),
              "pad_left": int(pads4[2, 0]), "pad_right": int(pads4[2, 1]), "pad_front": int(pads4[3, 0]),
              "pad_back": int(pads4[3, 1]), "value": _qp(x)[1]}
    return Lowered(layer, (op.opcode,), "ec_pad_s8", [CStruct(layer, "ec_pad_params", fields)], [],
                   [x.index], op.outputs[0])


def lower_sigmoid(g: Graph, op: Operator, layer: str) -> Lowered:
    """LOGISTIC and TANH: TFLite's integer reference (as TFLite Micro's Prepare sets it up)."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    want = (1 / 256, -128) if op.opcode == "LOGISTIC" else (1 / 128, 0)
    if z_out != want[1] or abs(s_out - want[0]) > 1e-3 * want[0]:
        raise _fail(op, f"output scale {s_out} zero point {z_out}; expected {want[0]} and {want[1]}")
    input_integer_bits = 4
    mult, shift = quant.quantize_multiplier(float(s_in) * float(1 << (31 - input_integer_bits)))
    radius = int(np.floor(((1 << input_integer_bits) - 1) * float(1 << (31 - input_integer_bits)) / 2.0 ** shift))
    fields = {"size": y.size, "in_zero_point": z_in, "in_mult": mult, "in_shift": shift, "range_radius": radius,
              "is_tanh": int(op.opcode == "TANH")}
    return Lowered(layer, (op.opcode,), "ec_logistic_s8", [CStruct(layer, "ec_sigmoid_params", fields)], [],
                   [x.index], y.index)


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier: (Q15 multiplier, exponent)."""
    m, e = quant.quantize_multiplier(real)
    return (32767 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16), e


def lower_hard_swish(g: Graph, op: Operator, layer: str) -> Lowered:
    """HARD_SWISH: TFLite's Prepare works in float32 (input scale / 128 against the output scale and 3/32768)."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    hires = _f32(1.0 / 128.0) * _f32(s_in)
    out_mult, out_exp = _int16_multiplier(float(hires / _f32(s_out)))
    if out_exp > 0:
        raise _fail(op, f"output scale {s_out} below input scale / 128 ({float(hires)}); TFLite requires the exponent <= 0")
    relu_mult, relu_exp = _int16_multiplier(float(hires / (_f32(3.0) / _f32(32768.0))))
    fields = {"size": y.size, "in_zero_point": z_in, "out_zero_point": z_out, "out_mult16": out_mult,
              "reluish_mult16": relu_mult, "out_exp": out_exp, "reluish_exp": relu_exp}
    return Lowered(layer, (op.opcode,), "ec_hard_swish_s8", [CStruct(layer, "ec_hard_swish_params", fields)], [],
                   [x.index], y.index)
