/* SIMD FULLY_CONNECTED (cores with the DSP extension, or the C emulation of
 * ec_simd.h with -DEC_SIMD_EMULATE): the same integers as the reference
 * kernel of ec_dense.c, from the same weight layout (ec_fc_params).
 *
 * The input, plus its offset, is expanded to int16 pairs in the order SXTB16
 * splits a word of four weights, (x0, x2) and (x1, x3): once per layer when
 * the body fits EC_FC_CHUNK values, else once per chunk and row tile; the
 * weights stay int8 in flash. Four rows per pass: one LDRD of input pairs and
 * one LDM of the four rows' interleaved weight words feed eight SMLADs. Rows
 * go in tiles of EC_FC_TILE whose int32 sums stay on the stack between
 * chunks, so any input depth runs with a fixed stack. (x + offset) is at most
 * 255 in magnitude and fits an int16 lane. */
#include "ec_fixedpoint.h"
#include "ec_kernels.h"
#include "ec_simd.h"

#ifdef EC_SIMD

#define EC_FC_CHUNK 256 /* inputs expanded at a time: 128 words of stack */
#define EC_FC_TILE 64   /* rows whose sums are kept between chunks; % 4 == 0 */

#if defined(__GNUC__)
#define EC_NOINLINE __attribute__((noinline)) /* in their own register allocation gcc -Os spills less */
#else
#define EC_NOINLINE
#endif

/* groups x 4 inputs + offset -> pairs (x0, x2), (x1, x3) per group; two
 * groups a pass (one loop branch per 8 inputs). */
EC_NOINLINE static void ec_fc_expand(const int8_t *in, int groups, uint32_t off2, uint32_t *x)
{
    const int8_t *end = in + 4 * (groups & ~1);
    for (; in != end; in += 8, x += 4) {
        const uint32_t v0 = ec_load4(in), v1 = ec_load4(in + 4);
        x[0] = ec_sadd16(ec_sxtb16(v0), off2);
        x[1] = ec_sadd16(ec_sxtb16_ror8(v0), off2);
        x[2] = ec_sadd16(ec_sxtb16(v1), off2);
        x[3] = ec_sadd16(ec_sxtb16_ror8(v1), off2);
    }
    if (groups & 1) {
        const uint32_t v = ec_load4(in);
        x[0] = ec_sadd16(ec_sxtb16(v), off2);
        x[1] = ec_sadd16(ec_sxtb16_ror8(v), off2);
    }
}

/* Tiles of four rows (the interleaved words of ec_fc_params) over the groups
 * of x in [x, x_end), one tile after the other: sums from acc_in (advanced by
 * in_step bytes a tile: 16, or 0 to start every tile from the same four) to
 * acc. The offsets are the assembly's. */
typedef struct {
    const int32_t *acc_in; /* 0: advanced */
    int32_t in_step;       /* 4 */
    const uint32_t *x;     /* 8: pairs of the chunk, word aligned */
    const uint32_t *x_mid; /* 12: x + 2 * (groups % 8): the groups before the 8-group loop */
    const uint32_t *x_end; /* 16: x + 2 * groups, groups >= 1 */
    int32_t *acc;          /* 20: advanced by 4 a tile */
    int32_t w_skip;        /* 24: bytes from a tile's chunk end to the next tile's chunk */
    int32_t quads;         /* 28: tiles, >= 1; counted down */
    const int8_t *w;       /* 32: the first tile's words of the chunk, word aligned */
} ec_fc_job;

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
/* One group: an LDRD of input pairs and one LDM of the four rows' weight
 * words; per row two SXTB16 and two SMLADs. 18 instructions, 24 cycles at
 * worst per 16 MACs (four LDRs and an LDRD: 27). */
#define EC_FC_ROW(w, acc)                                                                           \
    "sxtb16 r12, " w ", ror #8\n\t"                                                                 \
    "sxtb16 " w ", " w "\n\t"                                                                       \
    "smlad " acc ", " w ", r4, " acc "\n\t"                                                         \
    "smlad " acc ", r12, r5, " acc "\n\t"
#define EC_FC_GROUP                                                                                 \
    "ldrd r4, r5, [r8], #8\n\t"                                                                     \
    "ldm r9!, {r6, r7, r10, r11}\n\t" EC_FC_ROW("r6", "r0") EC_FC_ROW("r7", "r1")                  \
        EC_FC_ROW("r10", "r2") EC_FC_ROW("r11", "r3")

