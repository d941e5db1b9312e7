/* SIMD depthwise conv (cores with the DSP extension, or the C emulation of
 * ec_simd.h with -DEC_SIMD_EMULATE): any depth multiplier, any channel
 * count, any stride, dilation and padding, kernels up to 5 x 5; the same
 * integers as ec_depthwise_pixel_ref_s8 (ec_conv.c). ec_dw3_simd.c's 3 x 3
 * kernel takes most pixels of the common layers and hands the rest here.
 *
 * A batch of up to EC_PIXELS_MAX output pixels is computed together: each
 * pixel's valid taps become one list of (input pixel, weights) pointer pairs
 * (built once, the padding skipped), then for every group of 4 output
 * channels the tap loop runs once per pixel with the 4 accumulators in
 * registers, and the group's bias and requantization constants are loaded
 * once for all the pixels. Channels beyond the last full group take a scalar
 * loop over the same tap lists. */
#include "ec_requant_simd.h"

#ifdef EC_SIMD

#define EC_DW_TAPS 25 /* kernels up to 5 x 5 */
#define EC_DW_LIST (2 * EC_DW_TAPS + 2)
#if defined(__GNUC__)
#define EC_NOINLINE __attribute__((noinline)) /* in their own register allocation gcc -Os spills less */
#else
#define EC_NOINLINE
#endif

/* (lo + in_offset, hi + in_offset) as two int16 halves (|x + in_offset| <= 255). */
EC_ALWAYS_INLINE uint32_t ec_dw_pair(int lo, int hi, int32_t in_offset)
{
    return (uint32_t)(uint16_t)(lo + in_offset) | ((uint32_t)(hi + in_offset) << 16);
}

/* Output channels c .. c + 3 over the taps. Multiplier 1: one word of 4 inputs, SXTAB16 adding
 * in_offset while sign-extending. Multiplier m > 1: output channel oc reads input channel oc / m,
 * so the 4 outputs read inputs i0 .. i3, paired as SXTB16 splits the weight word: (i0, i2) with
 * (w0, w2), (i1, i3) with (w1, w3). With m even (c is a multiple of 4) i1 = i0 and i3 = i2: one
 * pair serves both. */
