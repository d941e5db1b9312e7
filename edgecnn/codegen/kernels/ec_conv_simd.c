/* SIMD conv and 1x1 conv kernels (cores with the DSP extension, or the C
 * emulation of ec_simd.h with -DEC_SIMD_EMULATE): the same integers as the
 * reference kernels of ec_conv.c.
 *
 * Conv and 1x1 conv: the receptive field of each output pixel is expanded
 * once to int16 pairs (im2col) in the order SXTB16 splits a word of four
 * weights, (x0, x2) and (x1, x3); the core computes two output channels x
 * four output pixels, half a group at a time: one LDRD fetches both
 * channels' weight words (interleaved by the generator), two SXTB16 make
 * their (x0, x2) halves, two LDRDs the four pixels' (x0, x2) pairs, eight
 * SMLADs; then the same for (x1, x3). 32 MACs in 26 instructions, 38 cycles
 * at worst (no load pipelining), against 44 for one channel x four pixels.
 * Accumulators start from eff_bias (padding taps hold the zero point, whose
 * product it cancels).
 * Requantization: ec_requant_simd.h. A max pool that follows is applied to
 * the accumulators (one requantization per pooled pixel, ec_requant_max_simd).
 */
#include "ec_requant_simd.h"

#ifdef EC_SIMD

#define EC_COL_WORDS 320 /* im2col words on the stack: EC_PIXELS_MAX (4) pixels of up to 160 taps */
#define EC_SLOTS 4       /* pixels interleaved in col: group g of pixel s is col[8 g + s], col[8 g + 4 + s] */
#define EC_MAC_UNROLL 6  /* groups per loop pass of ec_mac_rows: its labels and entry table */

#if defined(__ARM_FEATURE_DSP)
/* The loop of ec_expand over two groups a pass, after `load` has put their
 * words into e and f (one LDRD from a word-aligned source, else two LDRs). */
#define EC_EXPAND_PAIRS(load)                                                                                \
    __asm__ volatile("1:\n\t" load "sxtb16 %[o], %[e], ror #8\n\t"                                          \
                     "sxtb16 %[e], %[e]\n\t"                                                                  \
                     "sxtb16 %[q], %[f], ror #8\n\t"                                                          \
                     "sxtb16 %[f], %[f]\n\t"                                                                  \
                     "str %[o], [%[col], #16]\n\t"                                                            \
                     "str %[e], [%[col]], #32\n\t"                                                            \
                     "str %[q], [%[col], #16]\n\t"                                                            \
                     "str %[f], [%[col]], #32\n\t"                                                            \
                     "cmp %[src], %[end]\n\t"                                                                 \
                     "bne 1b\n\t"                                                                             \
                     : [src] "+r"(src), [col] "+r"(col), [e] "=&r"(e), [o] "=&r"(o), [f] "=&r"(f), [q] "=&r"(q) \
                     : [end] "r"(end)                                                                        \
                     : "cc", "memory")
#endif

/* groups x 4 int8 values -> int16 pairs (x0, x2) at col[0], (x1, x3) at
 * col[EC_SLOTS] per four, every 2 * EC_SLOTS words; returns the col position
 * after the last group. */
EC_ALWAYS_INLINE uint32_t *ec_expand_inline(const int8_t *src, int groups, uint32_t *col)
{
#if defined(__ARM_FEATURE_DSP)
    const int8_t *end = src + 4 * (groups & ~1);
    uint32_t e, o, f, q;
    if (groups & 1) { /* LDR, two SXTB16, two STRs per group; volatile: it stores to col */
        __asm__ volatile("ldr %[e], [%[src]], #4\n\t"
                         "sxtb16 %[o], %[e], ror #8\n\t"
                         "sxtb16 %[e], %[e]\n\t"
                         "str %[o], [%[col], #16]\n\t"
                         "str %[e], [%[col]], #32\n\t"
                         : [src] "+r"(src), [col] "+r"(col), [e] "=&r"(e), [o] "=&r"(o)
                         :
                         : "memory");
        end += 4;
    }
    if (src != end && ((uintptr_t)src & 3) == 0) { /* then two groups per loop pass, one LDRD (aligned) */
        EC_EXPAND_PAIRS("ldrd %[e], %[f], [%[src]], #8\n\t");
    } else if (src != end) { /* or two LDRs */
        EC_EXPAND_PAIRS("ldr %[e], [%[src]], #4\n\t"
                        "ldr %[f], [%[src]], #4\n\t");
    }
    return col;
#else
    int g;
    for (g = 0; g < groups; ++g) {
        const uint32_t v = ec_load4(src + 4 * g);
        col[0] = ec_sxtb16(v);
        col[EC_SLOTS] = ec_sxtb16_ror8(v);
        col += 2 * EC_SLOTS;
    }
    return col;
#endif
}