/* In assembly as a whole function: the loop needs all 14 registers (4 sums,
 * 2 input pairs, 4 weight words, the SXTB16 scratch, x, w, the end), so the
 * job pointer waits on the stack (as ec_mac_rows in ec_conv_simd.c, it builds
 * at -O0 and with any float ABI); w runs on from tile to tile in r9. Per
 * tile: groups % 8 one at a time, then eight a pass (one loop branch per 128
 * MACs). */
__attribute__((naked, noinline)) static void ec_fc_quads(ec_fc_job *job __attribute__((unused)))
{
    __asm__("push {r0, r4-r11, lr}\n\t"
            "ldr r9, [r0, #32]\n\t"
            "1:\n\t"
            "ldr lr, [sp]\n\t"
            "ldrd r12, r4, [lr]\n\t"
            "ldm r12, {r0-r3}\n\t"
            "add r12, r12, r4\n\t"
            "str r12, [lr]\n\t"
            "ldrd r8, lr, [lr, #8]\n\t"
            "cmp r8, lr\n\t"
            "beq 3f\n\t"
            "2:\n\t" EC_FC_GROUP
            "cmp r8, lr\n\t"
            "bne 2b\n\t"
            "3:\n\t"
            "ldr lr, [sp]\n\t"
            "ldr lr, [lr, #16]\n\t"
            "cmp r8, lr\n\t"
            "beq 5f\n\t"
            "4:\n\t" EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP EC_FC_GROUP
                EC_FC_GROUP
            "cmp r8, lr\n\t"
            "bne 4b\n\t"
            "5:\n\t"
            "ldr lr, [sp]\n\t"
            "ldr r12, [lr, #20]\n\t"
            "stm r12!, {r0-r3}\n\t"
            "str r12, [lr, #20]\n\t"
            "ldrd r4, r5, [lr, #24]\n\t"
            "add r9, r9, r4\n\t"
            "subs r5, r5, #1\n\t"
            "str r5, [lr, #28]\n\t"
            "bne 1b\n\t"
            "pop {r0, r4-r11, pc}\n\t");
}
#else
static void ec_fc_quads(ec_fc_job *job)
{
    const int8_t *w = job->w;
    const int groups = (int)(job->x_end - job->x) / 2;
    int q, g, k;
    for (q = 0; q < job->quads; ++q) {
        int32_t a[4];
        for (k = 0; k < 4; ++k) {
            a[k] = job->acc_in[k];
        }
        for (g = 0; g < groups; ++g, w += 16) {
            for (k = 0; k < 4; ++k) {
                const uint32_t v = ec_load4(w + 4 * k);
                a[k] = ec_smlad(ec_sxtb16_ror8(v), job->x[2 * g + 1], ec_smlad(ec_sxtb16(v), job->x[2 * g], a[k]));
            }
        }
        for (k = 0; k < 4; ++k) {
            job->acc[k] = a[k];
        }
        w += job->w_skip;
        job->acc_in += job->in_step / 4;
        job->acc += 4;
    }
}
#endif

/* One row (row by row layout) over `groups` groups of x, from a. */
static int32_t ec_fc_dot1(const uint32_t *x, const int8_t *w, int groups, int32_t a)
{
    int g;
    for (g = 0; g < groups; ++g) {
        const uint32_t v = ec_load4(w + 4 * g);
        a = ec_smlad(ec_sxtb16_ror8(v), x[2 * g + 1], ec_smlad(ec_sxtb16(v), x[2 * g], a));
    }
    return a;
}

static const int32_t ec_fc_zeros[4] = {0, 0, 0, 0};

/* Rows [o0, o0 + n) of the chunk [d0, d0 + len), len % 4 == 0, into acc
 * (from the bias when d0 == 0): the first nq (% 4 == 0) in tiles of four,
 * the others (the out_depth % 4 last rows) one by one. */
