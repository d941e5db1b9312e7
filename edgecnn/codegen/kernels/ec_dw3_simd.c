/* SIMD depthwise conv, the common MobileNet / DS-CNN case: 3 x 3 kernel,
 * depth multiplier 1, channels a multiple of 4, no dilation, requant_32,
 * a bias; every output pixel with at most one kernel column in the padding
 * (ec_dw_simd.c takes the others, inputs 1 pixel wide, and every other
 * shape). The same integers as ec_depthwise_pixel_ref_s8 (ec_conv.c).
 *
 * ec_depthwise_pixels_simd is here: the pixels of a batch the kernel takes go
 * to one call of ec_dw3_run, the others to ec_dw_batch (ec_dw_simd.c).
 *
 * Per output pixel, all channels, per group of 4 channels
 * the 4 sums start from the bias (one LDM), the taps are read at fixed
 * offsets from the pixel's first valid input row and the weights (no tap
 * list; rows in the padding are skipped, a column in the padding by entering
 * each row at its second tap), and the 4 sums are requantized in registers
 * and stored as one word. */
#include "ec_requant_simd.h"

#include <stddef.h>

#ifdef EC_SIMD

/* One pixel: its input rows that lie inside the input (rows of them, 1 to 3), x and w the
 * addresses of the first one's tap 0 and its weights; with from_tap1 the rows start at tap 1
 * (x and w then address a tap 0 in the padding: the pixel's left column, or, with x and w moved
 * back one tap, its right one). Addresses as integers: they may lie outside the arrays. */
typedef struct {
    uintptr_t x, w;
    int8_t *out;
    int32_t rows, from_tap1;
} ec_dw3_job;

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
/* One tap: 4 MACs in 10 instructions (two loads, four sign extensions, the
 * first two adding in_offset, four 16-bit MACs). */
#define EC_DW3_TAP(xa, wa)                                                                        \
    "ldr r4, " xa "\n\t"                                                                          \
    "ldr r6, " wa "\n\t"                                                                          \
    "sxtab16 r5, r11, r4, ror #8\n\t"                                                             \
    "sxtab16 r4, r11, r4\n\t"                                                                     \
    "sxtb16 r7, r6, ror #8\n\t"                                                                   \
    "sxtb16 r6, r6\n\t"                                                                           \
    "smlabb r0, r4, r6, r0\n\t"                                                                   \
    "smlatt r2, r4, r6, r2\n\t"                                                                   \
    "smlabb r1, r5, r7, r1\n\t"                                                                   \
    "smlatt r3, r5, r7, r3\n\t"

/* One sum (register a) requantized as ec_rq_out does: SMMULR of 2 a, t = x - (x < 0),
 * ((t >> (right - 1)) + k) >> 1 saturated to int8; r6 holds right - 1 of this channel in its
 * low byte (ASR by register reads only that byte), shifted down for the next channel. */
#define EC_DW3_RQ(a, m)                                                                           \
    "lsl " a ", " a ", #1\n\t"                                                                    \
    "smmulr " a ", " a ", " m "\n\t"                                                               \
    "add " a ", " a ", " a ", asr #31\n\t"                                                        \
    "asr " a ", " a ", r6\n\t"                                                                    \
    "add " a ", " a ", r7\n\t"                                                                    \
    "ssat " a ", #8, " a ", asr #1\n\t"                                                           \
    "lsr r6, r6, #8\n\t"

/* A whole function: the tap loop needs 14 registers (4 sums, 4 operands, input and weight
 * pointers, channels, in_offset, row stride, the row count), more than gcc gives inline
 * assembly at -O0 or with the FPU on. It reads the parameter struct at the offsets that the
 * typedefs below check; p, the pixel's job, the clamp bounds in every byte, k = 1 + 2 out_offset,
 * the group's first channel c and the job pointers live on the stack. Per group: the job's rows of 3 taps (10
 * instructions each; rows of 2 enter at the second tap, LDR PC from the stack) and 5 around
 * each row, 1 + 4 x 7 to requantize, the activation clamp on the packed word (SSUB8 + SEL,
 * twice), one STR. */
typedef char ec_dw3_layout[offsetof(ec_conv_params, in_w) == 2 && offsetof(ec_conv_params, in_c) == 4
                           && offsetof(ec_conv_params, out_c) == 10 && offsetof(ec_conv_params, in_offset) == 32
                           && offsetof(ec_conv_params, out_offset) == 36 && offsetof(ec_conv_params, act_min) == 40
                           && offsetof(ec_conv_params, act_max) == 44 && offsetof(ec_conv_params, weights) == 48
                           && offsetof(ec_conv_params, bias) == 52 && offsetof(ec_conv_params, mult) == 56
                           && offsetof(ec_conv_params, shift) == 60 && sizeof(ec_dw3_job) == 20 ? 1 : -1];