/* ec_expand_inline as one function for the callers outside the hottest loop (each inlined copy
 * costs flash); a call costs about 20 cycles against the 9 per group of the expansion itself. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static uint32_t *ec_expand(const int8_t *src, int groups, uint32_t *col)
{
    return ec_expand_inline(src, groups, col);
}

/* words x 4 bytes from src to dst, unaligned: an LDR / STR loop (gcc would
 * otherwise turn the C loop into a call of memcpy). */
EC_ALWAYS_INLINE void ec_copy_words(int8_t *dst, const int8_t *src, int words)
{
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    const int8_t *end = src + 4 * words;
    uint32_t v;
    __asm__ volatile("1:\n\t"
                     "ldr %[v], [%[src]], #4\n\t"
                     "str %[v], [%[dst]], #4\n\t"
                     "cmp %[src], %[end]\n\t"
                     "bne 1b\n\t"
                     : [src] "+r"(src), [dst] "+r"(dst), [v] "=&r"(v)
                     : [end] "r"(end)
                     : "cc", "memory");
#else
    memcpy(dst, src, 4 * (size_t)words);
#endif
}

/* The receptive field of output pixel (oy, ox) into col (see ec_expand), the
 * zero point where it falls in the padding; in_c % 4 == 0. */
static void ec_im2col(const ec_conv_params *p, const int8_t *in, int oy, int ox, uint32_t *col)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int groups = p->in_c >> 2;
    const int row_inside = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    const uint32_t zero_point = ec_sxtb16((uint32_t)(uint8_t)(int8_t)(-p->in_offset) * 0x00010001u);
    int ky, kx, g;
    for (ky = 0; ky < p->k_h; ++ky) {
        const int iy = iy0 + ky * p->dil_h;
        const int8_t *src = in + ((int32_t)iy * p->in_w + ix0) * p->in_c;
        if (row_inside && iy >= 0 && iy < p->in_h) { /* the kernel row is contiguous in NHWC */
            col = ec_expand_inline(src, groups * p->k_w, col);
            continue;
        }
        for (kx = 0; kx < p->k_w; ++kx) {
            const int ix = ix0 + kx * p->dil_w;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                col = ec_expand(in + ((int32_t)iy * p->in_w + ix) * p->in_c, groups, col);
                continue;
            }
            for (g = 0; g < groups; ++g) {
                col[0] = zero_point;
                col[EC_SLOTS] = zero_point;
                col += 2 * EC_SLOTS;
            }
        }
    }
}

/* ec_gather_s8 for in_c < 4 (the pixels at the borders): kernel rows in
 * the padding filled with zero point words, the others tap by tap. Stores
 * may overshoot a tap by up to 3 bytes (the next tap or row overwrites them,
 * the caller's window has a word to spare); loads stay inside the input. */
