"""Data movement on int8 tensors as one gather through per-axis offset tables.

out[i0][i1][i2][i3] = in[t0[i0] + t1[i1] + t2[i2] + t3[i3]] covers
STRIDED_SLICE (t_k = (begin + i * stride) * input stride of k), TRANSPOSE
(t_k = i * input stride of perm[k]) and RESIZE_NEAREST_NEIGHBOR (t_k = source
row / column of i); the tables hold sum(output dims) int32 values. REDUCE_MAX
walks the kept and the reduced axes with their input strides. None of them
changes values, so input and output quantization must match.
"""

import numpy as np

from edgecnn.codegen.ir import ConstArray, ConstRef, CStruct, Lowered
from edgecnn.codegen.lowering import _fail, _qp, activation
from edgecnn.codegen.lowering_common import shape4, strides4
from edgecnn.codegen.lowering_misc import _const_ints, lower_mean
from edgecnn.codegen.tflite_reader import Graph, Operator
from edgecnn.errors import EdgecnnError


def _gather(op: Operator, layer: str, x, y, axes: list[tuple[int, np.ndarray]]) -> Lowered:
    """axes: per output axis (4 of them), (input axis, input indices along it)."""
    if _qp(x) != _qp(y):
        raise _fail(op, f"input {_qp(x)} and output {_qp(y)} quantization differ; expected the same")
    st = strides4(x.shape)
    tables = [np.asarray(idx, np.int64) * st[a] for a, idx in axes]
    dims = [len(t) for t in tables]
    if int(np.prod(dims)) != y.size:
        raise _fail(op, f"gathers {dims} values for the output {list(y.shape)}")
    fields = {"dims": dims, "offsets": ConstRef("offsets")}
    consts = [ConstArray(layer, "offsets", "int32_t", np.concatenate(tables).astype(np.int32))]
    return Lowered(layer, (op.opcode,), "ec_gather_axes_s8", [CStruct(layer, "ec_gather_params", fields)], consts,
                   [x.index], y.index)


