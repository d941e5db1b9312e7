"""Lowering functions: one TFLite int8 operator -> one kernel call (ir.Lowered).

Each function checks the int8 constraints its kernel relies on and raises an
EdgecnnError naming the op and what it expected; it never skips anything.
"""

import numpy as np

from edgecnn.codegen import quant
from edgecnn.codegen.ir import ConstArray, ConstRef, CStruct, Lowered
from edgecnn.codegen.tflite_reader import Graph, Operator, Tensor
from edgecnn.errors import EdgecnnError

SAME, VALID = 0, 1
INT16_MAX = 32767


def _fail(op: Operator, msg: str) -> EdgecnnError:
    return EdgecnnError(f"{op.opcode} (operator {op.index}): {msg}")


def activation(g: Graph, op: Operator, idx: int) -> Tensor:
    """An int8 per-tensor-quantized activation with batch 1."""
    t = g.tensors[idx]
    if t.data is not None:
        raise _fail(op, f"input {t.name!r} is a constant; expected an activation tensor")
    if t.dtype != np.int8:
        raise _fail(op, f"tensor {t.name!r} is {t.dtype}; expected int8 (full-integer quantized model)")
    if t.scale.size != 1:
        raise _fail(op, f"tensor {t.name!r} has {t.scale.size} scales; expected 1 (per-tensor activation)")
    if len(t.shape) > 4 or (len(t.shape) > 1 and t.shape[0] != 1):
        raise _fail(op, f"tensor {t.name!r} has shape {list(t.shape)}; expected batch 1 and rank <= 4")
    if any(d > INT16_MAX for d in t.shape):
        raise _fail(op, f"tensor {t.name!r} has shape {list(t.shape)}; expected every dimension <= {INT16_MAX}")
    return t


def hwc(t: Tensor) -> tuple[int, int, int]:
    """(H, W, C) of a (1, H, W, C) tensor."""
    if len(t.shape) != 4:
        raise EdgecnnError(f"tensor {t.name!r} has shape {list(t.shape)}; expected (1, H, W, C)")
    return t.shape[1], t.shape[2], t.shape[3]


def _qp(t: Tensor) -> tuple[float, int]:
    return float(t.scale[0]), int(t.zero_point[0])


def _padding(op: Operator, padding: int, size_in: int, k: int, stride: int, dil: int, size_out: int) -> int:
    """TFLite's ComputePaddingHeightWidth: the leading pad; checks the output size."""
    eff = (k - 1) * dil + 1
    if padding == SAME:
        expected = (size_in + stride - 1) // stride
    elif padding == VALID:
        expected = (size_in - eff + stride) // stride
    else:
        raise _fail(op, f"padding {padding}; expected SAME (0) or VALID (1)")
    if expected != size_out:
        raise _fail(op, f"output size {size_out} does not match {expected} from the op's padding and stride")
    total = max((size_out - 1) * stride + eff - size_in, 0)
    return total // 2 if padding == SAME else 0


def _weights(g: Graph, op: Operator, idx: int, channels: int, axis: int) -> Tensor:
    w = g.tensors[idx]
    if w.data is None or w.dtype != np.int8:
        raise _fail(op, f"weights {w.name!r} must be constant int8; got {w.dtype}{' activation' if w.data is None else ''}")
    if np.any(w.zero_point != 0):
        raise _fail(op, f"weights {w.name!r} have non-zero zero points; expected symmetric int8 weights")
    if w.scale.size not in (1, channels) or (w.scale.size > 1 and w.quantized_dimension != axis):
        raise _fail(op, f"weights {w.name!r} have {w.scale.size} scales on axis {w.quantized_dimension}; "
                        f"expected 1 or {channels} on axis {axis}")
    return w


def _bias(g: Graph, op: Operator, idx: int, channels: int, layer: str) -> ConstArray | None:
    if idx < 0:
        return None
    b = g.tensors[idx]
    if b.data is None or b.dtype != np.int32 or b.size != channels:
        raise _fail(op, f"bias {b.name!r} must be a constant int32 vector of {channels}; got {b.dtype} {list(b.shape)}")
    return ConstArray(layer, "bias", "int32_t", b.data.reshape(-1).astype(np.int32))


def _requant_consts(layer: str, mult: np.ndarray, shift: np.ndarray) -> list[ConstArray]:
    return [ConstArray(layer, "mult", "int32_t", mult.astype(np.int32)), ConstArray(layer, "shift", "int8_t", shift.astype(np.int8))]


def _eff_bias(w: np.ndarray, bias: ConstArray | None, in_offset: int) -> np.ndarray | None:
    """bias + in_offset * sum of each output channel's weights: (OC,) int32, or None if it overflows.

    w: (OC, taps) int8. Away from the padding, sum((x + off) * w) + bias = sum(x * w) + this.
    """
    eff = w.astype(np.int64).sum(axis=1) * in_offset
    if bias is not None:
        eff += bias.values.astype(np.int64)
    return eff.astype(np.int32) if np.abs(eff).max(initial=0) < 2 ** 31 else None