__attribute__((naked, noinline)) static void ec_dw3_run(const ec_conv_params *p __attribute__((unused)),
                                                        const ec_dw3_job *jobs __attribute__((unused)),
                                                        int n __attribute__((unused)))
{
    __asm__("push {r4-r11, lr}\n\t"
            "sub sp, sp, #48\n\t" /* [sp]: p, x, w, out, rows, entry, lo, hi, k, c, next job, end */
            "str r0, [sp]\n\t"
            "add r2, r2, r2, lsl #2\n\t"
            "add r2, r1, r2, lsl #2\n\t"
            "strd r1, r2, [sp, #40]\n\t"
            "ldr r3, [r0, #40]\n\t"
            "uxtb r3, r3\n\t"
            "orr r3, r3, r3, lsl #8\n\t"
            "orr r3, r3, r3, lsl #16\n\t"
            "ldr r4, [r0, #44]\n\t"
            "uxtb r4, r4\n\t"
            "orr r4, r4, r4, lsl #8\n\t"
            "orr r4, r4, r4, lsl #16\n\t"
            "strd r3, r4, [sp, #24]\n\t"
            "ldr r3, [r0, #36]\n\t"
            "add r3, r3, r3\n\t"
            "add r3, r3, #1\n\t"
            "str r3, [sp, #32]\n\t"
            "ldrsh r10, [r0, #10]\n\t"
            "ldrsh r12, [r0, #2]\n\t"
            "ldrsh r11, [r0, #4]\n\t"
            "mul r12, r12, r11\n\t"
            "ldr r11, [r0, #32]\n\t"
            "pkhbt r11, r11, r11, lsl #16\n\t"
            "0:\n\t" /* the next pixel's job to the frame, its row entry made an address */
            "ldr r1, [sp, #40]\n\t"
            "ldm r1!, {r4-r8}\n\t"
            "str r1, [sp, #40]\n\t"
            "adr r9, 8f\n\t"
            "ldr r8, [r9, r8, lsl #2]\n\t"
            "add r9, sp, #4\n\t"
            "stm r9, {r4-r8}\n\t"
            "movs r1, #0\n\t"
            "str r1, [sp, #36]\n\t"
            "1:\n\t"
            "ldr r1, [sp, #36]\n\t"
            "ldrd r8, r9, [sp, #4]\n\t"
            "add r8, r8, r1\n\t"
            "add r9, r9, r1\n\t"
            "ldr r2, [sp]\n\t"
            "ldr r2, [r2, #52]\n\t"
            "add r2, r2, r1, lsl #2\n\t"
            "ldm r2, {r0-r3}\n\t"
            "ldr lr, [sp, #16]\n\t"
            "ldr pc, [sp, #20]\n\t"
            "5:\n\t"
            EC_DW3_TAP("[r8]", "[r9]")
            "6:\n\t"
            EC_DW3_TAP("[r8, r10]", "[r9, r10]")
            EC_DW3_TAP("[r8, r10, lsl #1]", "[r9, r10, lsl #1]")
            "add r8, r8, r12\n\t"
            "add r9, r9, r10, lsl #1\n\t"
            "add r9, r9, r10\n\t"
            "subs lr, lr, #1\n\t"
            "beq 3f\n\t"
            "ldr pc, [sp, #20]\n\t"
            "3:\n\t"
            "ldr lr, [sp]\n\t"
            "ldr r4, [sp, #36]\n\t"
            "ldr r5, [lr, #56]\n\t"
            "add r5, r5, r4, lsl #2\n\t"
            "ldr r6, [lr, #60]\n\t"
            "ldr r6, [r6, r4]\n\t"
            "mvn r6, r6\n\t" /* ~shift = right - 1, in every byte */
            "ldr r7, [sp, #32]\n\t"
            "ldm r5, {r5, r8, r9, lr}\n\t" /* the 4 multipliers */
            EC_DW3_RQ("r0", "r5")
            EC_DW3_RQ("r1", "r8")
            EC_DW3_RQ("r2", "r9")
            EC_DW3_RQ("r3", "lr")
            "bfi r0, r1, #8, #8\n\t"
            "bfi r0, r2, #16, #8\n\t"
            "bfi r0, r3, #24, #8\n\t"
            "ldrd r1, r2, [sp, #24]\n\t"
            "ssub8 r3, r0, r1\n\t" /* GE where out >= act_min */
            "sel r0, r0, r1\n\t"
            "ssub8 r3, r2, r0\n\t" /* GE where out <= act_max */
            "sel r0, r0, r2\n\t"
            "ldr r1, [sp, #12]\n\t"
            "str r0, [r1, r4]\n\t"
            "add r4, r4, #4\n\t"
            "str r4, [sp, #36]\n\t"
            "cmp r4, r10\n\t"
            "blt 1b\n\t"
            "ldrd r0, r1, [sp, #40]\n\t"
            "cmp r0, r1\n\t"
            "bne 0b\n\t"
            "add sp, sp, #48\n\t"
            "pop {r4-r11, pc}\n\t"
            ".p2align 2\n\t"
            "8:\n\t" /* the row entries with the Thumb bit, for LDR PC */
            ".word 5b + 1, 6b + 1\n\t");
}
#else /* the C emulation: the same instructions' arithmetic, channel group by group */
static void ec_dw3_run(const ec_conv_params *p, const ec_dw3_job *job, int n)
{
    const int32_t c_all = p->out_c, row = (int32_t)p->in_w * p->in_c;
    const uint32_t off = (uint32_t)(uint16_t)p->in_offset * 0x00010001u;
    int32_t c, r, t, j;
    for (; n > 0; --n, ++job) {
        for (c = 0; c < c_all; c += 4) {
            int32_t a[4];
            memcpy(a, p->bias + c, sizeof a);
            for (r = 0; r < job->rows; ++r) {
                for (t = job->from_tap1; t < 3; ++t) {
                    const uint32_t xv = ec_load4((const int8_t *)(job->x + (uintptr_t)(r * row + t * c_all + c)));
                    const uint32_t wv = ec_load4((const int8_t *)(job->w + (uintptr_t)((3 * r + t) * c_all + c)));
                    const uint32_t xe = ec_sxtab16(off, xv), xo = ec_sxtab16_ror8(off, xv);
                    const uint32_t we = ec_sxtb16(wv), wo = ec_sxtb16_ror8(wv);
                    a[0] = ec_smlabb(xe, we, a[0]);
                    a[2] = ec_smlatt(xe, we, a[2]);
                    a[1] = ec_smlabb(xo, wo, a[1]);
                    a[3] = ec_smlatt(xo, wo, a[3]);
                }
            }
            for (j = 0; j < 4; ++j) {
                job->out[c + j] = ec_dw_output(p, a[j], c + j);
            }
        }
    }
}
#endif

