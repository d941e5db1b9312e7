"""Generation-time requantization constants and the C fixed-point primitives.

The C primitives are compiled and run against independent Python
implementations of the arithmetic they must reproduce: gemmlowp's rounding
doubling high multiply / rounding shift (TFLite's MultiplyByQuantizedMultiplier)
and C++'s round((double)acc * scale) as LiteRT's reference FULLY_CONNECTED does it.
"""

import math
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from edgecnn.codegen import KERNELS_DIR, quant


def test_tflite_round_is_half_away_from_zero():
    assert [quant.tflite_round(v) for v in (0.5, -0.5, 2.5, -2.5, 1.4999999, 0.49999999999999994)] == [1, -1, 3, -3, 1, 0]


@pytest.mark.parametrize("real,expected", [(0.5, (1 << 30, 0)), (1.0, (1 << 30, 1)), (0.75, (1610612736, 0)),
                                           (0.0, (0, 0)), (1e-12, (0, 0)), (3.0, (1610612736, 2))])
def test_quantize_multiplier_known_values(real, expected):
    assert quant.quantize_multiplier(real) == expected


def test_quantize_multiplier_reproduces_the_scale_within_q31():
    rng = np.random.default_rng(0)
    for real in rng.uniform(1e-6, 4.0, 500):
        m, s = quant.quantize_multiplier(float(real))
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0 ** -30


def test_activation_ranges():
    assert quant.activation_range(0, 0.1, 3) == (-128, 127)
    assert quant.activation_range(1, 0.05, -10) == (-10, 127)
    assert quant.activation_range(3, 0.05, -10) == (-10, 110)
    assert quant.activation_range(2, 0.05, -10) == (-30, 10)
    with pytest.raises(Exception, match="fused activation 5"):
        quant.activation_range(5, 0.1, 0)


def test_mean_multiplier_folds_the_count_in():
    m, s = quant.quantize_multiplier(0.5)
    mm, ss = quant.mean_multiplier(0.25, 0.5, 49)  # in/out = 0.5, 49 = 7 x 7 pixels
    assert ss == s - 5 and mm == (m << 5) // 49
    assert abs(mm * 2.0 ** (ss - 31) - 0.5 / 49) < 1e-9


def test_softmax_params_are_in_range():
    mult, shift, diff_min = quant.softmax_params(1.0, 0.1)
    assert (1 << 30) <= mult < (1 << 31) and shift >= 0 and diff_min < 0
    # Differences down to diff_min must fit the Q5.26 input of the fixed-point exp (>= -32);
    # the radius is 31 / 2^shift in Q5.26 units, so it lies within a factor 2 of that.
    assert -32.0 <= diff_min * 0.1 < -15.5


def test_double_scale_parts_are_exact():
    mant, exp = quant.double_scale_parts(0.0123, np.array([0.002, 0.0031], np.float32), 0.17, 2)
    for i, fs in enumerate([0.002, 0.0031]):
        real = float(np.float32(0.0123)) * float(np.float32(fs)) / float(np.float32(0.17))
        assert Fraction(int(mant[i])) * Fraction(2) ** int(exp[i]) == Fraction(real)
        assert mant[i] < 2 ** 53


# --- the C primitives against Python models of the arithmetic they reproduce ---

def _srdhm(a: int, b: int) -> int:
    if a == b == -(2 ** 31):
        return 2 ** 31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return int((ab + nudge) / 2 ** 31) if abs(ab + nudge) < 2 ** 52 else _trunc_div(ab + nudge, 2 ** 31)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def _rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > threshold else 0)


def _wrap32(v: int) -> int:
    return (v + 2 ** 31) % 2 ** 32 - 2 ** 31


def mbqm_py(x: int, m: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return _rdbpot(_srdhm(_wrap32(x * (1 << left)), m), right)


def round_double_py(acc: int, mant: int, exp: int) -> int:
    d = float(acc) * math.ldexp(float(mant), exp)  # one IEEE double multiply, as in C++
    r = math.floor(abs(d) + 0.5) if abs(d) < 2 ** 52 else abs(d)
    r = min(int(r), 1 << 30)
    return r if d >= 0 else -r


def _run_c(tmp_path, body: str) -> list[int]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "prim.c"
    src.write_text('#include <stdio.h>\n#include <stdint.h>\n#include "ec_fixedpoint.h"\n#include "ec_kernels.h"\n'
                   f"int main(void)\n{{\n{body}\n    return 0;\n}}\n")
    exe = tmp_path / "prim"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2", f"-I{KERNELS_DIR}",
                    str(src), str(KERNELS_DIR / "ec_dense.c"), "-o", str(exe)], check=True)
    return [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]


def _c_array(name: str, ctype: str, vals) -> str:
    return f"    static const {ctype} {name}[] = {{{', '.join(str(int(v)) + ('LL' if ctype == 'int64_t' else '') for v in vals)}}};\n"


def test_c_multiply_by_quantized_multiplier_matches_tflite_rounding(tmp_path):
    rng = np.random.default_rng(1)
    n = 3000
    xs = np.concatenate([rng.integers(-2 ** 31, 2 ** 31, n), [-(2 ** 31), 2 ** 31 - 1, 0, -1, 1]]).astype(np.int64)
    ms = np.concatenate([rng.integers(2 ** 30, 2 ** 31, n), [2 ** 31 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 30, 2 ** 31 - 1]])
    ss = np.concatenate([rng.integers(-31, 2, n), [-1, 0, 1, -31, -5]])
    # Keep left shifts meaningful: TFLite's x * (1 << shift) wraps; ours must wrap the same way.
    body = (_c_array("x", "int32_t", xs) + _c_array("m", "int32_t", ms) + _c_array("s", "int8_t", ss)
            + f"    int i;\n    for (i = 0; i < {len(xs)}; ++i) printf(\"%ld\\n\", (long)ec_mbqm(x[i], m[i], s[i]));")
    got = _run_c(tmp_path, body)
    want = [mbqm_py(int(x), int(m), int(s)) for x, m, s in zip(xs, ms, ss)]
    assert got == want


