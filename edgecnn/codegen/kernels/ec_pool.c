/* Max and average pooling (reference_integer_ops::MaxPool / AveragePool):
 * windows are clipped at the borders; the average divides by the number of
 * taps inside the input, rounding half away from zero.
 *
 * With the SIMD set (ec_simd.h), the average sums 4 channels per word with
 * two SXTAB16 (int16 halves: exact for windows of up to 255 taps), then
 * divides as the reference loop does; larger windows take the reference loop. */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"
#include "ec_simd.h"

/* The window of output (oy, ox) clipped to the input: [y0, y1) x [x0, x1). */
static void ec_window(const ec_pool_params *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    const int iy = oy * p->stride_h - p->pad_top;
    const int ix = ox * p->stride_w - p->pad_left;
    *y0 = iy < 0 ? 0 : iy;
    *y1 = iy + p->k_h < p->in_h ? iy + p->k_h : p->in_h;
    *x0 = ix < 0 ? 0 : ix;
    *x1 = ix + p->k_w < p->in_w ? ix + p->k_w : p->in_w;
}

void ec_max_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox, y, x, c, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * p->out_w + ox) * p->c;
            ec_window(p, oy, ox, &y0, &y1, &x0, &x1);
            for (c = 0; c < p->c; ++c) {
                o[c] = INT8_MIN;
            }
            for (y = y0; y < y1; ++y) {
                for (x = x0; x < x1; ++x) {
                    const int8_t *i = in + ((int32_t)y * p->in_w + x) * p->c;
                    for (c = 0; c < p->c; ++c) {
                        if (i[c] > o[c]) {
                            o[c] = i[c];
                        }
                    }
                }
            }
            for (c = 0; c < p->c; ++c) {
                o[c] = (int8_t)ec_clamp(o[c], p->act_min, p->act_max);
            }
        }
    }
}

/* The average of acc over count taps, rounded half away from zero, clamped. */
static int8_t ec_avg_out(const ec_pool_params *p, int32_t acc, int32_t count)
{
    /* The generator guarantees count > 0 (no window outside the input). */
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)ec_clamp(acc, p->act_min, p->act_max);
}

/* The plain reference: one channel at a time. */
static void ec_avg_pixel_ref(const ec_pool_params *p, const int8_t *in, int y0, int y1, int x0, int x1, int8_t *o)
{
    const int32_t count = (int32_t)(y1 - y0) * (x1 - x0);
    int y, x, c;
    for (c = 0; c < p->c; ++c) {
        int32_t acc = 0;
        for (y = y0; y < y1; ++y) {
            for (x = x0; x < x1; ++x) {
                acc += in[((int32_t)y * p->in_w + x) * p->c + c];
            }
        }
        o[c] = ec_avg_out(p, acc, count);
    }
}

#if defined(EC_SIMD)
#define EC_AVG_SIMD_TAPS 255 /* 255 x 128 < 2^15: the int16 sums cannot wrap */

/* Channels c .. c + 3 summed as int16 pairs (c, c + 2) and (c + 1, c + 3); the rest one by one. */
static int ec_avg_pixel_simd(const ec_pool_params *p, const int8_t *in, int y0, int y1, int x0, int x1, int8_t *o)
{
    const int32_t count = (int32_t)(y1 - y0) * (x1 - x0), row = (int32_t)p->in_w * p->c;
    const int8_t *base = in + (int32_t)y0 * row + (int32_t)x0 * p->c;
    int y, x, c;
    if (count > EC_AVG_SIMD_TAPS) {
        return 0;
    }
    for (c = 0; c + 4 <= p->c; c += 4) {
        const int8_t *r = base + c;
        uint32_t se = 0, so = 0;
        for (y = y0; y < y1; ++y, r += row) {
            const int8_t *q = r;
            for (x = x0; x < x1; ++x, q += p->c) {
                const uint32_t v = ec_load4(q);
                se = ec_sxtab16(se, v);
                so = ec_sxtab16_ror8(so, v);
            }
        }
        o[c] = ec_avg_out(p, (int16_t)(uint16_t)se, count);
        o[c + 1] = ec_avg_out(p, (int16_t)(uint16_t)so, count);
        o[c + 2] = ec_avg_out(p, (int16_t)(uint16_t)(se >> 16), count);
        o[c + 3] = ec_avg_out(p, (int16_t)(uint16_t)(so >> 16), count);
    }
    for (; c < p->c; ++c) {
        const int8_t *r = base + c;
        int32_t acc = 0;
        for (y = y0; y < y1; ++y, r += row) {
            for (x = 0; x < x1 - x0; ++x) {
                acc += r[x * p->c];
            }
        }
        o[c] = ec_avg_out(p, acc, count);
    }
    return 1;
}
#endif

void ec_avg_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * p->out_w + ox) * p->c;
            ec_window(p, oy, ox, &y0, &y1, &x0, &x1);
#if defined(EC_SIMD)
            if (ec_avg_pixel_simd(p, in, y0, y1, x0, x1, o)) {
                continue;
            }
#endif
            ec_avg_pixel_ref(p, in, y0, y1, x0, x1, o);
        }
    }
}
