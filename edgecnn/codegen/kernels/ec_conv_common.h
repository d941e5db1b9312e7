/* Requantization of a conv accumulator, shared by the reference and the fast conv kernels. */
#ifndef EC_CONV_COMMON_H
#define EC_CONV_COMMON_H

#include "ec_fixedpoint.h"
#include "ec_kernels.h"

/* acc already includes the bias. */
static inline int8_t ec_output(const ec_conv_params *p, int32_t acc, int oc)
{
    acc = ec_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
    return (int8_t)ec_clamp(acc, p->act_min, p->act_max);
}

/* ec_output in 32-bit steps for requant_32 layers (every shift < 0 and
 * |2 acc| < 2^31, proved by the generator): gemmlowp's doubling high multiply
 * (acc * mult + 2^30) >> 31 is the rounded high word of (2 acc) * mult, and
 * its rounding right shift (ties away from zero) is (x + half - (x < 0)) >> right.
 * Same integers; the fast kernel sets use it, the reference set does not. */
static inline int8_t ec_output_fast(const ec_conv_params *p, int32_t acc, int oc)
{
    const int right = -p->shift[oc];
    int32_t x;
    if (!p->requant_32) {
        return ec_output(p, acc, oc);
    }
    x = (int32_t)(((int64_t)(acc * 2) * p->mult[oc] + ((int64_t)1 << 31)) >> 32);
    x = (x + (int32_t)(1u << (right - 1)) + (x >> 31)) >> right;
    return (int8_t)ec_clamp(x + p->out_offset, p->act_min, p->act_max);
}

/* Conv weights (the generator's conv_weight_layout): each channel's row of
 * taps padded with zeros to whole words, an odd out_c padded with a zero
 * row, the rows of channels 2k and 2k + 1 interleaved a word at a time so
 * one 8-byte load fetches four taps of both (the SIMD core). Tap t of the
 * channel whose row starts at `row` is EC_CONV_W(row, t). */
static inline const int8_t *ec_conv_row(const ec_conv_params *p, int oc, int32_t taps)
{
    return p->weights + (int32_t)(oc >> 1) * 8 * ((taps + 3) >> 2) + 4 * (oc & 1);
}
#define EC_CONV_W(row, t) ((row)[(((t) >> 2) << 3) + ((t) & 3)])

/* Channel oc's bias, its `taps` weights in the row at w (ec_conv_row). A conv with eff_bias has no
 * bias array (the generator leaves out the copy it would be): bias =
 * eff_bias - in_offset * the sum of the channel's weights, exact in int32
 * since bias itself is an int32. */
static inline int32_t ec_bias(const ec_conv_params *p, const int8_t *w, int32_t taps, int oc)
{
    int32_t sum = 0, t;
    if (p->bias != NULL || p->eff_bias == NULL) {
        return p->bias != NULL ? p->bias[oc] : 0;
    }
    for (t = 0; t < taps; ++t) {
        sum += EC_CONV_W(w, t);
    }
    return p->eff_bias[oc] - p->in_offset * sum;
}

/* The receptive field of the output pixel whose top-left tap is (iy0, ix0),
 * as (k_h, k_w, in_c) int8 values, with the input zero point where it falls
 * in the padding: x + in_offset is then 0 there, so eff_bias stays exact. */
void ec_gather_s8(const ec_conv_params *p, const int8_t *in, int iy0, int ix0, int8_t *window);

/* The SIMD kernels (ec_conv_simd.c, only with EC_SIMD): each returns 0
 * without writing anything when its shapes are not ones it handles
 * (ec_conv_simd_takes(p, taps) tells beforehand for conv and 1x1 conv).
 * With acc_max != NULL, conv and 1x1 conv write no output but raise
 * acc_max[oc] to the largest accumulator of the n pixels (a max pool
 * follows; ec_requant_max_simd then writes the pooled pixel). */
int ec_conv_simd_takes(const ec_conv_params *p, int32_t taps);
int ec_conv2d_pixels_simd(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out,
                          int32_t *acc_max);
int ec_pointwise_pixels_simd(const ec_conv_params *p, const int8_t *in, int n, int8_t *out, int32_t *acc_max);
void ec_requant_max_simd(const ec_conv_params *p, const int32_t *acc_max, int8_t *out);
/* Depthwise, n <= EC_PIXELS_MAX output pixels (yx pairs) to out (n x out_c bytes); 0 if not taken
 * (ec_dw3_simd.c: the 3 x 3 kernel, the rest through ec_dw_batch). */
int ec_depthwise_pixels_simd(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out);
/* ec_dw_simd.c: depthwise through tap lists, any shape with kernels up to 5 x 5 (else 0). */
int ec_dw_batch(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out);

#endif /* EC_CONV_COMMON_H */