static void ec_fc_rows(const ec_fc_params *p, const uint32_t *x, int o0, int n, int nq, int d0, int len, int32_t *acc)
{
    const int body = p->in_depth & ~3;
    const int32_t *bias = p->bias;
    int j;
    if (nq > 0) {
        ec_fc_job job;
        job.acc_in = d0 > 0 ? acc : bias != NULL ? bias + o0 : ec_fc_zeros;
        job.in_step = d0 > 0 || bias != NULL ? 16 : 0;
        job.x = x;
        job.x_mid = x + 2 * ((len >> 2) & 7);
        job.x_end = x + 2 * (len >> 2);
        job.acc = acc;
        job.w_skip = 4 * (body - len);
        job.quads = nq >> 2;
        job.w = p->weights + (int32_t)o0 * body + 4 * d0;
        ec_fc_quads(&job);
    }
    for (j = nq; j < n; ++j) {
        const int o = o0 + j;
        const int32_t a = d0 > 0 ? acc[j] : bias != NULL ? bias[o] : 0;
        acc[j] = ec_fc_dot1(x, p->weights + (int32_t)o * body + d0, len >> 2, a);
    }
}

#ifndef EC_FC_FIXED_POINT_REQUANT
/* A row tile's requantization through the 32-bit fast path of LiteRT's
 * double rounding (ec_round_double_fast): out[j] for j from j0 on, until a
 * row's scale is outside the fast path or its value near a tie; returns that
 * j (ec_fc_requant decides it), or n. The offsets are the assembly's. */
typedef struct {
    const int32_t *acc;   /* 0: (n,) sums, bias and tail included */
    const int64_t *mant;  /* 4: real_mant of the tile's first row */
    const int16_t *rexp;  /* 8: real_exp likewise */
    int8_t *out;          /* 12 */
    int32_t n;            /* 16 */
    int32_t zp, lo, hi;   /* 20, 24, 28: output offset, clamp */
} ec_fc_rq;

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
/* In assembly: gcc -Os keeps the clamp and the loop bound on the stack
 * (about 61 cycles a row at worst; this loop 45). s in [33, 53] as one
 * unsigned compare, |v| as eor/sub with its sign, then the steps of
 * ec_round_double_fast. */
__attribute__((naked, noinline)) static int ec_fc_fast(const ec_fc_rq *q __attribute__((unused)),
                                                       int j0 __attribute__((unused)))
{
    __asm__("push {r4-r11, lr}\n\t"
            "ldm r0, {r2-r9}\n\t"
            "add r2, r2, r6, lsl #2\n\t" /* the arrays from their ends, j - n up to 0 */
            "add r3, r3, r6, lsl #3\n\t"
            "add r4, r4, r6, lsl #1\n\t"
            "add r5, r5, r6\n\t"
            "subs r0, r1, r6\n\t"
            "bge 9f\n\t"
            "1:\n\t"
            "ldrsh r10, [r4, r0, lsl #1]\n\t"
            "add r11, r10, #74\n\t" /* exp + 74 = 53 - s in [0, 20] */
            "cmp r11, #20\n\t"
            "bhi 9f\n\t"
            "rsb r10, r11, #21\n\t" /* s1 = s - 32 */
            "add r11, r3, r0, lsl #3\n\t"
            "ldrd r11, r12, [r11]\n\t"
            "lsr r11, r11, #21\n\t"
            "orr r11, r11, r12, lsl #11\n\t" /* mant >> 21 */
            "ldr r1, [r2, r0, lsl #2]\n\t"
            "eor r12, r1, r1, asr #31\n\t"
            "sub r12, r12, r1, asr #31\n\t"
            "umull r11, r12, r11, r12\n\t"
            "mov lr, #1\n\t"
            "lsl lr, lr, r10\n\t"
            "add r12, r12, lr, lsr #1\n\t" /* + half */
            "sub lr, lr, #1\n\t"           /* mask */
            "and r11, r12, lr\n\t"
            "sub r11, r11, #1\n\t"
            "sub lr, lr, #1\n\t"
            "cmp r11, lr\n\t"
            "bhs 9f\n\t" /* fraction 0 or all ones: near a tie */
            "lsr r12, r12, r10\n\t"
            "cmp r12, #0x20000000\n\t"
            "bhs 9f\n\t"
            "cmp r1, #0\n\t"
            "it lt\n\t"
            "rsblt r12, r12, #0\n\t"
            "add r12, r12, r7\n\t"
            "cmp r12, r8\n\t"
            "it lt\n\t"
            "movlt r12, r8\n\t"
            "cmp r12, r9\n\t"
            "it gt\n\t"
            "movgt r12, r9\n\t"
            "strb r12, [r5, r0]\n\t"
            "adds r0, r0, #1\n\t"
            "bne 1b\n\t"
            "9:\n\t"
            "add r0, r0, r6\n\t"
            "pop {r4-r11, pc}\n\t");
}
#else
static int ec_fc_fast(const ec_fc_rq *q, int j0)
{
    int j;
    for (j = j0; j < q->n; ++j) {
        const int32_t v = q->acc[j];
        const int s = -(q->rexp[j] + 21);
        const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
        int32_t r;
        if (s < 33 || s > 53) {
            break;
        }
        r = ec_round_double_fast(a, (uint64_t)q->mant[j], s);
        if (r < 0) {
            break;
        }
        q->out[j] = (int8_t)ec_clamp((v < 0 ? -r : r) + q->zp, q->lo, q->hi);
    }
    return j;
}
#endif
#endif /* EC_FC_FIXED_POINT_REQUANT */

