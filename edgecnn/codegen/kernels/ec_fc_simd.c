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
#include "ec_fixedpoint.h"
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

/* Four rows over `groups` groups of x: acc[k] += row k . x, rows k = 0, 1
 * at w0, w0 + s and k = 2, 3 at w2, w2 + s (s = 0 or w2 = w0 repeat rows
 * when fewer remain). */
typedef struct {
    const uint32_t *x; /* 0: pairs, word aligned */
    const int8_t *w0;  /* 4 */
    const int8_t *w2;  /* 8 */
    int32_t s;         /* 12: bytes from row 0 to row 1 (and row 2 to row 3) */
    int32_t groups;    /* 16: >= 1 */
    int32_t *acc;      /* 20: 4 sums, updated */
} ec_fc_job;

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
/* One group: one LDRD of input pairs feeds the four rows; per row one LDR of
 * a weight word, two SXTB16, two SMLADs. 21 instructions, 27 cycles at worst
 * per 16 MACs. */
#define EC_FC_ROW(ptr, acc)                                                                         \
    "ldr r4, " ptr "\n\t"                                                                           \
    "sxtb16 r5, r4, ror #8\n\t"                                                                     \
    "sxtb16 r4, r4\n\t"                                                                             \
    "smlad " acc ", r4, r6, " acc "\n\t"                                                            \
    "smlad " acc ", r5, r7, " acc "\n\t"
#define EC_FC_GROUP                                                                                 \
    "ldrd r6, r7, [r8], #8\n\t" EC_FC_ROW("[r9, r11]", "r1") EC_FC_ROW("[r9], #4", "r0")         \
        EC_FC_ROW("[r10, r11]", "r3") EC_FC_ROW("[r10], #4", "r2")

/* In assembly as a whole function (13 registers and the job pointer, see
 * ec_mac_rows in ec_conv_simd.c): groups % 4 first, then four per pass. */
