/* Fully connected, global mean, add, pad and copy. */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"
#include "ec_simd.h"

static int ec_bitlen64(uint64_t x)
{
#if defined(__GNUC__)
    return x == 0 ? 0 : 64 - __builtin_clzll(x); /* CLZ instead of up to 64 shifts */
#else
    int n = 0;
    while (x != 0) {
        x >>= 1;
        ++n;
    }
    return n;
#endif
}

#define EC_SAT_MAGNITUDE ((uint64_t)1 << 30) /* far outside int8 after any offset */

/* ec_round_double_fast (the 32-bit fast path): ec_fixedpoint.h. */

/* The exact product (up to 84 bits) is rounded to 53 significant bits,
 * ties to even (the double multiply), then to an integer, ties away from
 * zero (round()). */
int32_t ec_mul_round_double(int32_t acc, uint64_t mant, int exp)
{
    const uint64_t a = acc < 0 ? (uint64_t)(-(int64_t)acc) : (uint64_t)acc;
    const int s = -(exp + 21);
    if (s >= 33 && s <= 53) {
        const int32_t fast = ec_round_double_fast((uint32_t)a, mant, s);
        if (fast >= 0) {
            return acc < 0 ? -fast : fast;
        }
    }
    const uint64_t t0 = a * (mant & 0xFFFFFFFFu);
    const uint64_t hi = a * (mant >> 32) + (t0 >> 32); /* product = hi * 2^32 + lo */
    const uint32_t lo = (uint32_t)t0;
    const int bits = hi != 0 ? 32 + ec_bitlen64(hi) : ec_bitlen64(lo);
    const int k = bits > 53 ? bits - 53 : 0; /* bits dropped by the double multiply, <= 32 */
    uint64_t p, r;
    int f;
    if (k == 0) {
        p = (hi << 32) | lo;
    } else {
        const uint32_t rem = k == 32 ? lo : (lo & ((1u << k) - 1u));
        const uint32_t half = 1u << (k - 1);
        p = (hi << (32 - k)) | (k == 32 ? 0u : (uint64_t)(lo >> k));
        if (rem > half || (rem == half && (p & 1u) != 0)) {
            p += 1;
        }
    }
    f = exp + k; /* |(double)acc * s| == p * 2^f */
    if (f >= 0) {
        r = (f > 30 || p > (EC_SAT_MAGNITUDE >> f)) ? EC_SAT_MAGNITUDE : p << f;
    } else if (f < -60) {
        r = 0; /* p < 2^54: the value is below 1/2 */
    } else {
        r = (p >> -f) + ((p >> (-f - 1)) & 1u);
        r = r > EC_SAT_MAGNITUDE ? EC_SAT_MAGNITUDE : r;
    }
    return acc < 0 ? -(int32_t)r : (int32_t)r;
}

/* acc (with the bias) of row o requantized as ec_fc_params says, plus the
 * output offset, clamped. */
int8_t ec_fc_requant(const ec_fc_params *p, int o, int32_t acc)
{
#ifdef EC_FC_FIXED_POINT_REQUANT
    acc = ec_mbqm(acc, p->mult[o], p->shift[o]) + p->out_offset;
#else
    acc = ec_mul_round_double(acc, (uint64_t)p->real_mant[o], p->real_exp[o]) + p->out_offset;
#endif
    return (int8_t)ec_clamp(acc, p->act_min, p->act_max);
}

/* reference_integer_ops::FullyConnected(PerChannel): int32 accumulation
 * with the input offset, bias, requantization (see ec_fc_params), output
 * offset, clamp. The SIMD set takes over (ec_fc_simd.c). */