static void ec_gather_narrow(const ec_conv_params *p, const int8_t *in, int iy0, int ix0, int8_t *w8)
{
    const int in_c = p->in_c, row = p->k_w * in_c;
    const uint32_t zero_point = (uint32_t)(uint8_t)(int8_t)(-p->in_offset) * 0x01010101u;
    int ky, kx, c;
    for (ky = 0; ky < p->k_h; ++ky, w8 += row) {
        const int iy = iy0 + ky * p->dil_h;
        int8_t *d = w8;
        if (iy < 0 || iy >= p->in_h) {
            for (c = 0; c < row; c += 4) {
                memcpy(w8 + c, &zero_point, 4);
            }
            continue;
        }
        for (kx = 0; kx < p->k_w; ++kx, d += in_c) {
            const int ix = ix0 + kx * p->dil_w;
            const int8_t *s;
            if (ix < 0 || ix >= p->in_w) {
                memcpy(d, &zero_point, 4);
                continue;
            }
            s = in + ((int32_t)iy * p->in_w + ix) * in_c;
            d[0] = s[0];
            if (in_c > 1) {
                d[1] = s[1];
            }
            if (in_c > 2) {
                d[2] = s[2];
            }
        }
    }
}

/* The receptive fields of the n pixels in yx into col when in_c % 4 != 0, as
 * (taps + 3) / 4 groups each: the last group ends in zeros, so the weight word
 * that reads past a channel's row (into the next row, or into the zero bytes
 * the generator appends after the last one) adds nothing and no tap is left
 * over. Inside the input, kernel rows of whole words are expanded straight
 * from it, others copied a word at a time (each over the previous one's
 * overshoot) unless the last word would read past the input tensor; at the
 * borders ec_gather_narrow / ec_gather_s8 put the zero point in the padding. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ec_im2col_narrow(const ec_conv_params *p, const int8_t *in, const int *yx, int n, uint32_t *col)
{
    const int k_h = p->k_h, in_w = p->in_w, in_c = p->in_c;
    const int row = p->k_w * in_c, taps = k_h * row, row_words = (row + 3) >> 2;
    const int32_t step = (int32_t)p->dil_h * in_w * in_c; /* from one kernel row to the next */
    /* the last pixel offset whose word copies stay inside the input (may be < 0) */
    const int32_t last = (int32_t)p->in_h * in_w * in_c - 4 * row_words - (k_h - 1) * step;
    const int x_max = in_w - p->k_w, y_max = p->in_h - 1 - (k_h - 1) * p->dil_h;
    uint32_t window[EC_COL_WORDS / 8 + 1]; /* taps rounded up to a word, and one word of zeros */
    int8_t *const w8 = (int8_t *)window;
    int i, ky;
    for (i = 0; i < n; ++i, ++col) {
        const int iy0 = yx[2 * i] * p->stride_h - p->pad_top;
        const int ix0 = yx[2 * i + 1] * p->stride_w - p->pad_left;
        const int32_t offset = ((int32_t)iy0 * in_w + ix0) * in_c;
        const int inside = p->dil_w == 1 && ix0 >= 0 && ix0 <= x_max && iy0 >= 0 && iy0 <= y_max;
        const int8_t *src = in + (inside ? offset : 0);
        uint32_t *c = col;
        if (inside && (row & 3) == 0) {
            for (ky = 0; ky < k_h; ++ky, src += step) {
                c = ec_expand(src, row >> 2, c);
            }
            continue;
        }
        if (inside && offset <= last) {
            int8_t *dst = w8;
            /* unaligned LDR / STR pairs, a loop per row length (3 x 3 x 3 rows take three) */
            if (row_words == 1) {
                for (ky = 0; ky < k_h; ++ky, src += step, dst += row) {
                    memcpy(dst, src, 4);
                }
            } else if (row_words == 3) {
                for (ky = 0; ky < k_h; ++ky, src += step, dst += row) {
                    memcpy(dst, src, 4);
                    memcpy(dst + 4, src + 4, 4);
                    memcpy(dst + 8, src + 8, 4);
                }
            } else {
                for (ky = 0; ky < k_h; ++ky, src += step, dst += row) {
                    ec_copy_words(dst, src, row_words);
                }
            }
        } else if (in_c < 4) {
            ec_gather_narrow(p, in, iy0, ix0, w8);
        } else {
            ec_gather_s8(p, in, iy0, ix0, w8);
        }
        memset(w8 + taps, 0, 4); /* the last group's padding (and the last row's overshoot) */
        ec_expand(w8, (taps + 3) >> 2, c);
    }
}