static void ec_dw_taps4(const int8_t *const *taps, int c, int m, int32_t in_offset, int32_t *acc)
{
    const int i0 = c / m, i1 = (c + 1) / m, i2 = (c + 2) / m, i3 = (c + 3) / m;
    const uint32_t off = (uint32_t)(uint16_t)in_offset * 0x00010001u;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; taps[0] != NULL; taps += 2) {
        const int8_t *x = taps[0];
        const uint32_t wv = ec_load4(taps[1] + c);
        const uint32_t we = ec_sxtb16(wv), wo = ec_sxtb16_ror8(wv);
        uint32_t xe, xo;
        if (m == 1) {
            const uint32_t xv = ec_load4(x + c);
            xe = ec_sxtab16(off, xv);
            xo = ec_sxtab16_ror8(off, xv);
        } else {
            xe = ec_dw_pair(x[i0], x[i2], in_offset);
            xo = (m & 1) == 0 ? xe : ec_dw_pair(x[i1], x[i3], in_offset);
        }
        a0 = ec_smlabb(xe, we, a0);
        a2 = ec_smlatt(xe, we, a2);
        a1 = ec_smlabb(xo, wo, a1);
        a3 = ec_smlatt(xo, wo, a3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* [lo, hi): the kernel positions k whose input i0 + d k lies in [0, n). */
static void ec_dw_range(int i0, int d, int k, int n, int *lo, int *hi)
{
    int a = 0, b = k;
    if (i0 < 0) {
        a = (-i0 + d - 1) / d;
    }
    if (i0 > n - 1) {
        b = 0;
    } else if (i0 + d * (k - 1) > n - 1) {
        b = (n - 1 - i0) / d + 1;
    }
    *lo = a;
    *hi = b > a ? b : a;
}

/* The valid taps of output pixel (oy, ox) as (input pixel, weights) pairs,
 * then a NULL pair; returns the number of taps. */
static int ec_dw_tap_list(const ec_conv_params *p, const int8_t *in, int oy, int ox, const int8_t **t)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int32_t row = (int32_t)p->in_w * p->in_c, step_x = (int32_t)p->dil_w * p->in_c;
    int ky0, ky1, kx0, kx1, ky, kx, n = 0;
    ec_dw_range(iy0, p->dil_h, p->k_h, p->in_h, &ky0, &ky1);
    ec_dw_range(ix0, p->dil_w, p->k_w, p->in_w, &kx0, &kx1);
    for (ky = ky0; ky < ky1; ++ky) {
        const int8_t *x = in + (int32_t)(iy0 + p->dil_h * ky) * row + (int32_t)(ix0 + p->dil_w * kx0) * p->in_c;
        const int8_t *w = p->weights + (ky * p->k_w + kx0) * p->out_c;
        for (kx = kx0; kx < kx1; ++kx) {
            t[n] = x;
            t[n + 1] = w;
            n += 2;
            x += step_x;
            w += p->out_c;
        }
    }
    t[n] = NULL;
    t[n + 1] = NULL;
    return n / 2;
}

/* 1 if the pixel after yx[0..1] in its row (yx[2..3]) has the same valid taps, shifted by its
 * stride: then t is prev's list with the input pointers moved (no bounds work again). */
static int ec_dw_shifted(const ec_conv_params *p, const int *yx, int n_taps, const int8_t *const *prev,
                         const int8_t **t)
{
    const int ix0 = yx[1] * p->stride_w - p->pad_left, ix1 = ix0 + p->stride_w;
    const int32_t dx = (int32_t)p->stride_w * p->in_c;
    int k;
    if (yx[2] != yx[0] || yx[3] != yx[1] + 1 || ix0 < 0 || ix1 + p->dil_w * (p->k_w - 1) >= p->in_w) {
        return 0;
    }
    for (k = 0; k < 2 * n_taps; k += 2) {
        t[k] = prev[k] + dx;
        t[k + 1] = prev[k + 1];
    }
    t[k] = NULL;
    t[k + 1] = NULL;
    return 1;
}

#define EC_DW_CHUNK 64 /* output channels whose int32 sums (for every pixel of the batch) wait on the stack */

/* The sums of one pixel, output channels c0 .. c0 + len - 1, to acc[0 .. len - 1]. */
EC_NOINLINE static void ec_dw_sums(const ec_conv_params *p, const int8_t *const *taps, int c0, int len, int32_t *acc)
{
    const int m = p->depth_mult;
    const int groups_end = c0 + (len & ~3);
    int c, j;
    for (c = c0; c < groups_end; c += 4) {
        for (j = 0; j < 4; ++j) {
            acc[c - c0 + j] = p->bias != NULL ? p->bias[c + j] : 0;
        }
        ec_dw_taps4(taps, c, m, p->in_offset, acc + (c - c0));
    }
    for (c = groups_end; c < c0 + len; ++c) { /* fewer than 4 channels left */
        const int ic = c / m;
        const int8_t *const *t = taps;
        int32_t a = p->bias != NULL ? p->bias[c] : 0;
        for (; t[0] != NULL; t += 2) {
            a += (t[0][ic] + p->in_offset) * t[1][c];
        }
        acc[c - c0] = a;
    }
}

/* acc[i][0 .. len - 1] of the n pixels, output channels c0 .. c0 + len - 1, to out + i * out_c + c0;
 * requant_32 layers with ec_rq_out's arithmetic, each channel's constants loaded once for the n pixels. */
EC_NOINLINE static void ec_dw_out(const ec_conv_params *p, int32_t (*acc)[EC_DW_CHUNK], int n, int c0, int len, int8_t *out)
{
    const int32_t c_all = p->out_c, lo = p->act_min, hi = p->act_max, k = 1 + 2 * p->out_offset;
    int i, j;
    if (!p->requant_32) {
        for (j = 0; j < len; ++j) {
            for (i = 0; i < n; ++i) {
                out[i * c_all + c0 + j] = ec_output(p, acc[i][j], c0 + j);
            }
        }
        return;
    }
    for (j = c0; j < c0 + len; ++j) {
        const int32_t mult = p->mult[j];
        const int right_1 = -p->shift[j] - 1;
        const int32_t *a = &acc[0][j - c0];
        int8_t *o = out + j;
        for (i = 0; i < n; ++i, a += EC_DW_CHUNK, o += c_all) {
            int32_t x = ec_smmulr((int32_t)((uint32_t)*a << 1), mult);
            x += x >> 31;
            x = ec_ssat8(((x >> right_1) + k) >> 1);
            *o = (int8_t)ec_clamp(x, lo, hi);
        }
    }
}

/* Output pixels (yx[0], yx[1]), ... (n <= EC_PIXELS_MAX), all channels, to out (n x out_c bytes),
 * through tap lists; 0 (nothing written) for kernels over 5 x 5. */
int ec_dw_batch(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    const int8_t *lists[EC_PIXELS_MAX][EC_DW_LIST];
    int n_taps[EC_PIXELS_MAX];
    int32_t acc[EC_PIXELS_MAX][EC_DW_CHUNK];
    int i, c0;
    if (p->k_h * p->k_w > EC_DW_TAPS || n > EC_PIXELS_MAX) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        n_taps[i] = i > 0 && ec_dw_shifted(p, yx + 2 * (i - 1), n_taps[i - 1], lists[i - 1], lists[i])
                        ? n_taps[i - 1]
                        : ec_dw_tap_list(p, in, yx[2 * i], yx[2 * i + 1], lists[i]);
    }
    for (c0 = 0; c0 < p->out_c; c0 += EC_DW_CHUNK) {
        const int len = p->out_c - c0 < EC_DW_CHUNK ? p->out_c - c0 : EC_DW_CHUNK;
        for (i = 0; i < n; ++i) {
            ec_dw_sums(p, lists[i], c0, len, acc[i]);
        }
        ec_dw_out(p, acc, n, c0, len, out);
    }
    return 1;
}

#else
typedef int ec_dw_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
