/* A fused block, computed one output pixel at a time so that its
 * intermediate tensors are never stored in full (the arena then holds only
 * the block's input and output). Each pixel goes through exactly the same
 * arithmetic as the plain kernels, so the result is bit-identical. */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"

/* The block's output pixel (before pooling) at (y, x), all channels. */
static void ec_chain_pixel(const ec_chain_params *p, const int8_t *in, int y, int x, int8_t *dst, int8_t *mid)
{
    int8_t *first_out = p->pointwise != NULL ? mid : dst;
    if (p->first_is_depthwise) {
        ec_depthwise_pixel_s8(p->first, in, y, x, first_out);
    } else {
        ec_conv2d_pixel_s8(p->first, in, y, x, first_out);
    }
    if (p->pointwise != NULL) {
        ec_pointwise_pixel_s8(p->pointwise, mid, dst);
    }
}

void ec_chain_s8(const ec_chain_params *p, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const ec_conv_params *last = p->pointwise != NULL ? p->pointwise : p->first;
    const int c_out = last->out_c;
    int8_t *mid = scratch; /* first->out_c bytes, with a pointwise stage only */
    int8_t *pix = scratch + (p->pointwise != NULL ? p->first->out_c : 0); /* c_out bytes, with a pool only */
    int oy, ox, y, x, c;
    if (p->pool == NULL) {
        for (oy = 0; oy < last->out_h; ++oy) {
            for (ox = 0; ox < last->out_w; ++ox) {
                ec_chain_pixel(p, in, oy, ox, out + ((int32_t)oy * last->out_w + ox) * c_out, mid);
            }
        }
        return;
    }
    for (oy = 0; oy < p->pool->out_h; ++oy) {
        for (ox = 0; ox < p->pool->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * p->pool->out_w + ox) * c_out;
            const int iy = oy * p->pool->stride_h - p->pool->pad_top;
            const int ix = ox * p->pool->stride_w - p->pool->pad_left;
            const int y0 = iy < 0 ? 0 : iy;
            const int y1 = iy + p->pool->k_h < p->pool->in_h ? iy + p->pool->k_h : p->pool->in_h;
            const int x0 = ix < 0 ? 0 : ix;
            const int x1 = ix + p->pool->k_w < p->pool->in_w ? ix + p->pool->k_w : p->pool->in_w;
            for (c = 0; c < c_out; ++c) {
                o[c] = INT8_MIN;
            }
            for (y = y0; y < y1; ++y) {
                for (x = x0; x < x1; ++x) {
                    ec_chain_pixel(p, in, y, x, pix, mid);
                    for (c = 0; c < c_out; ++c) {
                        if (pix[c] > o[c]) {
                            o[c] = pix[c];
                        }
                    }
                }
            }
            for (c = 0; c < c_out; ++c) {
                o[c] = (int8_t)ec_clamp(o[c], p->pool->act_min, p->pool->act_max);
            }
        }
    }
}
