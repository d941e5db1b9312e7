/* int8 LOGISTIC and TANH with TFLite's integer reference arithmetic
 * (reference_integer_ops::Logistic / Tanh, as TFLite Micro runs them):
 * the input rescaled to Q4.27, gemmlowp's fixed-point exp on negative values,
 * a Newton-Raphson division, then a rounding shift to int8. */
#include "ec_fixedpoint.h"
#include "ec_kernels.h"

/* exp(a) for a <= 0 with int_bits integer bits (4 or 5), result Q0.31:
 * gemmlowp's exp_on_negative_values. */
static int32_t ec_act_exp_negative(int32_t a, int int_bits)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac - 2);
    const int32_t a_mod_quarter_minus_quarter = ec_sub_wrap(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = ec_sub_wrap(a_mod_quarter_minus_quarter, a);
    int32_t result = ec_exp_quarter(ec_sat_shl(a_mod_quarter_minus_quarter, int_bits));
    int k;
    for (k = 0; k < int_bits + 2; ++k) { /* exp(-2^e) for e = -2 .. int_bits - 1 */
        if (remainder & ((int32_t)1 << (frac - 2 + k))) {
            result = ec_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* Newton-Raphson for 1 / (1 + a), a in [0, 1) Q0.31; x in Q2.29 after the loop. */
static int32_t ec_act_recip_q2(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = ec_add_wrap(1515870810, ec_srdhm(half_den, -1010580540)); /* 48/17 - 32/17 d */
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = ec_sub_wrap((int32_t)1 << 29, ec_srdhm(half_den, x));
        x = ec_add_wrap(x, ec_sat_shl(ec_srdhm(x, one_minus), 2));
    }
    return x;
}

/* gemmlowp::logistic of a Q4.27 value, Q0.31 result. */
static int32_t ec_logistic_q4(int32_t a)
{
    int32_t pos;
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    pos = ec_sat_shl(ec_act_recip_q2(ec_act_exp_negative(a > 0 ? ec_sub_wrap(0, a) : a, 4)), 1);
    return a > 0 ? pos : ec_sub_wrap(INT32_MAX, pos);
}

/* gemmlowp::tanh of a Q4.27 value, Q0.31 result. */
static int32_t ec_tanh_q4(int32_t a)
{
    const int32_t n = a < 0 ? a : ec_sub_wrap(0, a);
    /* exp(2n): the same raw value read with 5 integer bits */
    const int32_t t = ec_sat_shl(ec_sub_wrap(ec_act_recip_q2(ec_act_exp_negative(n, 5)), (int32_t)1 << 29), 2);
    if (a == 0) {
        return 0;
    }
    return a < 0 ? ec_sub_wrap(0, t) : t;
}

void ec_logistic_s8(const ec_sigmoid_params *p, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x = in[i] - p->in_zero_point;
        int32_t r;
        if (x <= -p->range_radius) {
            r = -128;
        } else if (x >= p->range_radius) {
            r = 127;
        } else {
            const int32_t q4 = ec_mbqm(x, p->in_mult, p->in_shift);
            r = p->is_tanh ? ec_rdbpot(ec_tanh_q4(q4), 24) : ec_rdbpot(ec_logistic_q4(q4), 23) - 128;
            r = ec_clamp(r, -128, 127);
        }
        out[i] = (int8_t)r;
    }
}

/* int16 arithmetic of TFLite's reference HardSwish. */
static int16_t ec_hs_sat16(int32_t v)
{
    return (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
}

/* gemmlowp's SaturatingRoundingDoublingHighMul on int16. */
static int16_t ec_hs_srdhm16(int16_t a, int16_t b)
{
    const int32_t ab = (int32_t)a * b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    if (a == b && a == -32768) {
        return 32767;
    }
    return (int16_t)((ab + nudge) / (1 << 15)); /* C99 division truncates toward zero, as C++ */
}

/* TFLite's SaturatingDoublingHighMul on int16 (no rounding). */
static int16_t ec_hs_sdhm16(int16_t a, int16_t b)
{
    if (a == b && a == -32768) {
        return 32767;
    }
    return (int16_t)(((int32_t)a * b) / (1 << 15));
}

static int16_t ec_hs_rdbpot16(int16_t x, int exponent)
{
    const int32_t mask = (1 << exponent) - 1;
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

void ec_hard_swish_s8(const ec_hard_swish_params *p, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int16_t hires = (int16_t)((in[i] - p->in_zero_point) * (1 << 7));
        const int16_t preshift = ec_hs_srdhm16(hires, p->out_mult16);
        int16_t reluish = hires;
        int32_t o;
        if (p->reluish_exp > 0) { /* left shift, saturating, all but the last bit first */
            reluish = ec_hs_sat16((int32_t)reluish * (1 << (p->reluish_exp - 1)));
        }
        reluish = ec_hs_srdhm16(reluish, p->reluish_mult16);
        if (p->reluish_exp > 0) {
            reluish = ec_hs_sat16((int32_t)reluish * 2);
        }
        if (p->reluish_exp < 0) {
            reluish = ec_hs_rdbpot16(reluish, -p->reluish_exp);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1); /* [-1, 1] -> [0, 1] */
        o = ec_hs_rdbpot16(ec_hs_sdhm16(reluish, preshift), -p->out_exp) + p->out_zero_point;
        out[i] = (int8_t)ec_clamp(o, -128, 127);
    }
}
