/* SIMD elementwise ADD (cores with the DSP extension, or the C emulation of
 * ec_simd.h with -DEC_SIMD_EMULATE): the same integers as ec_add_s8.
 *
 * TFLite's int8 ADD shifts each input (x + offset, at most 255 in magnitude)
 * left by left_shift (20) and applies three MultiplyByQuantizedMultiplier.
 Each input's scaled value depends only on its int8 value: two
 * 256-entry tables hold them (computed with the reference arithmetic), so an
 * element costs two table loads, one add and the output's multiply, shift
 * and clamp. When the input shifts are right shifts (or 0) and left_shift <=
 * 20, the scaled values stay below 2^28 in magnitude and their sum below 2^29,
 * so the output's multiply is one SMMULR of the doubled sum (gemmlowp's
 * doubling high multiply exactly, as in ec_requant_simd.h) and, for an output
 * shift of at least 1 to the right, a rounding shift.
 * Tensors below EC_ADD_TABLE_MIN elements keep the reference loop (the tables
 * would cost more than they save). */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"
#include "ec_simd.h"

#ifdef EC_SIMD

#define EC_ADD_TABLE_MIN 1024

typedef struct {
    int32_t mult, half;
    int right;
} ec_rshift;

static ec_rshift ec_rshift_make(int32_t mult, int32_t shift)
{
    ec_rshift r;
    r.mult = mult;
    r.right = (int)-shift;
    r.half = (int32_t)(1u << (r.right - 1));
    return r;
}

/* ec_mbqm(x, mult, -right) for |x| < 2^30 and right >= 1: SMMULR, then the
 * rounding shift (ties away from zero: a negative value rounds with half - 1). */
EC_ALWAYS_INLINE int32_t ec_rshift_apply(ec_rshift r, int32_t x)
{
    const int32_t h = ec_smmulr((int32_t)((uint32_t)x << 1), r.mult);
    return (h + r.half + (h >> 31)) >> r.right;
}

/* table[v + 128] = ec_mbqm((v + offset) << left, mult, shift) for every int8 v (the reference arithmetic). */
static void ec_add_table(int32_t offset, int left, int32_t mult, int32_t shift, int32_t *table)
{
    int v;
    for (v = -128; v < 128; ++v) {
        table[v + 128] = ec_mbqm(ec_shl_wrap(v + offset, left), mult, (int)shift);
    }
}

int ec_add_simd_begin(const ec_add_params *p, int32_t size, ec_add_stream *s)
{
    if (size < EC_ADD_TABLE_MIN || p->left_shift < 0 || p->left_shift > 20 || p->in1_shift > 0 ||
        p->in2_shift > 0 || p->out_shift >= 0) {
        return 0;
    }
    ec_add_table(p->in1_offset, (int)p->left_shift, p->in1_mult, p->in1_shift, s->t1);
    ec_add_table(p->in2_offset, (int)p->left_shift, p->in2_mult, p->in2_shift, s->t2);
    s->c1 = s->t1 + 128;
    s->c2 = s->t2 + 128;
    s->out_mult = p->out_mult;
    s->out_shift = p->out_shift;
    s->out_offset = p->out_offset;
    s->act_min = p->act_min;
    s->act_max = p->act_max;
    return 1;
}

void ec_add_simd_span(const ec_add_stream *s, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n)
{
    const int32_t *c1 = s->c1, *c2 = s->c2; /* loaded, so gcc indexes them (LDR [c, v, LSL #2]) */
    /* Locals: the stores to out could alias *s, which would make gcc reload every field. */
    const int32_t out_off = s->out_offset, lo = s->act_min, hi = s->act_max;
    const ec_rshift ro = ec_rshift_make(s->out_mult, s->out_shift);
    const int8_t *const end = in1 + n;
    while (in1 != end) { /* element i is read before it is written: in place is exact */
        const int32_t r = ec_rshift_apply(ro, c1[*in1++] + c2[*in2++]) + out_off;
        *out++ = (int8_t)ec_clamp(r, lo, hi);
    }
}

int ec_add_simd(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    ec_add_stream s;
    if (!ec_add_simd_begin(p, p->size, &s)) {
        return 0;
    }
    ec_add_simd_span(&s, in1, in2, out, p->size);
    return 1;
}

#else
typedef int ec_eltwise_simd_unused; /* ISO C wants a translation unit to declare something */
#endif /* EC_SIMD */