/* The multiply-accumulate core: pairs of output channels x 4 pixels. For
 * each of `pairs` channel pairs (interleaved weights at w, w + stride, ...
 * bytes: word g of the first channel, word g of the second), acc[8 r + 4 c + s]
 * = (bias ? bias[2 r + c] : acc[8 r + 4 c + s]) + channel c's `groups` weight
 * words . pixel s's pairs in col. The assembly reads the first eight fields,
 * the C emulation the rest. */
typedef struct {
    uintptr_t col_before;    /* 0: col - 32 bytes (each group's first load steps 32 bytes on, then reads) */
    int32_t entry;           /* 4: (U - groups % U) % U, the group of the U-group loop where a pair enters it */
    uintptr_t last;          /* 8: col + 32 (groups - 1), the first word of the last group */
    int32_t skip;            /* 12: stride - 8 groups, from the end of a pair's groups to the next pair */
    int32_t *acc;            /* 16: pairs x 8 int32, updated */
    int32_t *acc_end;        /* 20: acc + 8 pairs */
    const int8_t *w;         /* 24: first pair's words at this chunk (word aligned) */
    const int32_t *bias;     /* 28: 2 x pairs sums to start from (the first chunk), or NULL: go on from acc */
    const uint32_t *col;     /* groups x 8 words, pixel s's pairs at 8 g + s and 8 g + 4 + s */
    int32_t stride;          /* bytes from one pair's words to the next */
    int32_t groups;          /* >= 1 */
    int32_t pairs;           /* >= 1 */
    int32_t n;               /* pixels in use (the C emulation computes only those) */
} ec_mac_job;

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
/* Half a group (the weights' (x0, x2) or (x1, x3) halves, `ror`): LDRD of
 * both channels' weight words (`wload`), two SXTB16, then two LDRDs of two
 * pixels' pairs each feeding four SMLADs; the first steps col (r8) on to the
 * group. 13 instructions, 19 cycles at worst per 16 MACs. */
#define EC_MAC_HALF(wload, ror, xload0, xload1)                                                      \
    wload "sxtb16 r10, r10" ror "\n\t"                                                                \
          "sxtb16 r11, r11" ror "\n\t" xload0 "smlad r0, r10, r12, r0\n\t"                            \
          "smlad r1, r10, lr, r1\n\t"                                                                 \
          "smlad r4, r11, r12, r4\n\t"                                                                \
          "smlad r5, r11, lr, r5\n\t" xload1 "smlad r2, r10, r12, r2\n\t"                             \
          "smlad r3, r10, lr, r3\n\t"                                                                 \
          "smlad r6, r11, r12, r6\n\t"                                                                \
          "smlad r7, r11, lr, r7\n\t"
#define EC_MAC_GROUP                                                                                  \
    EC_MAC_HALF("ldrd r10, r11, [r9]\n\t", "", "ldrd r12, lr, [r8, #32]!\n\t", "ldrd r12, lr, [r8, #8]\n\t") \
    EC_MAC_HALF("ldrd r10, r11, [r9], #8\n\t", ", ror #8", "ldrd r12, lr, [r8, #16]\n\t",               \
                "ldrd r12, lr, [r8, #24]\n\t")

/* In assembly as a whole function: the loop needs all 14 registers (8
 * accumulators, the two weight halves, two pixel words, col, weights), more
 * than gcc's allocator gives inline assembly at -O0 or with the FPU on. The
 * job's first eight fields are copied to the stack, the entry group made an
 * address (a table of the EC_MAC_UNROLL). Each pair starts its sums (from
 * the bias or acc), then jumps into the loop of EC_MAC_UNROLL groups at
 * group EC_MAC_UNROLL - groups % EC_MAC_UNROLL (LDR PC from the stack), so
 * the remainder costs no loop of its own; the loop's end (the last group's
 * address) is loaded into a weight register, free between groups: 3
 * instructions (7 worst cycles) per loop pass, 1.75 worst cycles per group
 * of 32 MACs at 4 groups a pass, 1.17 at 6 (208 B more code). */
