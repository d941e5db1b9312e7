/* Requantization in the SIMD kernels (ec_conv_simd.c, ec_dw_simd.c). */
#ifndef EC_REQUANT_SIMD_H
#define EC_REQUANT_SIMD_H

#include "ec_conv_common.h"
#include "ec_simd.h"

#ifdef EC_SIMD

/* Requantization of requant_32 layers (every shift < 0, 2 * acc fits in
 * int32): gemmlowp's doubling high multiply (acc * mult + 2^30) >> 31 equals
 * SMMULR(2 acc, mult), and its rounding right shift (ties away from zero) is
 * (x + half - (x < 0)) >> right; SSAT saturates to int8, the activation
 * clamp follows only when its range is narrower. Same integers as ec_output. */
typedef struct {
    int32_t mult, half, zero_point;
    int right;
} ec_rq;

EC_ALWAYS_INLINE ec_rq ec_rq_channel(const ec_conv_params *p, int oc)
{
    ec_rq r;
    r.mult = p->mult[oc];
    r.right = -p->shift[oc];
    r.half = (int32_t)(1u << (r.right - 1));
    r.zero_point = p->out_offset;
    return r;
}

EC_ALWAYS_INLINE int8_t ec_rq_apply(const ec_conv_params *p, ec_rq r, int clamp, int32_t acc)
{
    int32_t x = ec_smmulr((int32_t)((uint32_t)acc << 1), r.mult);
    x = ec_ssat8(((x + r.half + (x >> 31)) >> r.right) + r.zero_point);
    return (int8_t)(clamp ? ec_clamp(x, p->act_min, p->act_max) : x);
}

/* ec_output(p, acc, oc) as the depthwise kernels compute it (ec_rq_out's arithmetic on requant_32 layers). */
static inline int8_t ec_dw_output(const ec_conv_params *p, int32_t acc, int oc)
{
    int32_t x;
    if (!p->requant_32) {
        return ec_output(p, acc, oc);
    }
    x = ec_smmulr((int32_t)((uint32_t)acc << 1), p->mult[oc]);
    x += x >> 31;
    x = ec_ssat8(((x >> (-p->shift[oc] - 1)) + 1 + 2 * p->out_offset) >> 1);
    return (int8_t)ec_clamp(x, p->act_min, p->act_max);
}

/* Requantizes acc[0 .. n-1] of channel oc to out[0], out[stride], ... */
static inline void ec_store(const ec_conv_params *p, const int32_t *acc, int n, int oc, int stride, int8_t *out)
{
    int i;
    if (p->requant_32) {
        const ec_rq r = ec_rq_channel(p, oc);
        const int clamp = p->act_min > -128 || p->act_max < 127;
        for (i = 0; i < n; ++i) {
            out[i * stride] = ec_rq_apply(p, r, clamp, acc[i]);
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        out[i * stride] = ec_output(p, acc[i], oc);
    }
}

#endif /* EC_SIMD */

#endif /* EC_REQUANT_SIMD_H */
