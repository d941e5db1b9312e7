/* SIMD FULLY_CONNECTED (cores with the DSP extension, or the C emulation of
 * ec_simd.h with -DEC_SIMD_EMULATE): the same integers as the reference
 * kernel of ec_dense.c.
 *
 * The input, plus its offset, is expanded once per chunk of EC_FC_CHUNK
 * values to int16 pairs in the order SXTB16 splits a word of four weights,
 * (x0, x2) and (x1, x3); the weights stay int8 in flash. Two rows per pass:
 * one LDRD of input pairs feeds both rows, each weight word costs one LDR and
 * two SXTB16 and feeds two SMLADs (12 instructions per 8 MACs, two groups per
 * loop pass). Rows go in
 * tiles of EC_FC_TILE whose int32 sums stay on the stack between chunks, so
 * any input depth runs with a fixed stack. (x + offset) is at most 255 in
 * magnitude and fits an int16 lane. */
#include "ec_kernels.h"
#include "ec_simd.h"

#ifdef EC_SIMD

#define EC_FC_CHUNK 256 /* inputs expanded at a time: 128 words of stack */
#define EC_FC_TILE 64   /* rows whose sums are kept between chunks */

/* groups x 4 inputs + offset -> pairs (x0, x2), (x1, x3) per group. */
static void ec_fc_expand(const int8_t *in, int groups, uint32_t off2, uint32_t *x)
{
    int g;
    for (g = 0; g < groups; ++g) {
        const uint32_t v = ec_load4(in + 4 * g);
        x[2 * g] = ec_sadd16(ec_sxtb16(v), off2);
        x[2 * g + 1] = ec_sadd16(ec_sxtb16_ror8(v), off2);
    }
}

#if defined(__ARM_FEATURE_DSP)
#define EC_FC_ROW(w, acc)                                                                           \
    "ldr %[v], [%[" w "]], #4\n\t"                                                                  \
    "sxtb16 %[o], %[v], ror #8\n\t"                                                                 \
    "sxtb16 %[v], %[v]\n\t"                                                                         \
    "smlad %[" acc "], %[v], %[x0], %[" acc "]\n\t"                                                 \
    "smlad %[" acc "], %[o], %[x1], %[" acc "]\n\t"

#define EC_FC_STEP "ldrd %[x0], %[x1], [%[x]], #8\n\t" EC_FC_ROW("w0", "a0") EC_FC_ROW("w1", "a1")
#define EC_FC_OPERANDS                                                                              \
    [a0] "+r"(a0), [a1] "+r"(a1), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(pairs), [v] "=&r"(v), \
        [o] "=&r"(o), [x0] "=&r"(x0), [x1] "=&r"(x1)

/* Rows w0 and w1 over `groups` groups of x: a[0] += w0 . x, a[1] += w1 . x.
 * Two groups per loop pass (24 instructions per 16 MACs), then the odd one. */
static void ec_fc_dot2(const uint32_t *x, const int8_t *w0, const int8_t *w1, int groups, int32_t *a)
{
    int32_t a0 = a[0], a1 = a[1];
    int pairs = groups >> 1;
    uint32_t v, o, x0, x1;
    if (pairs > 0) {
        __asm__("1:\n\t" EC_FC_STEP EC_FC_STEP
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : EC_FC_OPERANDS
                :
                : "cc", "memory");
    }
    if (groups & 1) {
        __asm__(EC_FC_STEP : EC_FC_OPERANDS : : "cc", "memory");
    }
    a[0] = a0;
    a[1] = a1;
}
#else
static int32_t ec_fc_dot1(const uint32_t *x, const int8_t *w, int groups, int32_t a)
{
    int g;
    for (g = 0; g < groups; ++g) {
        const uint32_t v = ec_load4(w + 4 * g);
        a = ec_smlad(ec_sxtb16_ror8(v), x[2 * g + 1], ec_smlad(ec_sxtb16(v), x[2 * g], a));
    }
    return a;
}

static void ec_fc_dot2(const uint32_t *x, const int8_t *w0, const int8_t *w1, int groups, int32_t *a)
{
    a[0] = ec_fc_dot1(x, w0, groups, a[0]);
    a[1] = ec_fc_dot1(x, w1, groups, a[1]);
}
#endif

/* Rows [o0, o0 + n) of the chunk [d0, d0 + len), len % 4 == 0, into acc. */
static void ec_fc_rows(const ec_fc_params *p, const uint32_t *x, int o0, int n, int d0, int len, int32_t *acc)
{
    const int8_t *w = p->weights + (int32_t)o0 * p->in_depth + d0;
    int j;
    for (j = 0; j + 1 < n; j += 2, w += 2 * p->in_depth) {
        ec_fc_dot2(x, w, w + p->in_depth, len >> 2, acc + j);
    }
    if (j < n) { /* the odd row: paired with itself, its second sum dropped */
        int32_t pair[2];
        pair[0] = acc[j];
        pair[1] = 0;
        ec_fc_dot2(x, w, w, len >> 2, pair);
        acc[j] = pair[0];
    }
}

int ec_fully_connected_simd(const ec_fc_params *p, const int8_t *in, int8_t *out)
{
    uint32_t x[EC_FC_CHUNK / 2];
    int32_t acc[EC_FC_TILE];
    const int depth = p->in_depth, body = depth & ~3;
    const uint32_t off2 = ((uint32_t)p->in_offset & 0xFFFFu) * 0x00010001u;
    int o0, d0, j, d;
    for (o0 = 0; o0 < p->out_depth; o0 += EC_FC_TILE) {
        const int n = p->out_depth - o0 < EC_FC_TILE ? p->out_depth - o0 : EC_FC_TILE;
        for (j = 0; j < n; ++j) {
            acc[j] = p->bias != NULL ? p->bias[o0 + j] : 0;
        }
        for (d0 = 0; d0 < body; d0 += EC_FC_CHUNK) {
            const int len = body - d0 < EC_FC_CHUNK ? body - d0 : EC_FC_CHUNK;
            ec_fc_expand(in + d0, len >> 2, off2, x);
            ec_fc_rows(p, x, o0, n, d0, len, acc);
        }
        for (j = 0; j < n; ++j) {
            const int8_t *w = p->weights + (int32_t)(o0 + j) * depth;
            for (d = body; d < depth; ++d) {
                acc[j] += (in[d] + p->in_offset) * w[d];
            }
            out[o0 + j] = ec_fc_requant(p, o0 + j, acc[j]);
        }
    }
    return 1;
}

#else
typedef int ec_fc_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
