/* SIMD conv and 1x1 conv kernels (cores with the DSP extension, or the C
 * emulation of ec_simd.h with -DEC_SIMD_EMULATE): the same integers as the
 * reference kernels of ec_conv.c.
 *
 * Conv and 1x1 conv: the receptive field of each output pixel is expanded
 * once to int16 pairs (im2col) in the order SXTB16 splits a word of four
 * weights, (x0, x2) and (x1, x3), so each weight word costs one load and two
 * SXTB16 and feeds eight SMLADs: one output channel x four output pixels
 * (register blocking without spills: 16 MACs in about 17 instructions).
 * Accumulators start from eff_bias (padding taps hold the zero point, whose
 * product it cancels).
 * Requantization: ec_requant_simd.h. A max pool that follows is applied to
 * the accumulators (one requantization per pooled pixel, ec_requant_max_simd).
 */
#include "ec_requant_simd.h"

#ifdef EC_SIMD

#define EC_COL_WORDS 320 /* im2col words on the stack: EC_PIXELS_MAX (4) pixels of up to 160 taps */
#define EC_SLOTS 4       /* pixels interleaved in col: group g of pixel s is col[8 g + 2 s], col[8 g + 2 s + 1] */

/* groups x 4 int8 values -> int16 pairs (x0, x2), (x1, x3) per four, every
 * 2 * EC_SLOTS words; returns the col position after the last group. */
EC_ALWAYS_INLINE uint32_t *ec_expand(const int8_t *src, int groups, uint32_t *col)
{
#if defined(__ARM_FEATURE_DSP)
    const int8_t *end = src + 4 * groups;
    uint32_t e, o;
    if (groups > 0) { /* LDR, two SXTB16, one STRD per group; volatile: it stores to col */
        __asm__ volatile("1:\n\t"
                "ldr %[e], [%[src]], #4\n\t"
                "sxtb16 %[o], %[e], ror #8\n\t"
                "sxtb16 %[e], %[e]\n\t"
                "strd %[e], %[o], [%[col]], #32\n\t"
                "cmp %[src], %[end]\n\t"
                "bne 1b\n\t"
                : [src] "+r"(src), [col] "+r"(col), [e] "=&r"(e), [o] "=&r"(o)
                : [end] "r"(end)
                : "cc", "memory");
    }
    return col;
#else
    int g;
    for (g = 0; g < groups; ++g) {
        const uint32_t v = ec_load4(src + 4 * g);
        col[0] = ec_sxtb16(v);
        col[1] = ec_sxtb16_ror8(v);
        col += 2 * EC_SLOTS;
    }
    return col;
#endif
}

/* The receptive field of output pixel (oy, ox) into col (see ec_expand), the
 * zero point where it falls in the padding; its taps % 4 last taps into tail. */