/* Rows [o0, o0 + n): the depth % 4 last inputs added to acc, then
 * requantized: ec_fc_fast, and ec_fc_requant where it stops. */
static void ec_fc_outputs(const ec_fc_params *p, const int8_t *in, int o0, int n, int32_t *acc, int8_t *out)
{
    const int depth = p->in_depth, body = depth & ~3, tail = depth - body;
    int j, d;
    for (j = 0; j < n && tail > 0; ++j) {
        const int8_t *t = p->weights + (int32_t)p->out_depth * body + (int32_t)(o0 + j) * tail;
        for (d = 0; d < tail; ++d) {
            acc[j] += (in[body + d] + p->in_offset) * t[d];
        }
    }
#ifndef EC_FC_FIXED_POINT_REQUANT
    {
        ec_fc_rq q;
        q.acc = acc;
        q.mant = p->real_mant + o0;
        q.rexp = p->real_exp + o0;
        q.out = out + o0;
        q.n = n;
        q.zp = p->out_offset;
        q.lo = p->act_min;
        q.hi = p->act_max;
        for (j = ec_fc_fast(&q, 0); j < n; j = ec_fc_fast(&q, j + 1)) {
            out[o0 + j] = ec_fc_requant(p, o0 + j, acc[j]);
        }
    }
#else
    for (j = 0; j < n; ++j) { /* TFLM's fixed-point multiplier */
        out[o0 + j] = ec_fc_requant(p, o0 + j, acc[j]);
    }
#endif
}

int ec_fully_connected_simd(const ec_fc_params *p, const int8_t *in, int8_t *out)
{
    uint32_t x[EC_FC_CHUNK / 2];
    int32_t acc[EC_FC_TILE];
    const int depth = p->in_depth, body = depth & ~3, quads = p->out_depth & ~3;
    const int one_chunk = body <= EC_FC_CHUNK; /* then x is expanded once for every tile */
    const uint32_t off2 = ((uint32_t)p->in_offset & 0xFFFFu) * 0x00010001u;
    int o0, d0, j;
    if (one_chunk) {
        ec_fc_expand(in, body >> 2, off2, x);
    }
    for (o0 = 0; o0 < p->out_depth; o0 += EC_FC_TILE) {
        const int n = p->out_depth - o0 < EC_FC_TILE ? p->out_depth - o0 : EC_FC_TILE;
        const int nq = quads - o0 < n ? (quads > o0 ? quads - o0 : 0) : n; /* EC_FC_TILE % 4 == 0 */
        for (j = 0; j < n && body == 0; ++j) {
            acc[j] = p->bias != NULL ? p->bias[o0 + j] : 0;
        }
        for (d0 = 0; d0 < body; d0 += EC_FC_CHUNK) {
            const int len = body - d0 < EC_FC_CHUNK ? body - d0 : EC_FC_CHUNK;
            if (!one_chunk) {
                ec_fc_expand(in + d0, len >> 2, off2, x);
            }
            ec_fc_rows(p, x, o0, n, nq, d0, len, acc);
        }
        ec_fc_outputs(p, in, o0, n, acc, out);
    }
    return 1;
}

#else
typedef int ec_fc_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
