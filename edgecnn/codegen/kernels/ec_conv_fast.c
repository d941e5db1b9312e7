/* Conv2D, DepthwiseConv2D and the 1x1 pixel stage: TFLite's reference
 * per-channel int8 arithmetic (reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel): acc = sum((x + in_offset) * w) + bias, then
 * MultiplyByQuantizedMultiplier, + out_offset, clamp. Padded taps add 0.
 *
 * The functions the engine calls, computing the same integers as the *_ref
 * reference functions (ec_conv.c) faster. Conv and 1x1 conv start from
 * eff_bias = bias + in_offset * (sum of the channel's weights), which the
 * generator precomputes: batches of up to 4 pixels (ec_conv2d_pixels_s8,
 * ec_pointwise_pixels_s8) gather their receptive fields once (zero point at
 * the borders) as int16 and make four sums per pass over a weight row; single
 * pixels use dot products of contiguous input rows. A depthwise conv accumulates
 * whole channel vectors at once. On cores with the DSP extension
 * (Cortex-M4 and up), unless built with -DEC_NO_SIMD, the SIMD kernels of
 * ec_conv_simd.c take over the shapes they handle. Built with
 * -DEC_REFERENCE_KERNELS they call the reference functions only (the tests
 * compare the builds). */
#include "ec_conv_common.h"
#include "ec_simd.h"

#ifdef EC_REFERENCE_KERNELS

void ec_conv2d_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    ec_conv2d_pixel_ref_s8(p, in, oy, ox, out);
}

void ec_depthwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    ec_depthwise_pixel_ref_s8(p, in, oy, ox, out);
}

void ec_depthwise_pixels_s8(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    int i;
    for (i = 0; i < n; ++i) {
        ec_depthwise_pixel_ref_s8(p, in, yx[2 * i], yx[2 * i + 1], out + i * p->out_c);
    }
}

void ec_pointwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    ec_pointwise_pixel_ref_s8(p, in, out);
}

#else

/* Not inlined: in the callers' register pressure gcc -Os spilled the loop's
 * pointers (13 instead of 5 instructions per MAC on Cortex-M4). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int32_t ec_dot(const int8_t *a, const int8_t *row, int32_t t0, int n)
{
    int32_t s = 0;
    int i;
    for (i = 0; i < n; ++i) {
        s += a[i] * EC_CONV_W(row, t0 + i);
    }
    return s;
}


/* acc[j] = eff_bias + sum over `rows` rows of `len` contiguous taps, for
 * output channels oc .. oc + count - 1: row r of the input starts at
 * x + r * stride, of the channel's weights at taps r * len (EC_CONV_W). */
static void ec_conv_sums(const ec_conv_params *p, const int8_t *x, int32_t stride, int len, int rows, int oc,
                         int count, int32_t *acc)
{
    const int32_t taps = (int32_t)p->k_h * p->k_w * p->in_c;
    int j, r;
    for (j = 0; j < count; ++j) {
        acc[j] = p->eff_bias[oc + j];
    }
    for (j = 0; j < count; ++j) {
        const int8_t *w = ec_conv_row(p, oc + j, taps);
        int32_t a = acc[j];
        for (r = 0; r < rows; ++r) {
            a += ec_dot(x + r * stride, w, (int32_t)r * len, len);
        }
        acc[j] = a;
    }
}

void ec_gather_s8(const ec_conv_params *p, const int8_t *in, int iy0, int ix0, int8_t *window)
{
    const int8_t zero_point = (int8_t)(-p->in_offset);
    const int row = p->k_w * p->in_c;
    const int row_inside = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    int ky, kx, c;
    for (ky = 0; ky < p->k_h; ++ky) {
        const int iy = iy0 + ky * p->dil_h;
        if (row_inside && iy >= 0 && iy < p->in_h) { /* the kernel row is contiguous in NHWC */
            const int8_t *src = in + ((int32_t)iy * p->in_w + ix0) * p->in_c;
            for (c = 0; c < row; ++c) {
                window[ky * row + c] = src[c];
            }
            continue;
        }
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

#define EC_OC_BLOCK 1
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
        ec_gather_s8(p, in, iy0, ix0, window);
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
            out[oc + j] = ec_output_fast(p, acc[j], oc + j);
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
    for (oc = 0; oc < p->out_c; ++oc) {
        out[oc] = ec_output_fast(p, p->eff_bias[oc] + ec_dot(in, ec_conv_row(p, oc, p->in_c), 0, p->in_c), oc);
    }
}

#define EC_DW_CHUNK 32 /* channels accumulated together */

void ec_depthwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int c_all = p->out_c;
    const int16_t in_offset = (int16_t)p->in_offset;
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
                    /* |x + in_offset| <= 255, |w| <= 128: the product fits int16 (vectorises as PMULLW) */
                    acc[c] += (int16_t)((int16_t)(x[c] + in_offset) * w[c]);
                }
            }
        }
        for (c = 0; c < n; ++c) {
            out[c0 + c] = ec_output_fast(p, p->bias != NULL ? acc[c] + p->bias[c0 + c] : acc[c], c0 + c);
        }
    }
}