static void ec_im2col(const ec_conv_params *p, const int8_t *in, int oy, int ox, uint32_t *col, int8_t *tail)
{
    const int iy0 = oy * p->stride_h - p->pad_top;
    const int ix0 = ox * p->stride_w - p->pad_left;
    const int groups = p->in_c >> 2;
    int ky, kx, g;
    if ((p->in_c & 3) == 0) { /* every (ky, kx) is whole groups: expand straight from the input */
        const uint32_t zero_point = ec_sxtb16((uint32_t)(uint8_t)(int8_t)(-p->in_offset) * 0x00010001u);
        const int row_inside = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
        for (ky = 0; ky < p->k_h; ++ky) {
            const int iy = iy0 + ky * p->dil_h;
            const int8_t *src = in + ((int32_t)iy * p->in_w + ix0) * p->in_c;
            if (row_inside && iy >= 0 && iy < p->in_h) { /* the kernel row is contiguous in NHWC */
                col = ec_expand(src, groups * p->k_w, col);
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
                    col[1] = zero_point;
                    col += 2 * EC_SLOTS;
                }
            }
        }
        return;
    }
    {
        const int taps = p->k_h * p->k_w * p->in_c;
        int8_t window[EC_COL_WORDS / 2];
        ec_gather_s8(p, in, iy0, ix0, window);
        ec_expand(window, taps >> 2, col);
        for (g = 0; g < (taps & 3); ++g) {
            tail[g] = window[(taps & ~3) + g];
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* One weight word (four taps) feeds the pixels' pairs of the group: LDR, two
 * SXTB16, then per pixel one LDRD and two SMLADs. Written in assembly so that
 * the loop has exactly these instructions (gcc -Os spills and loads each word
 * on its own): 17 instructions per 16 MACs for four pixels. `skip` is the
 * post-increment that moves the last pixel's LDRD to the next group. */
#define EC_MAC_LOOP(body, ...)                                                                      \
    __asm__("1:\n\t"                                                                                \
            "ldr %[v], [%[w]], #4\n\t"                                                              \
            "sxtb16 %[o], %[v], ror #8\n\t"                                                         \
            "sxtb16 %[v], %[v]\n\t" body "cmp %[col], %[end]\n\t"                                   \
            "bne 1b\n\t"                                                                            \
            : __VA_ARGS__)
#define EC_MAC_PIXEL(acc, skip)                                                                     \
    "ldrd %[x0], %[x1], [%[col]], #" skip "\n\t"                                                    \
    "smlad %[" acc "], %[v], %[x0], %[" acc "]\n\t"                                                 \
    "smlad %[" acc "], %[o], %[x1], %[" acc "]\n\t"

EC_ALWAYS_INLINE void ec_mac4(const uint32_t *col, const int8_t *w, int groups, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint32_t *end = col + 2 * EC_SLOTS * groups;
    uint32_t v, o, x0, x1;
    if (groups > 0) {
        EC_MAC_LOOP(EC_MAC_PIXEL("a0", "8") EC_MAC_PIXEL("a1", "8") EC_MAC_PIXEL("a2", "8") EC_MAC_PIXEL("a3", "8"),
                    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [col] "+r"(col), [w] "+r"(w),
                    [v] "=&r"(v), [o] "=&r"(o), [x0] "=&r"(x0), [x1] "=&r"(x1) : [end] "r"(end) : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static void ec_mac2(const uint32_t *col, const int8_t *w, int groups, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1];
    const uint32_t *end = col + 2 * EC_SLOTS * groups;
    uint32_t v, o, x0, x1;
    if (groups > 0) {
        EC_MAC_LOOP(EC_MAC_PIXEL("a0", "8") EC_MAC_PIXEL("a1", "24"), [a0] "+r"(a0), [a1] "+r"(a1), [col] "+r"(col),
                    [w] "+r"(w), [v] "=&r"(v), [o] "=&r"(o), [x0] "=&r"(x0), [x1] "=&r"(x1) : [end] "r"(end)
                    : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
}

static int32_t ec_mac1(const uint32_t *col, const int8_t *w, int groups, int32_t a0)
{
    const uint32_t *end = col + 2 * EC_SLOTS * groups;
    uint32_t v, o, x0, x1;
    if (groups > 0) {
        EC_MAC_LOOP(EC_MAC_PIXEL("a0", "32"), [a0] "+r"(a0), [col] "+r"(col), [w] "+r"(w), [v] "=&r"(v), [o] "=&r"(o),
                    [x0] "=&r"(x0), [x1] "=&r"(x1) : [end] "r"(end) : "cc", "memory");
    }
    return a0;
}

#else /* the C emulation: the same sums, pixel by pixel */

static int32_t ec_mac1(const uint32_t *col, const int8_t *w, int groups, int32_t a)
{
    const uint32_t *end = col + 2 * EC_SLOTS * groups;
    while (col < end) {
        const uint32_t v = ec_load4(w);
        a = ec_smlad(ec_sxtb16_ror8(v), col[1], ec_smlad(ec_sxtb16(v), col[0], a));
        col += 2 * EC_SLOTS;
        w += 4;
    }
    return a;
}

static void ec_mac2(const uint32_t *col, const int8_t *w, int groups, int32_t *acc)
{
    acc[0] = ec_mac1(col, w, groups, acc[0]);
    acc[1] = ec_mac1(col + 2, w, groups, acc[1]);
}

EC_ALWAYS_INLINE void ec_mac4(const uint32_t *col, const int8_t *w, int groups, int32_t *acc)
{
    ec_mac2(col, w, groups, acc);
    ec_mac2(col + 4, w, groups, acc + 2);
}
#endif

/* All output channels of the n pixels whose taps are in col (and tail[i]). */
static void ec_conv_core(const ec_conv_params *p, const uint32_t *col, const int8_t tail[EC_SLOTS][4], int n,
                         int32_t taps, int8_t *out, int32_t *acc_max)
{
    const int groups = (int)(taps >> 2), rest = (int)(taps & 3), out_c = p->out_c;
    const int clamp = p->act_min > -128 || p->act_max < 127;
    const int8_t *w = p->weights;
    int oc, i, t;
    if (n == 4 && acc_max != NULL) { /* a max pool follows: keep each channel's largest accumulator */
        for (oc = 0; oc < out_c; ++oc, w += taps) {
            int32_t acc[EC_SLOTS], m;
            acc[0] = acc[1] = acc[2] = acc[3] = p->eff_bias[oc];
            ec_mac4(col, w, groups, acc);
            for (t = 0; t < rest; ++t) {
                const int32_t wt = w[4 * groups + t];
                acc[0] += tail[0][t] * wt;
                acc[1] += tail[1][t] * wt;
                acc[2] += tail[2][t] * wt;
                acc[3] += tail[3][t] * wt;
            }
            m = acc[0] > acc[1] ? acc[0] : acc[1];
            m = acc[2] > m ? acc[2] : m;
            m = acc[3] > m ? acc[3] : m;
            acc_max[oc] = m > acc_max[oc] ? m : acc_max[oc];
        }
        return;
    }
    if (n == 4 && p->requant_32 && !clamp) { /* the common case, accumulators kept in registers */
        for (oc = 0; oc < out_c; ++oc, w += taps) {
            int32_t acc[EC_SLOTS];
            ec_rq r;
            acc[0] = acc[1] = acc[2] = acc[3] = p->eff_bias[oc];
            ec_mac4(col, w, groups, acc);
            for (t = 0; t < rest; ++t) {
                const int32_t wt = w[4 * groups + t];
                acc[0] += tail[0][t] * wt;
                acc[1] += tail[1][t] * wt;
                acc[2] += tail[2][t] * wt;
                acc[3] += tail[3][t] * wt;
            }
            r = ec_rq_channel(p, oc);
            out[oc] = ec_rq_apply(p, r, 0, acc[0]);
            out[out_c + oc] = ec_rq_apply(p, r, 0, acc[1]);
            out[2 * out_c + oc] = ec_rq_apply(p, r, 0, acc[2]);
            out[3 * out_c + oc] = ec_rq_apply(p, r, 0, acc[3]);
        }
        return;
    }
    for (oc = 0; oc < out_c; ++oc, w += taps) {
        int32_t acc[EC_SLOTS];
        acc[0] = acc[1] = acc[2] = acc[3] = p->eff_bias[oc];
        if (n == 4) {
            ec_mac4(col, w, groups, acc);
        } else {
            i = 0;
            if (n >= 2) {
                ec_mac2(col, w, groups, acc);
                i = 2;
            }
            if (i < n) {
                acc[i] = ec_mac1(col + 2 * i, w, groups, acc[i]);
            }
        }
        for (i = 0; i < n; ++i) {
            for (t = 0; t < rest; ++t) {
                acc[i] += tail[i][t] * w[4 * groups + t];
            }
        }
        if (acc_max == NULL) {
            ec_store(p, acc, n, oc, out_c, out + oc);
            continue;
        }
        for (i = 0; i < n; ++i) {
            acc_max[oc] = acc[i] > acc_max[oc] ? acc[i] : acc_max[oc];
        }
    }
}

/* out[oc] = the requantized acc_max[oc], for every channel: max pooling
 * commutes with requantization (a non-decreasing function of the
 * accumulator, the multiplier being positive), so a pooled block
 * requantizes once per window instead of once per pixel. */
void ec_requant_max_simd(const ec_conv_params *p, const int32_t *acc_max, int8_t *out)
{
    int oc;
    if (p->requant_32 && p->act_min == -128 && p->act_max == 127) {
        for (oc = 0; oc < p->out_c; ++oc) {
            out[oc] = ec_rq_apply(p, ec_rq_channel(p, oc), 0, acc_max[oc]);
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
                col[1] = zero_point;
                col += 2 * EC_SLOTS;
            }
        }
        cnt -= take;
        off = 0;
        ++pos;
    }
}

/* The n pixels' accumulators of channel oc += the chunk's groups. */
static void ec_mac_n(const uint32_t *col, const int8_t *w, int groups, int n, int32_t *acc)
{
    if (n == 4) {
        ec_mac4(col, w, groups, acc);
        return;
    }
    if (n >= 2) {
        ec_mac2(col, w, groups, acc);
    }
    if (n & 1) {
        acc[n - 1] = ec_mac1(col + 2 * (n - 1), w, groups, acc[n - 1]);
    }
}

/* All output channels of n pixels, the reduction in chunks (see EC_CHUNK_GROUPS) through col
 * (EC_COL_WORDS words);
 * yx == NULL: a 1x1 conv on n consecutive pixel vectors. */
static void ec_conv_tiled(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int32_t taps,
                          uint32_t *col, int8_t *out, int32_t *acc_max)
{
    int32_t acc[EC_TILE_OC][EC_SLOTS];
    const int groups = (int)(taps >> 2), out_c = p->out_c;
    int oc0, g0, i, j;
    for (oc0 = 0; oc0 < out_c; oc0 += EC_TILE_OC) {
        const int noc = out_c - oc0 < EC_TILE_OC ? out_c - oc0 : EC_TILE_OC;
        for (j = 0; j < noc; ++j) {
            acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = p->eff_bias[oc0 + j];
        }
        for (g0 = 0; g0 < groups; g0 += EC_CHUNK_GROUPS) {
            const int cnt = groups - g0 < EC_CHUNK_GROUPS ? groups - g0 : EC_CHUNK_GROUPS;
            const int8_t *w = p->weights + (int32_t)oc0 * taps + 4 * g0;
            for (i = 0; i < n; ++i) {
                if (yx == NULL) {
                    ec_expand(in + i * p->in_c + 4 * g0, cnt, col + 2 * i);
                } else {
                    ec_im2col_part(p, in, yx[2 * i], yx[2 * i + 1], g0, cnt, col + 2 * i);
                }
            }
            for (j = 0; j < noc; ++j, w += taps) {
                ec_mac_n(col, w, cnt, n, acc[j]);
            }
        }
        for (j = 0; j < noc; ++j) {
            if (acc_max == NULL) {
                ec_store(p, acc[j], n, oc0 + j, out_c, out + oc0 + j);
                continue;
            }
            for (i = 0; i < n; ++i) {
                acc_max[oc0 + j] = acc[j][i] > acc_max[oc0 + j] ? acc[j][i] : acc_max[oc0 + j];
            }
        }
    }
}

/* 1 if the receptive field fits col whole; 2 if it takes the reduction tiling. */
static int ec_simd_path(const ec_conv_params *p, int32_t taps)
{
    if (p->eff_bias == NULL) {
        return 0;
    }
    if (taps * EC_SLOTS / 2 <= EC_COL_WORDS) {
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
    int8_t tail[EC_SLOTS][4];
    int i;
    const int path = ec_simd_path(p, taps);
    if (path == 0 || n > EC_SLOTS) {
        return 0;
    }
    if (path == 2) {
        ec_conv_tiled(p, in, yx, n, taps, col, out, acc_max);
        return 1;
    }
    for (i = 0; i < n; ++i) {
        ec_im2col(p, in, yx[2 * i], yx[2 * i + 1], col + 2 * i, tail[i]);
    }
    ec_conv_core(p, col, (const int8_t(*)[4])tail, n, taps, out, acc_max);
    return 1;
}

int ec_pointwise_pixels_simd(const ec_conv_params *p, const int8_t *in, int n, int8_t *out, int32_t *acc_max)
{
    const int in_c = p->in_c;
    uint32_t col[EC_COL_WORDS];
    int8_t tail[EC_SLOTS][4];
    int i;
    const int path = ec_simd_path(p, in_c);
    if (path == 0 || n > EC_SLOTS) {
        return 0;
    }
    if (path == 2) {
        ec_conv_tiled(p, in, NULL, n, in_c, col, out, acc_max);
        return 1;
    }
    for (i = 0; i < n; ++i) {
        int t;
        ec_expand(in + i * in_c, in_c >> 2, col + 2 * i);
        for (t = 0; t < (in_c & 3); ++t) {
            tail[i][t] = in[i * in_c + (in_c & ~3) + t];
        }
    }
    ec_conv_core(p, col, (const int8_t(*)[4])tail, n, in_c, out, acc_max);
    return 1;
}

#else
typedef int ec_conv_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
