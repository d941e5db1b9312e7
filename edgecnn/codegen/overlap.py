"""How far a kernel call's output may overlap an input that dies at the call.

A streaming kernel reads its input front to back and writes its output front
to back, so an output placed a little below (or over) its input overwrites
only input bytes that no later step reads. For each such (input, output) pair
this module gives `dmax`: with the output starting `d` bytes after the input
(d < 0: before it), the call is exact for every d <= dmax (and, as always, for
any placement without overlap). The planner (planner.py) uses it.

The bounds follow the kernels' loops step by step, conservatively:
- ec_chain_s8 with a max pool: each pool output pixel, in raster order, is
  written (initialised, then maxed) while its window's conv pixels are
  computed from input rows at and below the window's top conv row's first
  input row; so every pooled pixel must lie below that row of its own window.
- ec_chain_s8 without a pool (conv / depthwise [-> 1x1 conv]): batches of
  EC_PIXELS_MAX consecutive output pixels in raster order; a batch reads only
  the receptive fields of its own pixels (input rows from the first pixel's
  top row on) and writes only its own output pixels, in any order inside the
  batch. So before each batch, every output byte the batch writes must lie
  below the first input row that the batch or any later one reads.
- ec_add_s8 (equal shapes): element i is read before it is written, in
  increasing order: dmax = 0 (in place).
- ec_rowchain_s8 (fused conv -> conv -> ADD, see ec_rowchain.c): rows; the
  stage-1 rows an output row needs are computed before any of its pixels;
  the ADD operand is read element by element just before the sum is written.
"""

from edgecnn.codegen.ir import Lowered, StructRef

ALIGN = 4
EC_PIXELS_MAX = 4  # ec_kernels.h (a test checks they agree)


def _floor(n: int) -> int:
    return n // ALIGN * ALIGN


def _struct(low: Lowered, ref) -> dict:
    """The fields of the stage struct a StructRef names (None for None)."""
    if ref is None:
        return None
    assert isinstance(ref, StructRef)
    return next(s.fields for s in low.structs if s.layer == ref.layer and s.ctype == "ec_conv_params")


def _first_row(f: dict, out_row: int) -> int:
    """The first input row the conv stage `f` reads for output row `out_row` (padding rows are not read)."""
    return max(0, out_row * f["stride_h"] - f["pad_top"])


def _last_row(f: dict, out_row: int) -> int:
    return min(f["in_h"] - 1, out_row * f["stride_h"] - f["pad_top"] + (f["k_h"] - 1) * f["dil_h"])


def _batches_dmax(f: dict, out_h: int, out_w: int, out_c: int) -> int:
    """Raster batches of EC_PIXELS_MAX output pixels, each reading rows from its first pixel's row on."""
    row_in = f["in_w"] * f["in_c"]
    pixels = out_h * out_w
    return min(_first_row(f, p0 // out_w) * row_in - min(p0 + EC_PIXELS_MAX, pixels) * out_c
               for p0 in range(0, pixels, EC_PIXELS_MAX))


def _pooled_dmax(first: dict, pool: dict) -> int:
    """A pooled chain: pool output pixels in raster order, each initialised (written) first, then
    computed from its window's conv pixels, which read input rows from the window's top conv row on."""
    row_in, c = first["in_w"] * first["in_c"], pool["c"]
    out = []
    for oy in range(pool["out_h"]):
        lo = _first_row(first, max(0, oy * pool["stride_h"] - pool["pad_top"])) * row_in
        out.append(lo - (oy * pool["out_w"] + pool["out_w"]) * c)  # the row's last pixel bounds it
    return min(out)


def _chain_dmax(low: Lowered) -> dict[int, int]:
    chain = low.structs[-1].fields
    first = _struct(low, chain["first"])
    if chain["pool"] is not None:
        pool = next(s.fields for s in low.structs if s.layer == chain["pool"].layer and s.ctype == "ec_pool_params")
        return {low.inputs[0]: _floor(_pooled_dmax(first, pool))}
    last = _struct(low, chain["pointwise"]) or first
    return {low.inputs[0]: _floor(_batches_dmax(first, last["out_h"], last["out_w"], last["out_c"]))}


def _rowchain_dmax(low: Lowered) -> dict[int, int]:
    """ec_rowchain_s8: conv A [-> conv B] [-> ADD with low.inputs[1]]."""
    p = low.structs[-1].fields
    a, b = _struct(low, p["first"]), _struct(low, p["second"])
    out = {}
    if b is None:
        d = _batches_dmax(a, a["out_h"], a["out_w"], a["out_c"])
    else:  # stage-A rows are computed ahead, before the output row that needs them
        row_in, row_out = a["in_w"] * a["in_c"], b["out_w"] * b["out_c"]
        d = a["in_h"] * row_in  # (at the input's end there is no overlap left to bound)
        for r in range(b["out_h"]):
            nxt = _last_row(b, r) + 1  # the next stage-A row, computed after output row r
            if nxt < a["out_h"]:
                d = min(d, _first_row(a, nxt) * row_in - (r + 1) * row_out)
            else:
                break
    out[low.inputs[0]] = _floor(d)
    if len(low.inputs) > 1:  # the ADD operand: read element by element, then the sum written there
        out[low.inputs[1]] = min(out.get(low.inputs[1], 0), 0)
    return out


RULES = {
    "ec_chain_s8": _chain_dmax,
    "ec_add_s8": lambda low: {t: 0 for t in low.inputs},
    "ec_rowchain_s8": _rowchain_dmax,
    "ec_rowchain_add_s8": _rowchain_dmax,
}


def dmax(low: Lowered) -> dict[int, int]:
    """Input tensor -> the largest output-minus-input start offset that keeps the call exact
    (empty: the call's output must not overlap its inputs)."""
    rule = RULES.get(low.kernel)
    return rule(low) if rule else {}
