/* Conv2D, DepthwiseConv2D and the 1x1 pixel stage: TFLite's reference
 * per-channel int8 arithmetic (reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel): acc = sum((x + in_offset) * w) + bias, then
 * MultiplyByQuantizedMultiplier, + out_offset, clamp. Padded taps add 0.
 *
 * The functions the engine calls, computing the same integers as the *_ref
 * reference functions (ec_conv.c) faster:
 * away from the borders a conv accumulates plain dot products of contiguous
 * rows and starts from eff_bias = bias + in_offset * (sum of the channel's
 * weights), which the generator precomputes; a depthwise conv accumulates
 * whole channel vectors at once. On cores with the DSP extension
 * (Cortex-M4 and up) the dot products use SMLAD, four MACs per two
 * instructions, unless built with -DEC_NO_SIMD. Built with
 * -DEC_REFERENCE_KERNELS they call the reference functions only (the tests
 * compare the builds). */
#include "ec_conv_common.h"

#ifdef EC_REFERENCE_KERNELS

void ec_conv2d_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    ec_conv2d_pixel_ref_s8(p, in, oy, ox, out);
}

void ec_depthwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    ec_depthwise_pixel_ref_s8(p, in, oy, ox, out);
}

void ec_pointwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    ec_pointwise_pixel_ref_s8(p, in, out);
}

#else

static inline int32_t ec_dot(const int8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    int i;
    for (i = 0; i < n; ++i) {
        s += a[i] * b[i];
    }
    return s;
}

#if defined(__ARM_FEATURE_DSP) && !defined(EC_NO_SIMD)
#define EC_SMLAD 1
#include <arm_acle.h>
#include <string.h>

/* Cortex-M4/M7/M33 (DSP extension): four int8 products per two SMLADs.
 * A word of four int8 values is split by SXTB16 into its even and odd
 * bytes as two int16 pairs; SMLAD multiplies the pairs and adds both
 * products to the accumulator. Same integer sums as ec_dot. */
static uint32_t ec_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* an unaligned LDR on Cortex-M4 */
    return v;
}

static int16x2_t ec_odd16(uint32_t v)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc[j] += dot(x, w + j * stride, n) for j < 4: x is loaded once for four rows. */
static void ec_dot4(const int8_t *x, const int8_t *w, int32_t stride, int n, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w1 = w + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = ec_load4(x + i);
        const int16x2_t xe = __sxtb16(xv), xo = ec_odd16(xv);
        uint32_t v = ec_load4(w + i);
        a0 = __smlad(xo, ec_odd16(v), __smlad(xe, __sxtb16(v), a0));
        v = ec_load4(w1 + i);
        a1 = __smlad(xo, ec_odd16(v), __smlad(xe, __sxtb16(v), a1));
        v = ec_load4(w2 + i);
        a2 = __smlad(xo, ec_odd16(v), __smlad(xe, __sxtb16(v), a2));
        v = ec_load4(w3 + i);
        a3 = __smlad(xo, ec_odd16(v), __smlad(xe, __sxtb16(v), a3));
    }
    for (; i < n; ++i) {
        a0 += x[i] * w[i];
        a1 += x[i] * w1[i];
        a2 += x[i] * w2[i];
        a3 += x[i] * w3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif /* __ARM_FEATURE_DSP */

/* acc[j] = eff_bias + sum over `rows` rows of `len` contiguous taps, for
 * output channels oc .. oc + count - 1: row r of the input starts at
 * x + r * stride, of the weights at w_oc + r * len. */
static void ec_conv_sums(const ec_conv_params *p, const int8_t *x, int32_t stride, int len, int rows, int oc,
                         int count, int32_t *acc)
{
    const int32_t taps = (int32_t)p->k_h * p->k_w * p->in_c;
    int j, r;
    for (j = 0; j < count; ++j) {
        acc[j] = p->eff_bias[oc + j];
    }
#ifdef EC_SMLAD
    if (count == 4) {
        for (r = 0; r < rows; ++r) {
            ec_dot4(x + r * stride, p->weights + (int32_t)oc * taps + (int32_t)r * len, taps, len, acc);
        }
        return;
    }
#endif
    for (j = 0; j < count; ++j) {
        const int8_t *w = p->weights + (int32_t)(oc + j) * taps;
        int32_t a = acc[j];
        for (r = 0; r < rows; ++r) {
            a += ec_dot(x + r * stride, w + (int32_t)r * len, len);
        }
        acc[j] = a;
    }
}

/* Copies the receptive field of (iy0, ix0) into window as (k_h, k_w, in_c),
 * with the input zero point where it falls in the padding: x + in_offset is
 * then 0 there, so eff_bias stays exact. */
static void ec_gather(const ec_conv_params *p, const int8_t *in, int iy0, int ix0, int8_t *window)
{
    const int8_t zero_point = (int8_t)(-p->in_offset);
    int ky, kx, c;
    for (ky = 0; ky < p->k_h; ++ky) {
        const int iy = iy0 + ky * p->dil_h;
        for (kx = 0; kx < p->k_w; ++kx) {
            const int ix = ix0 + kx * p->dil_w;
            int8_t *dst = window + (ky * p->k_w + kx) * p->in_c;
            const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
            const int8_t *src = in + ((int32_t)iy * p->in_w + ix) * p->in_c;
            for (c = 0; c < p->in_c; ++c) {
                dst[c] = inside ? src[c] : zero_point;
            }
        }
    }
}

#ifdef EC_SMLAD
#define EC_OC_BLOCK 4 /* output channels per pass: ec_dot4 loads the input once for four */
#else
#define EC_OC_BLOCK 1
#endif
#define EC_WINDOW_MAX 576 /* receptive fields up to 3 x 3 x 64 are gathered on the stack */
#define EC_ROW_MIN 16     /* shorter rows are gathered into one long dot product */

void ec_conv2d_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int row = p->k_w * p->in_c;
    const int32_t taps = (int32_t)p->k_h * row;
    const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + (p->k_h - 1) * p->dil_h < p->in_h
                       && ix0 + (p->k_w - 1) * p->dil_w < p->in_w;
    int8_t window[EC_WINDOW_MAX];
    const int8_t *x;
    int32_t stride;
    int len, rows, oc, j;
    if (p->eff_bias != NULL && inside && p->dil_w == 1 && row >= EC_ROW_MIN) {
        x = in + ((int32_t)iy0 * p->in_w + ix0) * p->in_c; /* each kernel row is contiguous in NHWC */
        stride = (int32_t)p->dil_h * p->in_w * p->in_c;
        len = row;
        rows = p->k_h;
    } else if (p->eff_bias != NULL && taps <= EC_WINDOW_MAX) {
        ec_gather(p, in, iy0, ix0, window);
        x = window;
        stride = taps;
        len = (int)taps;
        rows = 1;
    } else {
        ec_conv2d_pixel_ref_s8(p, in, oy, ox, out);
        return;
    }
    for (oc = 0; oc < p->out_c; oc += EC_OC_BLOCK) {
        const int count = p->out_c - oc < EC_OC_BLOCK ? p->out_c - oc : EC_OC_BLOCK;
        int32_t acc[EC_OC_BLOCK];
        ec_conv_sums(p, x, stride, len, rows, oc, count, acc);
        for (j = 0; j < count; ++j) {
            out[oc + j] = ec_output(p, acc[j], oc + j);
        }
    }
}