def _requant_32(w: np.ndarray, bias: ConstArray | None, shift: np.ndarray) -> int:
    """1 if every channel shifts right (shift in [-31, -1]) and 2 * acc fits in int32 for any input.

    w: (OC, taps). |acc| <= |bias| + 255 * sum|w| since x + in_offset lies in [-255, 255]. The
    SIMD kernels then requantize with one rounding high multiply (SMMULR) and a rounding shift
    instead of 64-bit arithmetic (multipliers >= 0.5, which shift left, are rare and keep the latter).
    """
    bound = np.abs(w.astype(np.int64)).sum(axis=1) * 255
    if bias is not None:
        bound += np.abs(bias.values.astype(np.int64))
    return int(bool(np.all(2 * bound < 2 ** 31) and np.all((shift >= -31) & (shift <= -1))))


def conv_weight_layout(w: np.ndarray) -> np.ndarray:
    """CONV_2D weights in the order the kernels read them (ec_conv_params in ec_kernels.h).

    w: (OC, taps) int8, taps in (KH, KW, IC) order. Each row padded with zeros to whole words of
    four taps, an odd OC padded with a row of zeros, then the rows of each channel pair
    interleaved a word at a time (channel 2k word g, channel 2k + 1 word g), so one LDRD of the
    SIMD core fetches a group of four taps for two channels. Returns (2 * ceil(OC / 2) * 4 * groups,).
    """
    oc, taps = w.shape
    groups = -(-taps // 4)
    rows = np.zeros((oc + oc % 2, 4 * groups), np.int8)
    rows[:oc, :taps] = w
    return rows.reshape(-1, 2, groups, 4).transpose(0, 2, 1, 3).reshape(-1)


def lower_conv(g: Graph, op: Operator, layer: str) -> Lowered:
    """CONV_2D and DEPTHWISE_CONV_2D share one parameter struct."""
    depthwise = op.opcode == "DEPTHWISE_CONV_2D"
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    (ih, iw, ic), (oh, ow, oc) = hwc(x), hwc(y)
    w = _weights(g, op, op.inputs[1], oc, 3 if depthwise else 0)
    if depthwise:
        if w.shape[0] != 1 or w.shape[3] != oc or oc % ic:
            raise _fail(op, f"filter {list(w.shape)} for {ic} -> {oc} channels; expected (1, KH, KW, {oc}) with a whole depth multiplier")
        kh, kw = w.shape[1], w.shape[2]
        wvals = w.data.reshape(-1)  # (KH, KW, OC) as the kernel reads it
    else:
        if w.shape[0] != oc or w.shape[3] != ic:
            raise _fail(op, f"filter {list(w.shape)} for {ic} -> {oc} channels; expected ({oc}, KH, KW, {ic}) (grouped conv unsupported)")
        kh, kw = w.shape[1], w.shape[2]
        wvals = conv_weight_layout(w.data.reshape(oc, -1))
    o = op.options
    sh, sw = int(o.get("strideH", 1)), int(o.get("strideW", 1))
    dh, dw = int(o.get("dilationHFactor", 1)), int(o.get("dilationWFactor", 1))
    pad_top = _padding(op, int(o.get("padding", SAME)), ih, kh, sh, dh, oh)
    pad_left = _padding(op, int(o.get("padding", SAME)), iw, kw, sw, dw, ow)
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    mult, shift = quant.per_channel_multipliers(s_in, w.scale, s_out, oc)
    act_min, act_max = quant.activation_range(int(o.get("fusedActivationFunction", 0)), s_out, z_out)
    bias = _bias(g, op, op.inputs[2] if len(op.inputs) > 2 else -1, oc, layer)
    per_channel_w = w.data.reshape(-1, oc).T if depthwise else w.data.reshape(oc, -1)  # (OC, taps)
    eff = None if depthwise else _eff_bias(per_channel_w, bias, -z_in)
    if eff is not None and oc % 2:  # the SIMD core loads the sums of a channel pair at once
        eff = np.concatenate([eff, np.zeros(1, np.int32)])
    # With eff_bias the bias array would be a second copy of it: the kernels that need the bias
    # (the reference ones) recover it from eff_bias and the weights (ec_bias, ec_conv_common.h).
    stored_bias = bias if eff is None else None
    consts = [ConstArray(layer, "weights", "int8_t", wvals)] + ([stored_bias] if stored_bias is not None else [])
    consts += _requant_consts(layer, mult, shift)
    consts += [ConstArray(layer, "eff_bias", "int32_t", eff)] if eff is not None else []
    fields = {"in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc, "k_h": kh, "k_w": kw,
              "stride_h": sh, "stride_w": sw, "dil_h": dh, "dil_w": dw, "pad_top": pad_top, "pad_left": pad_left,
              "depth_mult": oc // ic if depthwise else 1, "in_offset": -z_in, "out_offset": z_out,
              "act_min": act_min, "act_max": act_max, "weights": ConstRef("weights"),
              "bias": ConstRef("bias") if stored_bias is not None else None, "mult": ConstRef("mult"),
              "shift": ConstRef("shift"), "eff_bias": ConstRef("eff_bias") if eff is not None else None,
              "requant_32": _requant_32(per_channel_w, bias, shift)}
    macs = oh * ow * oc * kh * kw * (1 if depthwise else ic)
    return Lowered(layer, (op.opcode,), "ec_depthwise_conv2d_s8" if depthwise else "ec_conv2d_s8",
                   [CStruct(layer, "ec_conv_params", fields)], consts, [x.index], y.index, macs,
                   role="depthwise" if depthwise else "conv")


def lower_pool(g: Graph, op: Operator, layer: str) -> Lowered:
    """MAX_POOL_2D and AVERAGE_POOL_2D (input and output quantization must match)."""
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    (ih, iw, c), (oh, ow, oc) = hwc(x), hwc(y)
    if _qp(x) != _qp(y) or c != oc:
        raise _fail(op, f"input {_qp(x)} / output {_qp(y)} quantization or channels differ; expected the same")
    o = op.options
    kh, kw = int(o["filterHeight"]), int(o["filterWidth"])
    sh, sw = int(o["strideH"]), int(o["strideW"])
    pad_top = _padding(op, int(o["padding"]), ih, kh, sh, 1, oh)
    pad_left = _padding(op, int(o["padding"]), iw, kw, sw, 1, ow)
    act_min, act_max = quant.activation_range(int(o.get("fusedActivationFunction", 0)), *_qp(y))
    fields = {"in_h": ih, "in_w": iw, "c": c, "out_h": oh, "out_w": ow, "k_h": kh, "k_w": kw,
              "stride_h": sh, "stride_w": sw, "pad_top": pad_top, "pad_left": pad_left,
              "act_min": act_min, "act_max": act_max}
    is_max = op.opcode == "MAX_POOL_2D"
    return Lowered(layer, (op.opcode,), "ec_max_pool_s8" if is_max else "ec_avg_pool_s8",
                   [CStruct(layer, "ec_pool_params", fields)], [], [x.index], y.index,
                   role="max_pool" if is_max else "")


def fc_weight_layout(w: np.ndarray) -> np.ndarray:
    """FULLY_CONNECTED weights in the order the kernels read them (ec_fc_params in ec_kernels.h).

    w: (O, I) int8. With body = I & ~3 and quads = O & ~3: rows [0, quads) in tiles of four, each
    tile's words interleaved (row 0 word g, row 1 word g, row 2 word g, row 3 word g), so one LDM
    fetches a group of four inputs for four rows; then rows [quads, O) row by row over the body;
    then every row's I - body last weights. Returns (O * I,).
    """
    o, i = w.shape
    body, quads = i & ~3, o & ~3
    tiles = w[:quads, :body].reshape(quads // 4, 4, body // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([tiles.reshape(-1), w[quads:, :body].reshape(-1), w[:, body:].reshape(-1)])


def lower_fully_connected(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    w = g.tensors[op.inputs[1]]
    if len(w.shape) != 2:
        raise _fail(op, f"weights shape {list(w.shape)}; expected (out, in)")
    out_d, in_d = w.shape
    w = _weights(g, op, op.inputs[1], out_d, 0)
    if int(op.options.get("weightsFormat", 0)) != 0:
        raise _fail(op, "shuffled weights format; expected DEFAULT")
    if x.size != in_d or y.size != out_d:
        raise _fail(op, f"input {list(x.shape)} / output {list(y.shape)} for weights {list(w.shape)}; expected batch 1")
    (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
    if w.scale.size == 1:
        m, s = quant.fc_per_tensor_multiplier(s_in, float(w.scale[0]), s_out)
        mult, shift = np.full(out_d, m, np.int32), np.full(out_d, s, np.int8)
    else:
        mult, shift = quant.per_channel_multipliers(s_in, w.scale, s_out, out_d)
    act_min, act_max = quant.activation_range(int(op.options.get("fusedActivationFunction", 0)), s_out, z_out)
    bias = _bias(g, op, op.inputs[2] if len(op.inputs) > 2 else -1, out_d, layer)
    weights = ConstArray(layer, "weights", "int8_t", fc_weight_layout(w.data.reshape(out_d, in_d)))
    consts = [weights] + ([bias] if bias is not None else [])
    mant, exp = quant.double_scale_parts(s_in, w.scale, s_out, out_d)
    consts += _requant_consts(layer, mult, shift)
    consts += [ConstArray(layer, "real_mant", "int64_t", mant), ConstArray(layer, "real_exp", "int16_t", exp)]
    fields = {"in_depth": in_d, "out_depth": out_d, "in_offset": -z_in, "out_offset": z_out,
              "act_min": act_min, "act_max": act_max, "weights": ConstRef("weights"),
              "bias": ConstRef("bias") if bias is not None else None, "mult": ConstRef("mult"), "shift": ConstRef("shift"),
              "real_mant": ConstRef("real_mant"), "real_exp": ConstRef("real_exp")}
    return Lowered(layer, (op.opcode,), "ec_fully_connected_s8", [CStruct(layer, "ec_fc_params", fields)],
                   consts, [x.index], y.index, in_d * out_d)
