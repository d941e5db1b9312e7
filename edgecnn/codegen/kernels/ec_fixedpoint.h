/* Fixed-point helpers with TFLite's (gemmlowp's) rounding, bit for bit.
 *
 * Multiplying an int32 accumulator by a real scale is done as TFLite does
 * without TFLITE_SINGLE_ROUNDING: a saturating rounding doubling high
 * multiply by a Q31 multiplier, then a rounding right shift.
 */
#ifndef EC_FIXEDPOINT_H
#define EC_FIXEDPOINT_H

#include <stdint.h>

/* Right shift of a negative value is arithmetic on every compiler we
 * target (gcc, clang, arm-none-eabi-gcc); C99 leaves it implementation-defined. */

/* (a * b * 2) >> 32, rounded to nearest, saturating the one overflow case. */
static inline int32_t ec_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    /* gemmlowp adds a nudge of 2^30 (ab >= 0) or 1 - 2^30 (ab < 0) and
     * divides by 2^31 truncating toward zero. For ab < 0 that truncation is
     * floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31) = (ab + 2^30) >> 31, the same
     * expression as for ab >= 0: one branch-free shift, no 64-bit division. */
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero. */
static inline int32_t ec_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x << s with two's complement wrap-around, as TFLite's x * (1 << s). */
static inline int32_t ec_shl_wrap(int32_t x, int s)
{
    return (int32_t)((uint32_t)x << s);
}

/* TFLite's MultiplyByQuantizedMultiplier. */
static inline int32_t ec_mbqm(int32_t x, int32_t mult, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return ec_rdbpot(ec_srdhm(ec_shl_wrap(x, left), mult), right);
}

static inline int32_t ec_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* int32 add that wraps like the fixed-point code it mirrors (no UB). */
static inline int32_t ec_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t ec_sub_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent. */
static inline int32_t ec_sat_shl(int32_t x, int n)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - n)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return ec_shl_wrap(x, n);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: gemmlowp's Taylor series around -1/8
 * (shared by SOFTMAX, LOGISTIC and TANH). */
static inline int32_t ec_exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = ec_add_wrap(a, (int32_t)1 << 28);
    const int32_t x2 = ec_srdhm(x, x);
    const int32_t x3 = ec_srdhm(x2, x);
    const int32_t x4 = ec_srdhm(x2, x2);
    const int32_t x4_over_4 = ec_rdbpot(x4, 2);
    const int32_t poly = ec_rdbpot(ec_add_wrap(ec_srdhm(ec_add_wrap(x4_over_4, x3), one_third), x2), 1);
    return ec_add_wrap(exp_minus_one_eighth, ec_srdhm(exp_minus_one_eighth, ec_add_wrap(x, poly)));
}

/* The fast path of ec_mul_round_double, in 32-bit steps, for s = -(exp + 21)
 * in [33, 53]: with q = |acc| * (mant >> 21) (one 32 x 32 -> 64 multiply),
 * the exact product times 2^(exp + 21) lies in [q, q + |acc|), and the double
 * multiply's rounding moves it by at most 2^-53 of itself, below 2^(s - 22)
 * (< 2^31) while the result is below 2^29. With half added, the integer part
 * is the high word shifted by s - 32; when the high word's fraction bits fh
 * are neither 0 nor all ones, the interval (width < 2^32) cannot reach a
 * multiple of 2^s, so that is the rounded result. Else (near a tie, or
 * large) returns -1 and the exact path decides. */
static inline int32_t ec_round_double_fast(uint32_t a, uint64_t mant, int s)
{
    const int s1 = s - 32;
    const uint32_t mask = (1u << s1) - 1u;
    const uint32_t hi = (uint32_t)(((uint64_t)a * (uint32_t)(mant >> 21)) >> 32) + (1u << (s1 - 1));
    const uint32_t fh = hi & mask;
    const uint32_t r = hi >> s1;
    /* fh in [1, mask - 1] as one unsigned compare (none when mask is 1) */
    return (fh - 1u < mask - 1u && r < (1u << 29)) ? (int32_t)r : -1;
}

#endif /* EC_FIXEDPOINT_H */