void ec_pointwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    int oc;
    if (p->eff_bias == NULL) {
        ec_pointwise_pixel_ref_s8(p, in, out);
        return;
    }
    oc = 0;
#ifdef EC_SMLAD
    for (; oc + 4 <= p->out_c; oc += 4) {
        int32_t acc[4];
        int j;
        for (j = 0; j < 4; ++j) {
            acc[j] = p->eff_bias[oc + j];
        }
        ec_dot4(in, p->weights + (int32_t)oc * p->in_c, p->in_c, p->in_c, acc);
        for (j = 0; j < 4; ++j) {
            out[oc + j] = ec_output(p, acc[j], oc + j);
        }
    }
#endif
    for (; oc < p->out_c; ++oc) {
        out[oc] = ec_output(p, p->eff_bias[oc] + ec_dot(in, p->weights + (int32_t)oc * p->in_c, p->in_c), oc);
    }
}

#define EC_DW_CHUNK 32 /* channels accumulated together */

void ec_depthwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int c_all = p->out_c;
    int32_t acc[EC_DW_CHUNK];
    int c0, c, n, ky, kx;
    if (p->depth_mult != 1) {
        ec_depthwise_pixel_ref_s8(p, in, oy, ox, out);
        return;
    }
    for (c0 = 0; c0 < c_all; c0 += EC_DW_CHUNK) {
        n = c_all - c0 < EC_DW_CHUNK ? c_all - c0 : EC_DW_CHUNK;
        for (c = 0; c < n; ++c) {
            acc[c] = 0;
        }
        for (ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + p->dil_h * ky;
            if (iy < 0 || iy >= p->in_h) {
                continue;
            }
            for (kx = 0; kx < p->k_w; ++kx) {
                const int ix = ix0 + p->dil_w * kx;
                const int8_t *x = in + ((int32_t)iy * p->in_w + ix) * c_all + c0;
                const int8_t *w = p->weights + (ky * p->k_w + kx) * c_all + c0;
                if (ix < 0 || ix >= p->in_w) {
                    continue;
                }
                for (c = 0; c < n; ++c) {
                    acc[c] += (x[c] + p->in_offset) * w[c];
                }
            }
        }
        for (c = 0; c < n; ++c) {
            out[c0 + c] = ec_requant(p, acc[c], c0 + c);
        }
    }
}

#endif /* EC_REFERENCE_KERNELS */