def test_c_round_double_matches_a_real_double_multiply(tmp_path):
    rng = np.random.default_rng(2)
    accs, mants, exps = [], [], []
    for _ in range(4000):
        real = float(rng.choice([rng.uniform(1e-5, 1e-2), rng.uniform(1e-3, 2.0)]))
        q, e = math.frexp(real)
        accs.append(int(rng.integers(-(2 ** 31) + 1, 2 ** 31)) >> int(rng.integers(0, 24)))
        mants.append(int(q * 2 ** 53))
        exps.append(e - 53)
    # Exact ties: acc * scale == k + 0.5 must round away from zero.
    for acc in (1, -1, 3, -3, 5, -7):
        accs.append(acc), mants.append(2 ** 52), exps.append(-53)
    body = (_c_array("a", "int32_t", accs) + _c_array("m", "int64_t", mants) + _c_array("e", "int16_t", exps)
            + f"    int i;\n    for (i = 0; i < {len(accs)}; ++i) "
              "printf(\"%ld\\n\", (long)ec_mul_round_double(a[i], (uint64_t)m[i], e[i]));")
    got = _run_c(tmp_path, body)
    want = [round_double_py(a, m, e) for a, m, e in zip(accs, mants, exps)]
    mismatches = [(a, m, e, g, w) for a, m, e, g, w in zip(accs, mants, exps, got, want) if g != w]
    assert not mismatches, mismatches[:5]


def test_c_round_double_near_ties_matches_a_real_double_multiply(tmp_path):
    """Accumulators whose scaled value lies within a few units of k + 1/2: ec_mul_round_double's
    fast path must hand these to the exact path (or get them right), for scales across the
    fast path's range and beyond it."""
    rng = np.random.default_rng(5)
    accs, mants, exps = [], [], []
    for _ in range(4000):
        real = float(10.0 ** rng.uniform(-7, 0.5))
        q, e = math.frexp(real)
        k = int(rng.integers(-300, 300))
        centre = (k + 0.5) / real
        acc = int(np.clip(round(centre) + int(rng.integers(-2, 3)), -(2 ** 31) + 1, 2 ** 31 - 1))
        accs.append(acc), mants.append(int(q * 2 ** 53)), exps.append(e - 53)
    body = (_c_array("a", "int32_t", accs) + _c_array("m", "int64_t", mants) + _c_array("e", "int16_t", exps)
            + f"    int i;\n    for (i = 0; i < {len(accs)}; ++i) "
              "printf(\"%ld\\n\", (long)ec_mul_round_double(a[i], (uint64_t)m[i], e[i]));")
    got = _run_c(tmp_path, body)
    want = [round_double_py(a, m, e) for a, m, e in zip(accs, mants, exps)]
    mismatches = [(a, m, e, g, w) for a, m, e, g, w in zip(accs, mants, exps, got, want) if g != w]
    assert not mismatches, mismatches[:5]


def test_c_requant_32_paths_match_tflite_rounding(tmp_path):
    """The fast kernel sets' requantization (ec_output_fast; the SIMD kernels' ec_rq_apply through
    the C emulation of SMMULR/SSAT) equals MultiplyByQuantizedMultiplier + clamp in the domain the
    generator allows it (every shift < 0, |2 acc| < 2^31), ties included (small right shifts make
    them frequent)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    rng = np.random.default_rng(3)
    n = 6000
    ms = rng.integers(2 ** 30, 2 ** 31, n)
    rights = rng.integers(1, 32, n)
    rights[: n // 2] = rng.integers(1, 4, n // 2)
    # |acc| up to what maps to about +-300 after requantization (so that the clamp is not all there is).
    limit = (300.0 * 2.0 ** rights * 2.0 ** 31 / ms).clip(1, 2 ** 30 - 1)
    accs = (rng.uniform(-1, 1, n) * limit).astype(np.int64)
    accs[:6] = [2 ** 30 - 1, -(2 ** 30) + 1, 0, -1, 1, 2]
    src = tmp_path / "rq.c"
    src.write_text('#include <stdio.h>\n#include "ec_requant_simd.h"\n'
                   + _c_array("a", "int32_t", accs).replace("    static", "static")
                   + _c_array("m", "int32_t", ms).replace("    static", "static")
                   + _c_array("s", "int8_t", -rights).replace("    static", "static")
                   + "int main(void)\n{\n    int i;\n    for (i = 0; i < " + str(n) + "; ++i) {\n"
                   "        ec_conv_params p = {0};\n        p.mult = &m[i];\n        p.shift = &s[i];\n"
                   "        p.act_min = -128;\n        p.act_max = 127;\n        p.requant_32 = 1;\n"
                   "        printf(\"%d %d\\n\", ec_output_fast(&p, a[i], 0), ec_rq_apply(&p, ec_rq_channel(&p, 0), 0, a[i]));\n"
                   "    }\n    return 0;\n}\n")
    exe = tmp_path / "rq"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2", "-DEC_SIMD_EMULATE",
                    f"-I{KERNELS_DIR}", str(src), "-o", str(exe)], check=True)
    got = np.array(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split(), int).reshape(n, 2)
    want = np.array([min(max(mbqm_py(int(a), int(m), -int(r)), -128), 127) for a, m, r in zip(accs, ms, rights)])
    assert np.array_equal(got[:, 0], want) and np.array_equal(got[:, 1], want)
    assert 0.2 < np.mean(np.abs(want) < 128) < 1.0  # not just saturated values
