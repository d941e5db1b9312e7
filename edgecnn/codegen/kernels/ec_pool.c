/* Max and average pooling (reference_integer_ops::MaxPool / AveragePool):
 * windows are clipped at the borders; the average divides by the number of
 * taps inside the input, rounding half away from zero. */
#include "ec_kernels.h"
#include "ec_fixedpoint.h"

/* The window of output (oy, ox) clipped to the input: [y0, y1) x [x0, x1). */
static void ec_window(const ec_pool_params *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    const int iy = oy * p->stride_h - p->pad_top;
    const int ix = ox * p->stride_w - p->pad_left;
    *y0 = iy < 0 ? 0 : iy;
    *y1 = iy + p->k_h < p->in_h ? iy + p->k_h : p->in_h;
    *x0 = ix < 0 ? 0 : ix;
    *x1 = ix + p->k_w < p->in_w ? ix + p->k_w : p->in_w;
}

void ec_max_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox, y, x, c, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * p->out_w + ox) * p->c;
            ec_window(p, oy, ox, &y0, &y1, &x0, &x1);
            for (c = 0; c < p->c; ++c) {
                o[c] = INT8_MIN;
            }
            for (y = y0; y < y1; ++y) {
                for (x = x0; x < x1; ++x) {
                    const int8_t *i = in + ((int32_t)y * p->in_w + x) * p->c;
                    for (c = 0; c < p->c; ++c) {
                        if (i[c] > o[c]) {
                            o[c] = i[c];
                        }
                    }
                }
            }
            for (c = 0; c < p->c; ++c) {
                o[c] = (int8_t)ec_clamp(o[c], p->act_min, p->act_max);
            }
        }
    }
}

void ec_avg_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out)
{
    int oy, ox, y, x, c, y0, y1, x0, x1;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
            int8_t *o = out + ((int32_t)oy * p->out_w + ox) * p->c;
            int32_t count;
            ec_window(p, oy, ox, &y0, &y1, &x0, &x1);
            count = (int32_t)(y1 - y0) * (x1 - x0);
            for (c = 0; c < p->c; ++c) {
                int32_t acc = 0;
                for (y = y0; y < y1; ++y) {
                    for (x = x0; x < x1; ++x) {
                        acc += in[((int32_t)y * p->in_w + x) * p->c + c];
                    }
                }
                /* The generator guarantees count > 0 (no window outside the input). */
                acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                o[c] = (int8_t)ec_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}