__attribute__((naked, noinline)) static void ec_mac_rows(ec_mac_job *job __attribute__((unused)))
{
    __asm__("push {r4-r11, lr}\n\t"
            "ldr r9, [r0, #24]\n\t"
            "ldm r0, {r4-r8, r10}\n\t"
            "adr r11, 8f\n\t"
            "ldr r5, [r11, r5, lsl #2]\n\t"
            "ldr r11, [r0, #28]\n\t"
            "push {r4-r8, r10, r11}\n\t"
            "2:\n\t"
            "ldr r10, [sp, #24]\n\t"
            "cmp r10, #0\n\t"
            "beq 3f\n\t"
            "ldrd r0, r4, [r10], #8\n\t" /* the pair's sums from the bias */
            "str r10, [sp, #24]\n\t"
            "mov r1, r0\n\t"
            "mov r2, r0\n\t"
            "mov r3, r0\n\t"
            "mov r5, r4\n\t"
            "mov r6, r4\n\t"
            "mov r7, r4\n\t"
            "b 4f\n\t"
            "3:\n\t"
            "ldr r8, [sp, #16]\n\t" /* or from acc */
            "ldm r8, {r0-r7}\n\t"
            "4:\n\t"
            "ldr r8, [sp, #0]\n\t"
            "ldr pc, [sp, #4]\n\t"
            "5:\n\t" EC_MAC_GROUP
            "6:\n\t" EC_MAC_GROUP);
    /* one function's text in three statements: a string literal stays under the 4,095
     * characters C99 compilers must accept (clang -Woverlength-strings) */
    __asm__("7:\n\t" EC_MAC_GROUP
            "9:\n\t" EC_MAC_GROUP);
    __asm__("11:\n\t" EC_MAC_GROUP
            "12:\n\t" EC_MAC_GROUP
            "ldr r10, [sp, #8]\n\t"
            "cmp r8, r10\n\t"
            "bne 5b\n\t"
            "ldr r10, [sp, #16]\n\t"
            "stmia r10!, {r0-r7}\n\t"
            "str r10, [sp, #16]\n\t"
            "ldr r11, [sp, #12]\n\t"
            "add r9, r9, r11\n\t"
            "ldr r11, [sp, #20]\n\t"
            "cmp r10, r11\n\t"
            "bne 2b\n\t"
            "add sp, sp, #28\n\t"
            "pop {r4-r11, pc}\n\t"
            ".p2align 2\n\t"
            "8:\n\t" /* entries with the Thumb bit, for LDR PC */
            ".word 5b + 1, 6b + 1, 7b + 1, 9b + 1, 11b + 1, 12b + 1\n\t");
}
#else /* the C emulation: the same sums, pixel by pixel */
static void ec_mac_rows(ec_mac_job *job)
{
    const int8_t *pair = job->w;
    int r, c, s, g;
    for (r = 0; r < job->pairs; ++r, pair += job->stride, job->acc += 2 * EC_SLOTS) {
        for (c = 0; c < 2; ++c) {
            for (s = 0; s < job->n; ++s) {
                const uint32_t *x = job->col + s;
                int32_t a = job->bias != NULL ? job->bias[2 * r + c] : job->acc[EC_SLOTS * c + s];
                for (g = 0; g < job->groups; ++g, x += 2 * EC_SLOTS) {
                    const uint32_t v = ec_load4(pair + 8 * g + 4 * c);
                    a = ec_smlad(ec_sxtb16_ror8(v), x[EC_SLOTS], ec_smlad(ec_sxtb16(v), x[0], a));
                }
                job->acc[EC_SLOTS * c + s] = a;
            }
        }
    }
}
#endif

/* One output of a requant_32 layer: ec_rq_apply with the clamp bounds in
 * registers and no constant per channel to build but right - 1: with
 * t = x - (x < 0), (t + half) >> right = ((t >> (right - 1)) + 1) >> 1 (the
 * halving floors again), and the zero point goes in before the halving as
 * k = 1 + 2 zero_point. */
