/* Conv2D, DepthwiseConv2D and the 1x1 pixel stage: TFLite's reference
 * per-channel int8 arithmetic (reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel): acc = sum((x + in_offset) * w) + bias, then
 * MultiplyByQuantizedMultiplier, + out_offset, clamp. Padded taps add 0.
 *
 * The *_ref functions here are the plain reference, written as the
 * arithmetic reads; ec_conv_fast.c has the ones the engine calls (same
 * integers, faster). */
#include "ec_conv_common.h"

void ec_conv2d_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int in_c = p->in_c;
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int taps = p->k_h * p->k_w * in_c;
    int oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = ec_conv_row(p, oc, taps);
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
                const int t0 = (ky * p->k_w + kx) * in_c;
                if (ix < 0 || ix >= p->in_w) {
                    continue;
                }
                x = in + ((int32_t)iy * p->in_w + ix) * in_c;
                for (ic = 0; ic < in_c; ++ic) {
                    acc += (x[ic] + p->in_offset) * EC_CONV_W(w, t0 + ic);
                }
            }
        }
        out[oc] = ec_output(p, acc + ec_bias(p, w, taps, oc), oc);
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
            out[oc] = ec_output(p, p->bias != NULL ? acc + p->bias[oc] : acc, oc); /* no eff_bias */
        }
    }
}

void ec_pointwise_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    int oc, ic;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = ec_conv_row(p, oc, p->in_c);
        int32_t acc = 0;
        for (ic = 0; ic < p->in_c; ++ic) {
            acc += (in[ic] + p->in_offset) * EC_CONV_W(w, ic);
        }
        out[oc] = ec_output(p, acc + ec_bias(p, w, p->in_c, oc), oc);
    }
}


void ec_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    int yx[2 * EC_PIXELS_MAX];
    int32_t i;
    int n = 0;
    /* EC_PIXELS_MAX pixels per call (the SIMD kernels share weight loads), in row-major order */
    for (i = 0; i < pixels; ++i) {
        yx[2 * n] = (int)(i / p->out_w);
        yx[2 * n + 1] = (int)(i % p->out_w);
        if (++n == EC_PIXELS_MAX || i + 1 == pixels) {
            ec_conv2d_pixels_s8(p, in, yx, n, out + (i + 1 - n) * p->out_c);
            n = 0;
        }
    }
}

void ec_depthwise_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out)
{
    const int32_t pixels = (int32_t)p->out_h * p->out_w;
    int yx[2 * EC_PIXELS_MAX];
    int32_t i;
    int n = 0;
    /* EC_PIXELS_MAX pixels per call (the SIMD kernel shares each channel group's constants) */
    for (i = 0; i < pixels; ++i) {
        yx[2 * n] = (int)(i / p->out_w);
        yx[2 * n + 1] = (int)(i % p->out_w);
        if (++n == EC_PIXELS_MAX || i + 1 == pixels) {
            ec_depthwise_pixels_s8(p, in, yx, n, out + (i + 1 - n) * p->out_c);
            n = 0;
        }
    }
}
