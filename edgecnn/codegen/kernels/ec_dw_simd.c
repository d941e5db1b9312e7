/* SIMD depthwise conv (cores with the DSP extension, or the C emulation of
 * ec_simd.h with -DEC_SIMD_EMULATE): depth multiplier 1, channels a multiple
 * of 4, four channels at a time with SMLABB / SMLATT on int16 halves; the
 * same integers as ec_depthwise_pixel_ref_s8 (ec_conv.c). */
#include "ec_requant_simd.h"

#ifdef EC_SIMD

#define EC_DW_TAPS 25 /* kernels up to 5 x 5 */

/* taps: (input pixel, weights) pointer pairs of the valid taps, then NULL. */
#if defined(__ARM_FEATURE_DSP)
/* acc[0..3] += sum over the taps of (x + in_offset) * w for channels c .. c + 3.
 * Per tap: two data loads, SXTAB16 (sign-extend and add in_offset) twice,
 * SXTB16 twice, four SMLABB/SMLATT, LDRD of the next pointer pair, CMP with
 * the terminator, BNE: 13 instructions for 4 MACs.
 * The asm takes 11 register operands. With the FPU on (-mfloat-abi=softfp or
 * hard), gcc moves SImode values with its VFP move patterns, whose load and
 * store alternatives favour r0-r7, and a loop of 13 live registers (separate
 * x and w pointer arrays and an end pointer) then has "impossible
 * constraints" at every -O level; the pointer pairs (one base register, one
 * LDRD) and the NULL terminator (no end register) take two registers off. */
static void ec_dw_taps4(const int8_t *const *taps, int c, uint32_t offset, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xe, xo, we, wo;
    if (taps[0] == NULL) {
        return;
    }
    __asm__("ldrd %[xe], %[we], [%[taps]], #8\n"
            "1:\n\t"
            "ldr %[xe], [%[xe], %[c]]\n\t"
            "ldr %[we], [%[we], %[c]]\n\t"
            "sxtab16 %[xo], %[off], %[xe], ror #8\n\t"
            "sxtab16 %[xe], %[off], %[xe]\n\t"
            "sxtb16 %[wo], %[we], ror #8\n\t"
            "sxtb16 %[we], %[we]\n\t"
            "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
            "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
            "smlabb %[a1], %[xo], %[wo], %[a1]\n\t"
            "smlatt %[a3], %[xo], %[wo], %[a3]\n\t"
            "ldrd %[xe], %[we], [%[taps]], #8\n\t"
            "cmp %[xe], #0\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [taps] "+r"(taps),
              [xe] "=&r"(xe), [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo)
            : [c] "r"(c), [off] "r"(offset)
            : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#else
static void ec_dw_taps4(const int8_t *const *taps, int c, uint32_t offset, int32_t *acc)
{
    for (; taps[0] != NULL; taps += 2) {
        const uint32_t xv = ec_load4(taps[0] + c), wv = ec_load4(taps[1] + c);
        const uint32_t xe = ec_sadd16(offset, ec_sxtb16(xv)), xo = ec_sadd16(offset, ec_sxtb16_ror8(xv));
        const uint32_t we = ec_sxtb16(wv), wo = ec_sxtb16_ror8(wv);
        acc[0] = ec_smlabb(xe, we, acc[0]);
        acc[2] = ec_smlatt(xe, we, acc[2]);
        acc[1] = ec_smlabb(xo, wo, acc[1]);
        acc[3] = ec_smlatt(xo, wo, acc[3]);
    }
}
#endif

/* Depthwise conv, depth multiplier 1, channels a multiple of 4: four
 * channels per pass, their accumulators in registers (ec_dw_taps4). */
int ec_depthwise_pixel_simd(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int c_all = p->out_c;
    const uint32_t offset = (uint32_t)(uint16_t)p->in_offset * 0x00010001u;
    const int clamp = p->act_min > -128 || p->act_max < 127;
    const int8_t *taps[2 * EC_DW_TAPS + 2];
    int ky, kx, c, j, n = 0;
    if (p->depth_mult != 1 || (c_all & 3) != 0 || p->k_h * p->k_w > EC_DW_TAPS) {
        return 0;
    }
    for (ky = 0; ky < p->k_h; ++ky) {
        const int iy = iy0 + p->dil_h * ky;
        for (kx = 0; kx < p->k_w; ++kx) {
            const int ix = ix0 + p->dil_w * kx;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                taps[n++] = in + ((int32_t)iy * p->in_w + ix) * c_all;
                taps[n++] = p->weights + (ky * p->k_w + kx) * c_all;
            }
        }
    }
    taps[n] = NULL;
    taps[n + 1] = NULL;
    for (c = 0; c < c_all; c += 4) {
        int32_t acc[4];
        for (j = 0; j < 4; ++j) {
            acc[j] = p->bias != NULL ? p->bias[c + j] : 0;
        }
        ec_dw_taps4(taps, c, offset, acc);
        if (p->requant_32 && !clamp) {
            for (j = 0; j < 4; ++j) {
                out[c + j] = ec_rq_apply(p, ec_rq_channel(p, c + j), 0, acc[j]);
            }
        } else {
            for (j = 0; j < 4; ++j) {
                ec_store(p, acc + j, 1, c + j, 1, out + c + j);
            }
        }
    }
    return 1;
}

#else
typedef int ec_dw_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