EC_ALWAYS_INLINE int32_t ec_rq_out(int32_t mult, int right_1, int32_t k, int clamp, int32_t lo, int32_t hi,
                                   int32_t acc)
{
    int32_t x = ec_smmulr((int32_t)((uint32_t)acc << 1), mult);
    x = x + (x >> 31);
    x = ((x >> right_1) + k) >> 1;
    if (!clamp) {
        return ec_ssat8(x);
    }
    /* [lo, hi] lies inside [-128, 127], so the clamp saturates too; two selects, no branch */
    x = x < lo ? lo : x;
    return x > hi ? hi : x; /* in [-128, 127]: the callers' int8_t stores keep it */
}

/* out[oc] = the requantized acc_max[oc], for every channel: max pooling
 * commutes with requantization (a non-decreasing function of the
 * accumulator, the multiplier being positive), so a pooled block
 * requantizes once per window instead of once per pixel. */
void ec_requant_max_simd(const ec_conv_params *p, const int32_t *acc_max, int8_t *out)
{
    int oc;
    if (p->requant_32 && p->act_min == -128 && p->act_max == 127) {
        const int32_t *mult = p->mult;
        const int8_t *shift = p->shift;
        const int32_t k = 1 + 2 * p->out_offset;
        const int out_c = p->out_c;
        for (oc = 0; oc < out_c; ++oc) {
            out[oc] = (int8_t)ec_rq_out(mult[oc], -shift[oc] - 1, k, 0, 0, 0, acc_max[oc]);
        }
        return;
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        ec_store(p, acc_max + oc, 1, oc, 1, out + oc);
    }
}

/* Reduction tiling, for receptive fields too long for col (conv with in_c % 4
 * == 0, 1x1 conv with in_c % 4 == 0): col holds EC_CHUNK_GROUPS groups of the
 * n pixels at a time, and the accumulators of EC_TILE_OC output channels stay
 * in acc between chunks, so each chunk is expanded once per channel tile and
 * each weight word still feeds the n pixels. */
#define EC_CHUNK_GROUPS (EC_COL_WORDS / (2 * EC_SLOTS))
#define EC_TILE_OC 64

/* Groups [g0, g0 + cnt) of pixel (oy, ox)'s receptive field (in_c % 4 == 0) into col. */
static void ec_im2col_part(const ec_conv_params *p, const int8_t *in, int oy, int ox, int g0, int cnt,
                           uint32_t *col)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int per_tap = p->in_c >> 2; /* groups per (ky, kx) */
    const uint32_t zero_point = ec_sxtb16((uint32_t)(uint8_t)(int8_t)(-p->in_offset) * 0x00010001u);
    int pos = g0 / per_tap, off = g0 % per_tap, g;
    while (cnt > 0) {
        const int iy = iy0 + (pos / p->k_w) * p->dil_h;
        const int ix = ix0 + (pos % p->k_w) * p->dil_w;
        const int take = per_tap - off < cnt ? per_tap - off : cnt;
        if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
            col = ec_expand(in + ((int32_t)iy * p->in_w + ix) * p->in_c + 4 * off, take, col);
        } else {
            for (g = 0; g < take; ++g) {
                col[0] = zero_point;
                col[EC_SLOTS] = zero_point;
                col += 2 * EC_SLOTS;
            }
        }
        cnt -= take;
        off = 0;
        ++pos;
    }
}

/* Four pixels of channels oc0 .. oc0 + noc - 1, requant_32 layers: the
 * channel's constants loaded once; clamp is a constant after inlining. */
EC_ALWAYS_INLINE void ec_conv_out4(const ec_conv_params *p, int32_t (*acc)[EC_SLOTS], int oc0, int noc, int clamp,
                                   int8_t *out)
{
    const int out_c = p->out_c;
    const int32_t lo = p->act_min, hi = p->act_max, k = 1 + 2 * p->out_offset;
    const int32_t *const mults = p->mult + oc0; /* locals: the int8_t stores could alias p's fields */
    const int8_t *const shifts = p->shift + oc0;
    int j;
    for (j = 0; j < noc; ++j) {
        const int32_t mult = mults[j];
        const int right_1 = -shifts[j] - 1;
        const int32_t *a = acc[j];
        int8_t *o = out + oc0 + j;
        o[0] = (int8_t)ec_rq_out(mult, right_1, k, clamp, lo, hi, a[0]);
        o[out_c] = (int8_t)ec_rq_out(mult, right_1, k, clamp, lo, hi, a[1]);
        o[2 * out_c] = (int8_t)ec_rq_out(mult, right_1, k, clamp, lo, hi, a[2]);
        o[3 * out_c] = (int8_t)ec_rq_out(mult, right_1, k, clamp, lo, hi, a[3]);
    }
}