void ec_fully_connected_s8(const ec_fc_params *p, const int8_t *in, int8_t *out)
{
    const int body = p->in_depth & ~3, tail = p->in_depth - body, quads = p->out_depth & ~3;
    int o, d;
#ifdef EC_SIMD
    if (ec_fully_connected_simd(p, in, out)) {
        return;
    }
#endif
    for (o = 0; o < p->out_depth; ++o) {
        /* Row o's words one step apart (the layout of ec_fc_params), its tail at t. */
        const int in_tile = o < quads;
        const int8_t *w = p->weights + (in_tile ? (int32_t)(o & ~3) * body + 4 * (o & 3) : (int32_t)o * body);
        const int step = in_tile ? 16 : 4;
        const int8_t *t = p->weights + (int32_t)p->out_depth * body + (int32_t)o * tail;
        int32_t acc = 0;
        for (d = 0; d < body; d += 4, w += step) {
            acc += (in[d] + p->in_offset) * w[0];
            acc += (in[d + 1] + p->in_offset) * w[1];
            acc += (in[d + 2] + p->in_offset) * w[2];
            acc += (in[d + 3] + p->in_offset) * w[3];
        }
        for (d = 0; d < tail; ++d) {
            acc += (in[body + d] + p->in_offset) * t[d];
        }
        if (p->bias != NULL) {
            acc += p->bias[o];
        }
        out[o] = ec_fc_requant(p, o, acc);
    }
}

/* reference_ops::QuantizedMeanOrSum (mean): sum of raw values minus
 * count * zero point, then one multiplier that already includes 1/count. */
void ec_mean_hw_s8(const ec_mean_params *p, const int8_t *in, int8_t *out)
{
    const int32_t count = (int32_t)p->h * p->w;
    int c;
    int32_t i;
    for (c = 0; c < p->c; ++c) {
        int32_t sum = 0;
        for (i = 0; i < count; ++i) {
            sum += in[i * p->c + c];
        }
        sum -= p->in_zero_point * count;
        sum = ec_mbqm(sum, p->mult, p->shift) + p->out_zero_point;
        out[c] = (int8_t)ec_clamp(sum, INT8_MIN, INT8_MAX);
    }
}

/* reference_integer_ops::Add, same shapes (no broadcasting). */
void ec_add_s8(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
#ifdef EC_SIMD
    if (ec_add_simd(p, in1, in2, out)) { /* ec_eltwise_simd.c */
        return;
    }
#endif
    ec_add_span_s8(p, in1, in2, out, p->size);
}

/* The first n elements (element i read before it is written: in place is exact). */
void ec_add_span_s8(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t a = ec_shl_wrap(in1[i] + p->in1_offset, p->left_shift);
        const int32_t b = ec_shl_wrap(in2[i] + p->in2_offset, p->left_shift);
        const int32_t sa = ec_mbqm(a, p->in1_mult, p->in1_shift);
        const int32_t sb = ec_mbqm(b, p->in2_mult, p->in2_shift);
        const int32_t r = ec_mbqm(sa + sb, p->out_mult, p->out_shift) + p->out_offset;
        out[i] = (int8_t)ec_clamp(r, p->act_min, p->act_max);
    }
}

void ec_pad_s8(const ec_pad_params *p, const int8_t *in, int8_t *out)
{
    const int out_w = p->pad_left + p->in_w + p->pad_right;
    const int out_c = p->pad_front + p->in_c + p->pad_back;
    const int out_h = p->pad_top + p->in_h + p->pad_bottom;
    int y, x, c;
    for (y = 0; y < out_h; ++y) {
        for (x = 0; x < out_w; ++x) {
            const int iy = y - p->pad_top;
            const int ix = x - p->pad_left;
            int8_t *o = out + ((int32_t)y * out_w + x) * out_c;
            const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
            for (c = 0; c < out_c; ++c) {
                const int ic = c - p->pad_front;
                o[c] = (inside && ic >= 0 && ic < p->in_c)
                           ? in[((int32_t)iy * p->in_w + ix) * p->in_c + ic]
                           : p->value;
            }
        }
    }
}

void ec_copy_s8(int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        out[i] = in[i];
    }
}
