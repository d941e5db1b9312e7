"""`<name>_input_from_u8()`: uint8 pixels -> the int8 model input, in integer arithmetic.

The float path (Python at build time, `<name>_quantize_input` on a host)
computes x = lo + pixel * (hi - lo) / 255, then q = clamp(round(x / scale) +
zero_point). Firmware without float wants the same int8 values from integers.
The generator searches an affine fixed-point form

    q = clamp(((pixel * mult + add) >> shift) - offset)      (uint32 arithmetic)

and checks it against the float path on all 256 pixel values; when no such
form reproduces it exactly (possible for ranges whose steps land on rounding
ties), it writes a 256-byte table instead. Either way the C function is
bit-identical to the Python quantization it was checked against.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

PIXELS = np.arange(256, dtype=np.uint8)


@dataclass(frozen=True)
class InputMap:
    """How the generated C maps a pixel to an int8 input: affine (mult, add, shift) or a table."""

    input_range: tuple[float, float]  # (lo, hi): the model's float input for pixel 0 and pixel 255
    mult: int = 0
    add: int = 0
    shift: int = 0
    offset: int = 0  # subtracted after the shift; makes every unclamped value >= 0 before it
    table: tuple[int, ...] = ()  # 256 int8 values when the affine form cannot match

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """What the generated C computes, in NumPy: uint8 (...) -> int8 (...)."""
        p = np.asarray(pixels, dtype=np.uint64)
        if self.table:
            return np.asarray(self.table, np.int8)[p.astype(np.int64)]
        v = ((p * self.mult + self.add) & 0xFFFFFFFF) >> self.shift
        return np.clip(v.astype(np.int64) - self.offset, -128, 127).astype(np.int8)


def float_path(scale: float, zero_point: int, input_range=(0.0, 1.0)) -> Callable[[np.ndarray], np.ndarray]:
    """The Python quantization of uint8 pixels (float64, round half to even), as the build does it."""
    lo, hi = (float(v) for v in input_range)

    def quantize(pixels: np.ndarray) -> np.ndarray:
        real = pixels.astype(np.float64) / 255.0 * (hi - lo) + lo
        return np.clip(np.round(real / scale) + zero_point, -128, 127).astype(np.int8)

    return quantize


def _affine(target: np.ndarray, k: float, offset: int) -> tuple[int, int, int, int] | None:
    """(mult, add, shift, offset) with clamp(((p * mult + add) >> shift) - offset) == target for p in 0..255."""
    v = target.astype(np.int64) + offset  # >= 0
    p = PIXELS.astype(np.int64)
    lo_v, hi_v = -128 + offset, 127 + offset
    for shift in range(24, 7, -1):
        one = 1 << shift
        base = int(round(k * one))
        for mult in sorted(range(base - 3, base + 4), key=lambda m: abs(m - base)):
            if mult < 0 or 255 * mult >= 1 << 32:
                continue
            # floor((p*mult + add) / one) == v where unclamped; only one side binds at the clamps.
            lower = np.where(v > lo_v, v * one - p * mult, -(1 << 62))
            upper = np.where(v < hi_v, (v + 1) * one - 1 - p * mult, 1 << 62)
            add = max(0, int(lower.max()))
            if add <= int(upper.min()) and 255 * mult + add < 1 << 32:
                return mult, add, shift, offset
    return None


def input_map(scale: float, zero_point: int, input_range=(0.0, 1.0),
              reference: Callable[[np.ndarray], np.ndarray] | None = None) -> InputMap:
    """The integer map that reproduces `reference` (default: float_path) on every pixel value."""
    lo, hi = (float(v) for v in input_range)
    ref = reference or float_path(scale, zero_point, (lo, hi))
    target = np.asarray(ref(PIXELS), dtype=np.int8).reshape(256)
    k = (hi - lo) / 255.0 / scale
    # The unclamped line starts near lo / scale + zero_point; the offset lifts it to >= 0.
    offset = max(128, int(np.ceil(-(lo / scale + zero_point))) + 2)
    found = _affine(target, k, offset) if k >= 0 and offset < 1 << 20 else None
    m = InputMap((lo, hi), *found) if found else InputMap((lo, hi), table=tuple(int(t) for t in target))
    if not np.array_equal(m.apply(PIXELS), target):  # _affine's bounds make this impossible; keep it checked
        m = InputMap((lo, hi), table=tuple(int(t) for t in target))
    return m


def header_text(n: str, m: InputMap) -> str:
    """The prototype for `<n>_model.h` (the range defines come from emit._range_lines)."""
    N = n.upper()
    return (f"/* Integer-only (no float): {N}_INPUT_SIZE uint8 pixels -> int8 input, bit-identical to the\n"
            f" * float path x = {N}_INPUT_RANGE_MIN + pixel / 255 * ({N}_INPUT_RANGE_MAX - {N}_INPUT_RANGE_MIN),\n"
            f" * q = round(x / {N}_INPUT_SCALE) + {N}_INPUT_ZERO_POINT (checked at generation on all 256 values). */\n"
            f"void {n}_input_from_u8(const uint8_t *pixels, int8_t *input);\n\n")


def source_text(n: str, m: InputMap) -> str:
    """The definition of `<n>_input_from_u8` for `<n>_model.c`."""
    N = n.upper()
    if m.table:
        rows = [", ".join(str(v) for v in m.table[i:i + 16]) for i in range(0, 256, 16)]
        table = f"static const int8_t {n}_input_table[256] = {{\n" + "".join(f"    {r},\n" for r in rows) + "};\n\n"
        body = f"        input[i] = {n}_input_table[pixels[i]];\n"
        how = "a table (no affine integer form reproduces the float path exactly)"
    else:
        table = ""
        body = (f"        const int32_t q = (int32_t)(((uint32_t)pixels[i] * {m.mult}u + {m.add}u) >> {m.shift}) - {m.offset};\n"
                "        input[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));\n")
        how = f"(pixel * {m.mult} + {m.add}) >> {m.shift}, minus {m.offset}, clamped"
    return (table + f"/* pixel -> int8 by {how}. */\n"
            f"void {n}_input_from_u8(const uint8_t *pixels, int8_t *input)\n{{\n    int32_t i;\n"
            f"    for (i = 0; i < {N}_INPUT_SIZE; ++i) {{\n{body}    }}\n}}\n\n")