/* acc[j][0 .. n-1] (channel oc0 + j) requantized to out, or raised into acc_max. */
static void ec_conv_outputs(const ec_conv_params *p, int32_t (*acc)[EC_SLOTS], int oc0, int noc, int n, int8_t *out,
                            int32_t *acc_max)
{
    int j, i;
    if (acc_max != NULL && n == EC_SLOTS) { /* unrolled: compare and conditional move per pixel */
        for (j = 0; j < noc; ++j) {
            const int32_t *a = acc[j];
            int32_t m = acc_max[oc0 + j];
            m = a[0] > m ? a[0] : m;
            m = a[1] > m ? a[1] : m;
            m = a[2] > m ? a[2] : m;
            acc_max[oc0 + j] = a[3] > m ? a[3] : m;
        }
        return;
    }
    if (acc_max != NULL) {
        for (j = 0; j < noc; ++j) {
            int32_t m = acc_max[oc0 + j];
            for (i = 0; i < n; ++i) {
                m = acc[j][i] > m ? acc[j][i] : m;
            }
            acc_max[oc0 + j] = m;
        }
        return;
    }
    if (n == EC_SLOTS && p->requant_32) {
        if (p->act_min == -128 && p->act_max == 127) {
            ec_conv_out4(p, acc, oc0, noc, 0, out);
        } else {
            ec_conv_out4(p, acc, oc0, noc, 1, out);
        }
        return;
    }
    for (j = 0; j < noc; ++j) {
        ec_store(p, acc[j], n, oc0 + j, p->out_c, out + oc0 + j);
    }
}

/* All output channels of n pixels, in tiles of `tile` (even) channels whose
 * accumulators stay in acc (tile x 4, the caller's stack; an odd last tile
 * computes one more row, of the generator's zero weights, to make pairs). whole: col already holds the n receptive
 * fields (taps <= 160, in (taps + 3) / 4 groups, see ec_im2col_narrow). Else the reduction
 * goes in chunks of EC_CHUNK_GROUPS groups expanded into col per tile (in_c
 * % 4 == 0); yx == NULL: a 1x1 conv on n consecutive pixel vectors. */
static void ec_conv_run(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int32_t taps, uint32_t *col,
                        int whole, int8_t *out, int32_t *acc_max, int32_t (*acc)[EC_SLOTS], int tile)
{
    const int groups = (int)((taps + 3) >> 2);
    ec_mac_job job;
    int oc0, g0, i;
    for (oc0 = 0; oc0 < p->out_c; oc0 += tile) {
        const int noc = p->out_c - oc0 < tile ? p->out_c - oc0 : tile;
        for (g0 = 0; g0 < groups; g0 += EC_CHUNK_GROUPS) {
            const int cnt = groups - g0 < EC_CHUNK_GROUPS ? groups - g0 : EC_CHUNK_GROUPS;
            for (i = 0; !whole && i < n; ++i) {
                if (yx == NULL) {
                    ec_expand(in + i * p->in_c + 4 * g0, cnt, col + i);
                } else {
                    ec_im2col_part(p, in, yx[2 * i], yx[2 * i + 1], g0, cnt, col + i);
                }
            }
            job.col = col;
            job.col_before = (uintptr_t)col - 8 * EC_SLOTS;
            job.last = (uintptr_t)(col + 2 * EC_SLOTS * (cnt - 1));
            job.stride = 8 * groups;
            job.w = p->weights + (int32_t)(oc0 >> 1) * job.stride + 8 * g0;
            job.groups = cnt;
            job.pairs = (noc + 1) >> 1;
            job.acc = acc[0];
            job.n = n;
            job.entry = (EC_MAC_UNROLL - cnt % EC_MAC_UNROLL) % EC_MAC_UNROLL;
            job.skip = job.stride - 8 * cnt;
            job.acc_end = (int32_t *)(acc + 2 * job.pairs);
            job.bias = g0 == 0 ? p->eff_bias + oc0 : NULL;
            ec_mac_rows(&job);
        }
        ec_conv_outputs(p, acc, oc0, noc, n, out, acc_max);
    }
}

