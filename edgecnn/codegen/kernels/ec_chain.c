/* A fused block, computed a few output pixels at a time so that its
 * intermediate tensors are never stored in full (the arena then holds only
 * the block's input and output). Each pixel goes through exactly the same
 * arithmetic as the plain kernels, so the result is bit-identical.
 * The order of the loops below (raster batches of EC_PIXELS_MAX pixels; pooled
 * pixels in raster order) bounds how far the planner lets the output overlap
 * the input (overlap.py): change them together. */
#include "ec_conv_common.h"
#include "ec_simd.h"

/* Channels up to which the block's batches of EC_PIXELS_MAX pixels (the
 * SIMD kernels load each weight once for all of them) keep their
 * intermediate vectors on the stack; wider blocks keep them in the arena
 * scratch the planner reserved (fusion.py: EC_STACK_C, the same number). */
#define EC_STACK_C 96

typedef struct {
    const ec_chain_params *p;
    const int8_t *in;
    int8_t *mid; /* the first stage's output of n pixels, with a pointwise stage */
    int yx[2 * EC_PIXELS_MAX];
    int n, max_n;
} ec_pixel_batch;

/* The block's output (before pooling) of the n pixels in b->yx to dst (n x
 * c_out bytes); with acc_max (SIMD kernels only), the last conv stage raises
 * acc_max to its largest accumulators instead (see ec_requant_max_simd). */
static void ec_chain_pixels(ec_pixel_batch *b, int8_t *dst, int32_t *acc_max)
{
    const ec_chain_params *p = b->p;
    const ec_conv_params *first = p->first;
    int8_t *first_out = p->pointwise != NULL ? b->mid : dst;
#ifndef EC_SIMD
    (void)acc_max;
#endif
    if (p->first_is_depthwise) {
        ec_depthwise_pixels_s8(first, b->in, b->yx, b->n, first_out);
#ifdef EC_SIMD
    } else if (acc_max != NULL && p->pointwise == NULL) {
        ec_conv2d_pixels_simd(first, b->in, b->yx, b->n, NULL, acc_max);
#endif
    } else {
        ec_conv2d_pixels_s8(first, b->in, b->yx, b->n, first_out);
    }
    if (p->pointwise != NULL) {
#ifdef EC_SIMD
        if (acc_max != NULL) {
            ec_pointwise_pixels_simd(p->pointwise, b->mid, b->n, NULL, acc_max);
        } else
#endif
        {
            ec_pointwise_pixels_s8(p->pointwise, b->mid, b->n, dst);
        }
    }
    b->n = 0;
}

/* 1 if the block can max-pool its last conv stage's accumulators (SIMD kernels). */
static int ec_pool_accumulators(const ec_chain_params *p, int on_stack)
{
#ifdef EC_SIMD
    const ec_conv_params *f = p->first;
    if (p->pointwise != NULL) {
        return on_stack && ec_conv_simd_takes(p->pointwise, p->pointwise->in_c);
    }
    return on_stack && !p->first_is_depthwise && ec_conv_simd_takes(f, (int32_t)f->k_h * f->k_w * f->in_c);
#else
    (void)p;
    (void)on_stack;
    return 0;
#endif
}

/* max into o (c values) of the n pixel vectors in pix. */
static void ec_max_into(int8_t *o, const int8_t *pix, int n, int c)
{
    int i, k;
    for (i = 0; i < n; ++i) {
        const int8_t *v = pix + i * c;
        for (k = 0; k < c; ++k) {
            o[k] = v[k] > o[k] ? v[k] : o[k]; /* unconditional store: vectorises */
        }
    }
}

void ec_chain_s8(const ec_chain_params *p, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const ec_conv_params *last = p->pointwise != NULL ? p->pointwise : p->first;
    const ec_pool_params *pool = p->pool;
    const int c_out = last->out_c;
    int8_t stack_mid[EC_PIXELS_MAX * EC_STACK_C];
    union { /* a pooled block uses one or the other */
        int8_t pix[EC_PIXELS_MAX * EC_STACK_C];
        int32_t acc_max[EC_STACK_C];
    } stack;
    int32_t *acc_max = stack.acc_max;
    const int on_stack = p->first->out_c <= EC_STACK_C && c_out <= EC_STACK_C;
    /* Else the batch in the scratch: EC_PIXELS_MAX x first->out_c bytes with a pointwise stage, then
     * EC_PIXELS_MAX x c_out with a pool. */
    int8_t *pix = on_stack ? stack.pix : scratch + (p->pointwise != NULL ? EC_PIXELS_MAX * p->first->out_c : 0);
    ec_pixel_batch b;
    int32_t i, pixels;
    int oy, ox, y, x, c, pooled, clamp;
    b.p = p;
    b.in = in;
    b.mid = on_stack ? stack_mid : scratch;
    b.n = 0;
    b.max_n = EC_PIXELS_MAX;
    if (pool == NULL) {
        pixels = (int32_t)last->out_h * last->out_w;
        for (i = 0; i < pixels; ++i) {
            b.yx[2 * b.n] = (int)(i / last->out_w);
            b.yx[2 * b.n + 1] = (int)(i % last->out_w);
            if (++b.n == b.max_n || i + 1 == pixels) {
                ec_chain_pixels(&b, out + (i + 1 - b.n) * c_out, NULL);
            }
        }
        return;
    }
    pooled = ec_pool_accumulators(p, on_stack);
    clamp = pool->act_min > INT8_MIN || pool->act_max < INT8_MAX; /* a fused activation of the pool */
    for (oy = 0; oy < pool->out_h; ++oy) {
        for (ox = 0; ox < pool->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * pool->out_w + ox) * c_out;
            const int iy = oy * pool->stride_h - pool->pad_top;
            const int ix = ox * pool->stride_w - pool->pad_left;
            const int y0 = iy < 0 ? 0 : iy;
            const int y1 = iy + pool->k_h < pool->in_h ? iy + pool->k_h : pool->in_h;
            const int x0 = ix < 0 ? 0 : ix;
            const int x1 = ix + pool->k_w < pool->in_w ? ix + pool->k_w : pool->in_w;
            for (c = 0; !pooled && c < c_out; ++c) { /* pooled: ec_requant_max_simd writes o */
                o[c] = INT8_MIN;
            }
            for (c = 0; pooled && c < c_out; ++c) { /* pooled implies c_out <= EC_STACK_C */
                acc_max[c] = INT32_MIN;
            }
            for (y = y0; y < y1; ++y) {
                for (x = x0; x < x1; ++x) {
                    b.yx[2 * b.n] = y;
                    b.yx[2 * b.n + 1] = x;
                    if (++b.n == b.max_n || (y + 1 == y1 && x + 1 == x1)) {
                        const int n = b.n;
                        ec_chain_pixels(&b, pix, pooled ? acc_max : NULL);
                        if (!pooled) {
                            ec_max_into(o, pix, n, c_out);
                        }
                    }
                }
            }
#ifdef EC_SIMD
            if (pooled) {
                ec_requant_max_simd(last, acc_max, o);
            }
#endif
            for (c = 0; clamp && c < c_out; ++c) {
                o[c] = (int8_t)ec_clamp(o[c], pool->act_min, pool->act_max);
            }
        }
    }
}
