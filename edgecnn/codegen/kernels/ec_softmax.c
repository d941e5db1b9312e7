/* int8 softmax with TFLite's reference fixed-point arithmetic
 * (reference_ops::Softmax for integer types, built on gemmlowp's fixed
 * point exp and reciprocal): exp(x - max) in Q0.31 from a Q5.26 scaled
 * difference, summed in Q12.19, multiplied by the reciprocal of the sum. */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"

static int ec_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* exp(a) for a <= 0; a in Q5.26, result in Q0.31. */
static int32_t ec_exp_negative(int32_t a)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4, applied for each set bit of the
     * integer and upper fractional part of -a. */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = (int32_t)1 << 24;
    const int32_t a_mod_quarter_minus_quarter = ec_sub_wrap(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = ec_sub_wrap(a_mod_quarter_minus_quarter, a);
    int32_t result = ec_exp_quarter(ec_sat_shl(a_mod_quarter_minus_quarter, 5));
    int k;
    for (k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (24 + k))) {
            result = ec_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson. */
static int32_t ec_one_over_one_plus(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = ec_add_wrap(1515870810, ec_srdhm(half_den, -1010580540)); /* Q2.29: 48/17 - 32/17 d */
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = ec_sub_wrap((int32_t)1 << 29, ec_srdhm(half_den, x));
        x = ec_add_wrap(x, ec_sat_shl(ec_srdhm(x, one_minus), 2));
    }
    return ec_sat_shl(x, 1);
}

void ec_softmax_s8(const ec_softmax_params *p, const int8_t *in, int8_t *out)
{
    int r, c;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = in + (int32_t)r * p->depth;
        int8_t *y = out + (int32_t)r * p->depth;
        int8_t max = INT8_MIN;
        int32_t sum = 0; /* Q12.19 */
        int headroom, bits_over_unit, exponent;
        int32_t scale;
        for (c = 0; c < p->depth; ++c) {
            max = x[c] > max ? x[c] : max;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = ec_srdhm(ec_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
                sum = ec_add_wrap(sum, ec_rdbpot(ec_exp_negative(scaled), 12));
            }
        }
        headroom = ec_clz32((uint32_t)sum);
        bits_over_unit = 12 - headroom;
        scale = ec_one_over_one_plus((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        exponent = bits_over_unit + 31 - 8;
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = x[c] - max;
            if (diff >= p->diff_min) {
                const int32_t scaled = ec_srdhm(ec_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
                const int32_t v = ec_rdbpot(ec_srdhm(scale, ec_exp_negative(scaled)), exponent) - 128;
                y[c] = (int8_t)ec_clamp(v, INT8_MIN, INT8_MAX);
            } else {
                y[c] = INT8_MIN;
            }
        }
    }
}