def lower_strided_slice(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    begin, end, stride = (_const_ints(g, op, op.inputs[i], what).reshape(-1)
                          for i, what in ((1, "begin"), (2, "end"), (3, "strides")))
    o = op.options
    if int(o.get("ellipsisMask", 0)) or int(o.get("newAxisMask", 0)) or o.get("offset", False):
        raise _fail(op, "ellipsis, new-axis or offset masks; expected plain begin/end/stride slicing")
    rank = len(x.shape)
    lead = 4 - rank
    axes = [(k, np.arange(1)) for k in range(lead)]
    for k in range(rank):
        b = None if (int(o.get("beginMask", 0)) >> k) & 1 else int(begin[k])
        e = None if (int(o.get("endMask", 0)) >> k) & 1 else int(end[k])
        if (int(o.get("shrinkAxisMask", 0)) >> k) & 1:
            b = int(begin[k]) % x.shape[k]
            e, s = b + 1, 1
        else:
            s = int(stride[k])
        axes.append((lead + k, np.arange(x.shape[k])[slice(b, e, s)]))
    return _gather(op, layer, x, y, axes)


def lower_transpose(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    perm = [int(p) % len(x.shape) for p in _const_ints(g, op, op.inputs[1], "perm").reshape(-1)]
    lead = 4 - len(x.shape)
    s4 = shape4(x.shape)
    perm4 = list(range(lead)) + [lead + p for p in perm]
    return _gather(op, layer, x, y, [(a, np.arange(s4[a])) for a in perm4])


def _nearest(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    """TFLite's GetNearestNeighbor, in float32 as the reference kernel computes it."""
    f = np.float32
    if align_corners and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel else f(0.0)
    out = []
    for i in range(out_size):
        v = (f(i) + offset) * scale
        src = int(np.sign(v) * np.floor(np.abs(v) + f(0.5))) if align_corners else int(np.floor(v))
        src = min(src, in_size - 1)
        out.append(max(src, 0) if half_pixel else src)
    return np.asarray(out, np.int64)


def lower_resize_nearest(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise _fail(op, f"{list(x.shape)} -> {list(y.shape)}; expected (1, H, W, C) tensors")
    ac, hp = bool(op.options.get("alignCorners", False)), bool(op.options.get("halfPixelCenters", False))
    rows = _nearest(y.shape[1], x.shape[1], ac, hp)
    cols = _nearest(y.shape[2], x.shape[2], ac, hp)
    return _gather(op, layer, x, y, [(0, np.arange(1)), (1, rows), (2, cols), (3, np.arange(x.shape[3]))])


def _reduce_fields(op: Operator, x, y, axes_tensor: int, g: Graph) -> dict:
    lead = 4 - len(x.shape)
    axes = {lead + int(a) % len(x.shape) for a in _const_ints(g, op, axes_tensor, "axis").reshape(-1)}
    s4, st = shape4(x.shape), strides4(x.shape)

    def pad(ks: list[int]) -> tuple[list[int], list[int]]:
        return [1] * (4 - len(ks)) + [s4[k] for k in ks], [0] * (4 - len(ks)) + [st[k] for k in ks]

    (kd, ks), (rd, rs) = pad([k for k in range(4) if k not in axes]), pad(sorted(axes))
    fields = {"out_size": int(np.prod(kd)), "red_size": int(np.prod(rd)), "keep_dims": kd, "keep_strides": ks,
              "red_dims": rd, "red_strides": rs, "divide": 0, "base": 0, "n_thresholds": 0, "thresholds": None}
    if fields["out_size"] != y.size:
        raise _fail(op, f"reduces {list(x.shape)} over {sorted(axes)} to {fields['out_size']} values; output {list(y.shape)}")
    return fields


def lower_reduce_max(g: Graph, op: Operator, layer: str) -> Lowered:
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    if _qp(x) != _qp(y):
        raise _fail(op, f"input {_qp(x)} and output {_qp(y)} quantization differ; expected the same")
    fields = _reduce_fields(op, x, y, op.inputs[1], g)
    return Lowered(layer, (op.opcode,), "ec_reduce_max_s8", [CStruct(layer, "ec_reduce_params", fields)], [],
                   [x.index], y.index)


def _round_away(v: np.ndarray) -> np.ndarray:
    """std::round on float32: to nearest, halves away from zero."""
    return (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.float32)


def quantized_mean_or_sum(count: int, s_in: float, z_in: int, s_out: float, z_out: int,
                          compute_sum: bool) -> tuple[int, np.ndarray]:
    """TFLite's float QuantizedMeanOrSum as (base, thresholds): out(s) = base + #{t <= s}, wrapped to int8.

    The reference computes in float32, for the sum s of the raw int8 values: MEAN
    round(float(s) / count * scale - z_in * scale) + z_out clamped to int8, SUM
    round(s * scale - z_in * scale * count) + z_out cast to int8 without a clamp, with
    scale = s_in / s_out. Both are non-decreasing in s (every IEEE step is), so they are
    tabulated exactly: evaluated here for every possible s.
    """
    f = np.float32
    sums = np.arange(-128 * count, 127 * count + 1, dtype=np.int64)
    scale = f(s_in) / f(s_out)
    if compute_sum:
        v = _round_away(sums.astype(f) * scale + f(-z_in) * scale * f(count)).astype(np.int64) + z_out
    else:
        v = np.clip(_round_away((sums.astype(f) / f(count)) * scale + f(-z_in) * scale) + f(z_out), -128, 127)
        v = v.astype(np.int64)
    if np.any(np.diff(v) < 0):
        raise EdgecnnError(f"MEAN/SUM requantization is not monotonic for count {count}")  # cannot happen in IEEE
    base, top = int(v[0]), int(v[-1])
    if top - base > 4096:
        raise EdgecnnError(f"MEAN/SUM output spans {top - base} steps; expected at most 4096")
    levels = np.arange(base + 1, top + 1)
    return base, sums[np.searchsorted(v, levels, side="left")].astype(np.int32)


def lower_mean_any(g: Graph, op: Operator, layer: str) -> Lowered:
    """MEAN over any axes (TFLite's global-pooling case keeps its own kernel).

    The kernel and the tabulation also cover TFLite's reference SUM (compute_sum), but SUM is not
    in the op table: no reference agrees on it (docs/c_engine.md).
    """
    x, y = activation(g, op, op.inputs[0]), activation(g, op, op.outputs[0])
    axes = sorted({int(a) % len(x.shape) for a in _const_ints(g, op, op.inputs[1], "axis").reshape(-1)})
    is_sum = op.opcode == "SUM"
    if not is_sum and len(x.shape) == 4 and axes == [1, 2]:  # LiteRT and TFLM take their integer kernel
        return lower_mean(g, op, layer)
    fields = _reduce_fields(op, x, y, op.inputs[1], g)
    fields |= {"divide": int(not is_sum), "base": 0, "n_thresholds": 0}
    consts = []
    if fields["red_size"] > 1 << 16:
        raise _fail(op, f"reduces {fields['red_size']} values; expected at most 65536")
    if _qp(x) != _qp(y):
        (s_in, z_in), (s_out, z_out) = _qp(x), _qp(y)
        base, th = quantized_mean_or_sum(fields["red_size"], s_in, z_in, s_out, z_out, is_sum)
        consts = [ConstArray(layer, "thresholds", "int32_t", th)]
        fields |= {"base": base, "n_thresholds": len(th), "thresholds": ConstRef("thresholds")}
    return Lowered(layer, (op.opcode,), "ec_reduce_mean_s8", [CStruct(layer, "ec_reduce_params", fields)], consts,
                   [x.index], y.index)