/* ec_conv_run with its tile of sums on the stack only while it runs: tiles
 * of EC_TILE_OC channels when the reduction is chunked (each tile expands
 * the chunks again), of EC_TILE_OC_WHOLE when col holds the whole receptive
 * fields (a smaller tile then costs only calls). */
#define EC_TILE_OC_WHOLE 32
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ec_conv_whole(const ec_conv_params *p, int n, int32_t taps, uint32_t *col, int8_t *out, int32_t *acc_max)
{
    int32_t acc[EC_TILE_OC_WHOLE][EC_SLOTS];
    ec_conv_run(p, NULL, NULL, n, taps, col, 1, out, acc_max, acc, EC_TILE_OC_WHOLE);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void ec_conv_chunked(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int32_t taps,
                            uint32_t *col, int8_t *out, int32_t *acc_max)
{
    int32_t acc[EC_TILE_OC][EC_SLOTS];
    ec_conv_run(p, in, yx, n, taps, col, 0, out, acc_max, acc, EC_TILE_OC);
}

/* 1 if the receptive field fits col whole; 2 if it takes the reduction tiling. */
static int ec_simd_path(const ec_conv_params *p, int32_t taps)
{
    if (p->eff_bias == NULL || ((uintptr_t)p->weights & 3) != 0) { /* the core's LDRDs want words */
        return 0;
    }
    if (((taps + 3) & ~3) * EC_SLOTS / 2 <= EC_COL_WORDS) {
        return 1;
    }
    return (p->in_c & 3) == 0 ? 2 : 0;
}

int ec_conv_simd_takes(const ec_conv_params *p, int32_t taps)
{
    return ec_simd_path(p, taps) != 0;
}

int ec_conv2d_pixels_simd(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out,
                          int32_t *acc_max)
{
    const int32_t taps = (int32_t)p->k_h * p->k_w * p->in_c;
    uint32_t col[EC_COL_WORDS];
    int i;
    const int path = ec_simd_path(p, taps);
    if (path == 0 || n > EC_SLOTS) {
        return 0;
    }
    if (path == 2) {
        ec_conv_chunked(p, in, yx, n, taps, col, out, acc_max);
        return 1;
    }
    if (p->in_c & 3) {
        ec_im2col_narrow(p, in, yx, n, col);
    } else {
        for (i = 0; i < n; ++i) {
            ec_im2col(p, in, yx[2 * i], yx[2 * i + 1], col + i);
        }
    }
    ec_conv_whole(p, n, taps, col, out, acc_max);
    return 1;
}

int ec_pointwise_pixels_simd(const ec_conv_params *p, const int8_t *in, int n, int8_t *out, int32_t *acc_max)
{
    const int in_c = p->in_c;
    uint32_t col[EC_COL_WORDS];
    uint32_t window[EC_COL_WORDS / 8 + 1]; /* in_c % 4 != 0: a pixel vector and zeros to a whole group */
    int i;
    const int path = ec_simd_path(p, in_c);
    if (path == 0 || n > EC_SLOTS) {
        return 0;
    }
    if (path == 2) {
        ec_conv_chunked(p, in, NULL, n, in_c, col, out, acc_max);
        return 1;
    }
    for (i = 0; i < n; ++i) {
        const int8_t *src = in + i * in_c;
        if (in_c & 3) { /* zeros after the vector: see ec_im2col */
            memcpy(window, src, (size_t)in_c);
            memset((int8_t *)window + in_c, 0, 4);
            src = (const int8_t *)window;
        }
        ec_expand(src, (in_c + 3) >> 2, col + i);
    }
    ec_conv_whole(p, n, in_c, col, out, acc_max);
    return 1;
}

#else
typedef int ec_conv_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