/* The pixels the kernel takes: the layer 3 x 3, multiplier 1, channels % 4 == 0, no dilation,
 * requant_32, a bias, input at least 2 wide; the pixel with at most one kernel column in the
 * padding (rows in the padding are left out). The others go through ec_dw_batch's tap lists, as
 * one batch if the kernel takes no pixel of the layer, else one by one. */
int ec_depthwise_pixels_simd(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out)
{
    const int32_t c_all = p->out_c, in_h = p->in_h, in_w = p->in_w;
    ec_dw3_job jobs[EC_PIXELS_MAX];
    int i, k = 0;
    if (p->k_h != 3 || p->k_w != 3 || p->depth_mult != 1 || (c_all & 3) != 0 || p->dil_h != 1 || p->dil_w != 1
        || !p->requant_32 || p->bias == NULL || in_w < 2 || n > EC_PIXELS_MAX) {
        return ec_dw_batch(p, in, yx, n, out);
    }
    for (i = 0; i < n; ++i) {
        const int iy = yx[2 * i] * p->stride_h - p->pad_top, ix = yx[2 * i + 1] * p->stride_w - p->pad_left;
        const int ky0 = iy < 0 ? -iy : 0, rows = (in_h - iy < 3 ? in_h - iy : 3) - ky0, right = ix + 3 > in_w;
        /* in_w >= 2: ix = -1 (the left column in the padding) and ix = in_w - 2 (the right one) */
        if (rows <= 0 || (uint32_t)(ix + 1) >= (uint32_t)in_w) {
            ec_dw_batch(p, in, yx + 2 * i, 1, out + i * c_all);
            continue;
        }
        jobs[k].x = (uintptr_t)in + (uintptr_t)(((iy + ky0) * in_w + ix - right) * c_all);
        jobs[k].w = (uintptr_t)p->weights + (uintptr_t)((3 * ky0 - right) * c_all);
        jobs[k].out = out + i * c_all;
        jobs[k].rows = rows;
        jobs[k].from_tap1 = ix < 0 || right;
        ++k;
    }
    if (k > 0) {
        ec_dw3_run(p, jobs, k);
    }
    return 1;
}

#else
typedef int ec_dw3_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