void ec_depthwise_pixels_s8(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    int i;
#ifdef EC_SIMD
    if (ec_depthwise_pixels_simd(p, in, yx, n, out)) {
        return;
    }
#endif
    for (i = 0; i < n; ++i) {
        ec_depthwise_pixel_s8(p, in, yx[2 * i], yx[2 * i + 1], out + i * p->out_c);
    }
}

#endif /* EC_REFERENCE_KERNELS */

#ifndef EC_REFERENCE_KERNELS

#define EC_BATCH_TAPS 160 /* taps per pixel of a batch, as int16 on the stack (4 x 160 x 2 bytes) */

/* acc[i] += x[i] . w over taps for the n <= EC_PIXELS_MAX pixels of x (rows
 * of EC_BATCH_TAPS int16), one pass over the weights for all of them. int16
 * operands: gcc -O3 vectorises the four sums with PMADDWD (SSE2) /
 * VPMADDWD, which it does not do for int8 ones. */
static void ec_dot_batch(const int16_t (*x)[EC_BATCH_TAPS], int n, const int16_t *w, int taps, int32_t *acc)
{
    int t, i;
    if (n == EC_PIXELS_MAX) {
        const int16_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        for (t = 0; t < taps; ++t) {
            const int16_t wt = w[t];
            a0 += x0[t] * wt;
            a1 += x1[t] * wt;
            a2 += x2[t] * wt;
            a3 += x3[t] * wt;
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        return;
    }
    for (i = 0; i < n; ++i) {
        int32_t a = acc[i];
        for (t = 0; t < taps; ++t) {
            a += x[i][t] * w[t];
        }
        acc[i] = a;
    }
}

/* All output channels of the n pixels whose taps (in weight order) are x[i]. */
static void ec_batch(const ec_conv_params *p, const int16_t (*x)[EC_BATCH_TAPS], int n, int taps, int8_t *out)
{
    int16_t w16[EC_BATCH_TAPS];
    int oc, i, t;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = ec_conv_row(p, oc, taps);
        int32_t acc[EC_PIXELS_MAX];
        for (t = 0; t < taps; ++t) {
            w16[t] = EC_CONV_W(w, t);
        }
        for (i = 0; i < n; ++i) {
            acc[i] = p->eff_bias[oc];
        }
        ec_dot_batch(x, n, w16, taps, acc);
        for (i = 0; i < n; ++i) {
            out[i * p->out_c + oc] = ec_output_fast(p, acc[i], oc);
        }
    }
}

/* The portable batch of conv pixels: receptive fields gathered (zero point
 * at the borders) and widened to int16, then ec_batch. Not inlined: its
 * buffers take the stack only while it runs. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ec_conv2d_batch(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    const int taps = p->k_h * p->k_w * p->in_c;
    int16_t x[EC_PIXELS_MAX][EC_BATCH_TAPS];
    int8_t window[EC_BATCH_TAPS];
    int i, t;
    for (i = 0; i < n; ++i) {
        ec_gather_s8(p, in, yx[2 * i] * p->stride_h - p->pad_top, yx[2 * i + 1] * p->stride_w - p->pad_left, window);
        for (t = 0; t < taps; ++t) {
            x[i][t] = window[t];
        }
    }
    ec_batch(p, (const int16_t(*)[EC_BATCH_TAPS])x, n, taps, out);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ec_pointwise_batch(const ec_conv_params *p, const int8_t *in, int n, int8_t *out)
{
    int16_t x[EC_PIXELS_MAX][EC_BATCH_TAPS];
    int i, t;
    for (i = 0; i < n; ++i) {
        for (t = 0; t < p->in_c; ++t) {
            x[i][t] = in[i * p->in_c + t];
        }
    }
    ec_batch(p, (const int16_t(*)[EC_BATCH_TAPS])x, n, p->in_c, out);
}

#endif /* EC_REFERENCE_KERNELS */

/* Both kernel sets: the SIMD kernels when built with them, else batches of
 * pixels (the portable set) or pixel by pixel (the reference set). */
void ec_conv2d_pixels_s8(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    int i;
#ifdef EC_SIMD
    if (ec_conv2d_pixels_simd(p, in, yx, n, out, NULL)) {
        return;
    }
#endif
#ifndef EC_REFERENCE_KERNELS
    if (p->eff_bias != NULL && (int32_t)p->k_h * p->k_w * p->in_c <= EC_BATCH_TAPS && n > 1) {
        ec_conv2d_batch(p, in, yx, n, out);
        return;
    }
#endif
    for (i = 0; i < n; ++i) {
        ec_conv2d_pixel_s8(p, in, yx[2 * i], yx[2 * i + 1], out + i * p->out_c);
    }
}

void ec_pointwise_pixels_s8(const ec_conv_params *p, const int8_t *in, int n, int8_t *out)
{
    int i;
#ifdef EC_SIMD
    if (ec_pointwise_pixels_simd(p, in, n, out, NULL)) {
        return;
    }
#endif
#ifndef EC_REFERENCE_KERNELS
    if (p->eff_bias != NULL && p->in_c <= EC_BATCH_TAPS && n > 1) {
        ec_pointwise_batch(p, in, n, out);
        return;
    }
#endif
    for (i = 0; i < n; ++i) {
        ec_pointwise_pixel_s8(p, in + i * p->in_c, out + i * p->out_c);
    }
}
