/* The common ops without weights, as plain reference kernels: elementwise
 * binary ops with 4-D broadcasting (ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU),
 * per-element requantization (RELU, RELU6, LEAKY_RELU, QUANTIZE),
 * CONCATENATION, data movement through per-axis offset tables
 * (STRIDED_SLICE, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR) and REDUCE_MAX.
 * The arithmetic is TFLite's reference int8 arithmetic (ec_fixedpoint.h). */
#include "ec_fixedpoint.h"
#include "ec_kernels.h"

static int32_t ec_binary_one(const ec_binary_params *p, int32_t x1, int32_t x2)
{
    int32_t r;
    switch (p->op) {
    case EC_OP_ADD:
    case EC_OP_SUB: {
        const int32_t a = ec_mbqm(ec_shl_wrap(x1 + p->in1_offset, p->left_shift), p->in1_mult, p->in1_shift);
        const int32_t b = ec_mbqm(ec_shl_wrap(x2 + p->in2_offset, p->left_shift), p->in2_mult, p->in2_shift);
        r = ec_mbqm(p->op == EC_OP_ADD ? ec_add_wrap(a, b) : ec_sub_wrap(a, b), p->out_mult, p->out_shift)
            + p->out_offset;
        break;
    }
    case EC_OP_MUL:
        r = ec_mbqm((x1 + p->in1_offset) * (x2 + p->in2_offset), p->out_mult, p->out_shift) + p->out_offset;
        break;
    case EC_OP_MAXIMUM:
        r = x1 > x2 ? x1 : x2;
        break;
    case EC_OP_MINIMUM:
        r = x1 < x2 ? x1 : x2;
        break;
    default: /* EC_OP_PRELU: x2 is alpha */
        if (x1 + p->in1_offset >= 0) {
            r = ec_mbqm(x1 + p->in1_offset, p->in1_mult, p->in1_shift);
        } else {
            r = ec_mbqm((x1 + p->in1_offset) * (x2 + p->in2_offset), p->out_mult, p->out_shift);
        }
        r += p->out_offset;
        break;
    }
    return ec_clamp(r, p->act_min, p->act_max);
}

void ec_binary_s8(const ec_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    int32_t i0, i1, i2, i3, o = 0;
    if (p->const1 != NULL) {
        in1 = p->const1;
    }
    if (p->const2 != NULL) {
        in2 = p->const2;
    }
    for (i0 = 0; i0 < p->dims[0]; ++i0) {
        for (i1 = 0; i1 < p->dims[1]; ++i1) {
            for (i2 = 0; i2 < p->dims[2]; ++i2) {
                for (i3 = 0; i3 < p->dims[3]; ++i3) {
                    const int32_t a = i0 * p->stride1[0] + i1 * p->stride1[1] + i2 * p->stride1[2] + i3 * p->stride1[3];
                    const int32_t b = i0 * p->stride2[0] + i1 * p->stride2[1] + i2 * p->stride2[2] + i3 * p->stride2[3];
                    out[o++] = (int8_t)ec_binary_one(p, in1[a], in2[b]);
                }
            }
        }
    }
}

void ec_binary_const_s8(const ec_binary_params *p, const int8_t *in, int8_t *out)
{
    ec_binary_s8(p, in, in, out);
}

void ec_requant_s8(const ec_requant_params *p, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t v = in[i] - p->in_zero_point;
        const int32_t r = v >= 0 ? ec_mbqm(v, p->pos_mult, p->pos_shift) : ec_mbqm(v, p->neg_mult, p->neg_shift);
        out[i] = (int8_t)ec_clamp(r + p->out_zero_point, p->act_min, p->act_max);
    }
}

void ec_concat_s8(const ec_concat_params *p, const int8_t *const *ins, int8_t *out)
{
    int32_t o, k, j;
    for (o = 0; o < p->outer; ++o) {
        for (k = 0; k < p->n; ++k) {
            const int8_t *src = ins[k] + o * p->inner[k];
            for (j = 0; j < p->inner[k]; ++j) {
                *out++ = src[j];
            }
        }
    }
}

void ec_gather_axes_s8(const ec_gather_params *p, const int8_t *in, int8_t *out)
{
    const int32_t *t0 = p->offsets, *t1 = t0 + p->dims[0], *t2 = t1 + p->dims[1], *t3 = t2 + p->dims[2];
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < p->dims[0]; ++i0) {
        for (i1 = 0; i1 < p->dims[1]; ++i1) {
            for (i2 = 0; i2 < p->dims[2]; ++i2) {
                const int8_t *src = in + t0[i0] + t1[i1] + t2[i2];
                for (i3 = 0; i3 < p->dims[3]; ++i3) {
                    *out++ = src[t3[i3]];
                }
            }
        }
    }
}

/* Input offset of output o's first element, and of the r-th reduced element relative to it. */
static int32_t ec_axes_offset(const int32_t *dims, const int32_t *strides, int32_t index)
{
    int32_t k, off = 0;
    for (k = 3; k >= 0; --k) {
        off += (index % dims[k]) * strides[k];
        index /= dims[k];
    }
    return off;
}

void ec_reduce_max_s8(const ec_reduce_params *p, const int8_t *in, int8_t *out)
{
    int32_t o, r;
    for (o = 0; o < p->out_size; ++o) {
        const int8_t *base = in + ec_axes_offset(p->keep_dims, p->keep_strides, o);
        int32_t best = -128;
        for (r = 0; r < p->red_size; ++r) {
            const int32_t v = base[ec_axes_offset(p->red_dims, p->red_strides, r)];
            best = v > best ? v : best;
        }
        out[o] = (int8_t)best;
    }
}

void ec_reduce_mean_s8(const ec_reduce_params *p, const int8_t *in, int8_t *out)
{
    int32_t o, r;
    for (o = 0; o < p->out_size; ++o) {
        const int8_t *base = in + ec_axes_offset(p->keep_dims, p->keep_strides, o);
        int32_t sum = 0, v;
        for (r = 0; r < p->red_size; ++r) {
            sum += base[ec_axes_offset(p->red_dims, p->red_strides, r)];
        }
        if (p->thresholds == NULL) {
            v = p->divide ? sum / p->red_size : sum;
        } else {
            int32_t lo = 0, hi = p->n_thresholds; /* the number of thresholds <= sum, by bisection */
            while (lo < hi) {
                const int32_t mid = (lo + hi) / 2;
                if (p->thresholds[mid] <= sum) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            v = p->base + lo;
        }
        out[o] = (int8_t)(((v + 128) & 255) - 128);
    }
}
