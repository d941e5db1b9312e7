/* Conv2D, DepthwiseConv2D and the 1x1 pixel stage: TFLite's reference
 * per-channel int8 arithmetic (reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel): acc = sum((x + in_offset) * w) + bias, then
 * MultiplyByQuantizedMultiplier, + out_offset, clamp. Padded taps add 0.
 *
 * The *_ref functions are the plain reference, written as the arithmetic
 * reads. The functions the engine calls compute the same integers faster:
 * away from the borders a conv accumulates plain dot products of contiguous
 * rows and starts from eff_bias = bias + in_offset * (sum of the channel's
 * weights), which the generator precomputes; a depthwise conv accumulates
 * whole channel vectors at once. Built with -DEC_REFERENCE_KERNELS they
 * call the reference functions only (the tests compare the two builds). */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"

/* acc already includes the bias. */
static int8_t ec_output(const ec_conv_params *p, int32_t acc, int oc)
{
    acc = ec_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
    return (int8_t)ec_clamp(acc, p->act_min, p->act_max);
}

static int8_t ec_requant(const ec_conv_params *p, int32_t acc, int oc)
{
    return ec_output(p, p->bias != NULL ? acc + p->bias[oc] : acc, oc);
}

void ec_conv2d_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int in_c = p->in_c;
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int taps = p->k_h * p->k_w * in_c;
    int oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = p->weights + (int32_t)oc * taps;
        int32_t acc = 0;
        int ky, kx, ic;
        for (ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + p->dil_h * ky;
            if (iy < 0 || iy >= p->in_h) {
                continue;
            }
            for (kx = 0; kx < p->k_w; ++kx) {
                const int ix = ix0 + p->dil_w * kx;
                const int8_t *x;
                const int8_t *wk;
                if (ix < 0 || ix >= p->in_w) {
                    continue;
                }
                x = in + ((int32_t)iy * p->in_w + ix) * in_c;
                wk = w + (ky * p->k_w + kx) * in_c;
                for (ic = 0; ic < in_c; ++ic) {
                    acc += (x[ic] + p->in_offset) * wk[ic];
                }
            }
        }
        out[oc] = ec_requant(p, acc, oc);
    }
}

void ec_depthwise_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    int ic, m;
    for (ic = 0; ic < p->in_c; ++ic) {
        for (m = 0; m < p->depth_mult; ++m) {
            const int oc = ic * p->depth_mult + m;
            int32_t acc = 0;
            int ky, kx;
            for (ky = 0; ky < p->k_h; ++ky) {
                const int iy = iy0 + p->dil_h * ky;
                if (iy < 0 || iy >= p->in_h) {
                    continue;
                }
                for (kx = 0; kx < p->k_w; ++kx) {
                    const int ix = ix0 + p->dil_w * kx;
                    if (ix < 0 || ix >= p->in_w) {
                        continue;
                    }
                    acc += (in[((int32_t)iy * p->in_w + ix) * p->in_c + ic] + p->in_offset)
                           * p->weights[(ky * p->k_w + kx) * p->out_c + oc];
                }
            }
            out[oc] = ec_requant(p, acc, oc);
        }
    }
}

void ec_pointwise_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    int oc, ic;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = p->weights + (int32_t)oc * p->in_c;
        int32_t acc = 0;
        for (ic = 0; ic < p->in_c; ++ic) {
            acc += (in[ic] + p->in_offset) * w[ic];
        }
        out[oc] = ec_requant(p, acc, oc);
    }
}

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

static int32_t ec_dot(const int8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    int i;
    for (i = 0; i < n; ++i) {
        s += a[i] * b[i];
    }
    return s;
}

void ec_conv2d_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int in_c = p->in_c;
    const int taps = p->k_h * p->k_w * in_c;
    int oc, ky, kx;
    if (p->eff_bias == NULL || iy0 < 0 || ix0 < 0 || iy0 + (p->k_h - 1) * p->dil_h >= p->in_h
        || ix0 + (p->k_w - 1) * p->dil_w >= p->in_w) {
        ec_conv2d_pixel_ref_s8(p, in, oy, ox, out); /* a tap falls in the padding */
        return;
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = p->weights + (int32_t)oc * taps;
        int32_t acc = p->eff_bias[oc];
        for (ky = 0; ky < p->k_h; ++ky) {
            const int8_t *x = in + ((int32_t)(iy0 + ky * p->dil_h) * p->in_w + ix0) * in_c;
            const int8_t *wr = w + ky * p->k_w * in_c;
            if (p->dil_w == 1) {
                acc += ec_dot(x, wr, p->k_w * in_c); /* the row's taps are contiguous */
            } else {
                for (kx = 0; kx < p->k_w; ++kx) {
                    acc += ec_dot(x + kx * p->dil_w * in_c, wr + kx * in_c, in_c);
                }
            }
        }
        out[oc] = ec_output(p, acc, oc);
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

void ec_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            ec_conv2d_pixel_s8(p, in, oy, ox, out + ((int32_t)oy * p->out_w + ox) * p->out_c);
        }
    }
}

void ec_depthwise_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            ec_depthwise_pixel_s8(p, in, oy, ox, out + ((int32_t)oy * p->out_w + ox) * p->out_c);
        }
    }
}