__attribute__((naked, noinline)) static void ec_fc_rows4(ec_fc_job *job __attribute__((unused)))
{
    __asm__("push {r4-r11, lr}\n\t"
            "mov lr, r0\n\t"
            "ldr r12, [lr, #20]\n\t"
            "ldm r12, {r0-r3}\n\t"
            "ldr r8, [lr, #0]\n\t"
            "ldr r9, [lr, #4]\n\t"
            "ldr r10, [lr, #8]\n\t"
            "ldr r11, [lr, #12]\n\t"
            "ldr r12, [lr, #16]\n\t"
            "and r12, r12, #3\n\t"
            "add r12, r8, r12, lsl #3\n\t"
            "cmp r8, r12\n\t"
            "beq 4f\n\t"
            "3:\n\t" EC_FC_GROUP
            "cmp r8, r12\n\t"
            "bne 3b\n\t"
            "4:\n\t"
            "ldr r12, [lr, #16]\n\t"
            "ldr r4, [lr, #0]\n\t"
            "add r12, r4, r12, lsl #3\n\t"
            "cmp r8, r12\n\t"
            "beq 6f\n\t"
            "5:\n\t" EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP
            "cmp r8, r12\n\t"
            "bne 5b\n\t"
            "6:\n\t"
            "ldr r12, [lr, #20]\n\t"
            "stm r12, {r0-r3}\n\t"
            "pop {r4-r11, pc}\n\t");
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

static void ec_fc_rows4(ec_fc_job *job)
{
    job->acc[0] = ec_fc_dot1(job->x, job->w0, job->groups, job->acc[0]);
    job->acc[1] = ec_fc_dot1(job->x, job->w0 + job->s, job->groups, job->acc[1]);
    job->acc[2] = ec_fc_dot1(job->x, job->w2, job->groups, job->acc[2]);
    job->acc[3] = ec_fc_dot1(job->x, job->w2 + job->s, job->groups, job->acc[3]);
}
#endif

/* Rows [o0, o0 + n) of the chunk [d0, d0 + len), len % 4 == 0, into acc:
 * four rows per pass; two or three left: a pass on two (rows repeated, w2 =
 * w0), then one (s = 0). */
static void ec_fc_rows(const ec_fc_params *p, const uint32_t *x, int o0, int n, int d0, int len, int32_t *acc)
{
    const int32_t depth = p->in_depth;
    int32_t pass[4];
    ec_fc_job job;
    int j = 0;
    job.x = x;
    job.groups = len >> 2;
    for (; j + 4 <= n; j += 4) {
        job.w0 = p->weights + (int32_t)(o0 + j) * depth + d0;
        job.w2 = job.w0 + 2 * depth;
        job.s = depth;
        job.acc = acc + j;
        ec_fc_rows4(&job);
    }
    while (j < n) {
        const int two = n - j >= 2;
        pass[0] = acc[j];
        pass[1] = two ? acc[j + 1] : 0;
        pass[2] = pass[3] = 0;
        job.w0 = job.w2 = p->weights + (int32_t)(o0 + j) * depth + d0;
        job.s = two ? depth : 0;
        job.acc = pass;
        ec_fc_rows4(&job);
        acc[j] = pass[0];
        if (two) {
            acc[j + 1] = pass[1];
        }
        j += two ? 2 : 1;
    }
}

/* Rows [o0, o0 + n): the depth % 4 last inputs added, then requantized:
 * ec_fc_requant, with the 32-bit fast path of LiteRT's double rounding
 * (ec_round_double_fast) inline and the row's constants read once; values
 * near a tie take ec_fc_requant. */
static void ec_fc_outputs(const ec_fc_params *p, const int8_t *in, int o0, int n, int32_t *acc, int8_t *out)
{
    const int depth = p->in_depth, body = depth & ~3;
    const int32_t zp = p->out_offset, lo = p->act_min, hi = p->act_max;
    int j, d;
    for (j = 0; j < n && body < depth; ++j) {
        const int8_t *w = p->weights + (int32_t)(o0 + j) * depth;
        for (d = body; d < depth; ++d) {
            acc[j] += (in[d] + p->in_offset) * w[d];
        }
    }
    for (j = 0; j < n; ++j) {
        const int o = o0 + j;
        const int32_t v = acc[j];
#ifndef EC_FC_FIXED_POINT_REQUANT
        const int s = -(p->real_exp[o] + 21);
        if (s >= 33 && s <= 53) {
            const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
            const int32_t r = ec_round_double_fast(a, (uint64_t)p->real_mant[o], s);
            if (r >= 0) {
                out[o] = (int8_t)ec_clamp((v < 0 ? -r : r) + zp, lo, hi);
                continue;
            }
        }
#else
        (void)zp;
        (void)lo;
        (void)hi;
#endif
        out[o] = ec_fc_requant(p, o, v);
    }
}

int ec_fully_connected_simd(const ec_fc_params *p, const int8_t *in, int8_t *out)
{
    uint32_t x[EC_FC_CHUNK / 2];
    int32_t acc[EC_FC_TILE];
    const int depth = p->in_depth, body = depth & ~3;
    const uint32_t off2 = ((uint32_t)p->in_offset & 0xFFFFu) * 0x00010001u;
    int o0, d0, j;
    for (o0 = 0; o0 < p->out_depth; o0 += EC_FC_TILE) {
        const int n = p->out_depth - o0 < EC_FC_TILE ? p->out_depth - o0 : EC_FC_TILE;
        for (j = 0; j < n; ++j) {
            acc[j] = p->bias != NULL ? p->bias[o0 + j] : 0;
        }
        for (d0 = 0; d0 < body; d0 += EC_FC_CHUNK) { /* body > 0 here: len >= 4 */
            const int len = body - d0 < EC_FC_CHUNK ? body - d0 : EC_FC_CHUNK;
            ec_fc_expand(in + d0, len >> 2, off2, x);
            ec_fc_rows(p, x, o0, n, d0, len, acc);
        }
        ec_fc_outputs(p, in, o0, n, acc, out);
    }
    return 1;
}

#else
typedef int ec_fc_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
