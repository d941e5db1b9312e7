/* A fused block computed row by row: conv A -> [conv B] -> [ADD operand].
 *
 * With a conv B, A's output never exists in full: B's output row r needs A's
 * rows r * stride - pad .. + (k_h - 1) * dil, which are kept in a window in
 * the scratch (at most B's kernel height of rows); each A row is computed
 * once, just before the first B row that needs it, and B reads the window
 * through a copy of its parameters whose in_h / pad_top describe the window.
 * With an ADD, each batch of output pixels is added to the operand element by
 * element, each operand value read just before the sum is written, so the
 * output may lie over the operand (a residual block's skip tensor). The
 * arithmetic is that of the plain kernels (the same pixel routines), so the
 * result is bit-identical to the unfused sequence.
 *
 * Order (overlap.py relies on it): without B, raster batches of
 * EC_PIXELS_MAX output pixels; with B, output rows in order, each preceded by
 * the A rows it needs, its pixels in batches of EC_PIXELS_MAX within the row. */
#include <string.h>

#include "ec_kernels.h"
#include "ec_simd.h"

typedef struct {
    const ec_add_params *p;
    const int8_t *operand;
    int conv_is_in1;
    int simd;
#ifdef EC_SIMD
    ec_add_stream s;
#endif
} ec_row_add;

/* The n bytes at window + shift moved to window: memcpy in pieces of at most `shift` bytes, none
 * overlapping its source (the engine links no memmove). */
static void ec_move_down(int8_t *window, int32_t shift, int32_t n)
{
    int32_t k;
    for (k = 0; k < n; k += shift) {
        memcpy(window + k, window + k + shift, (size_t)(n - k < shift ? n - k : shift));
    }
}

/* n pixels (yx pairs) of one conv or depthwise stage to out (n x out_c bytes). */
static void ec_stage_pixels(const ec_conv_params *p, int depthwise, const int8_t *in, const int *yx, int n,
                            int8_t *out)
{
    if (depthwise) {
        ec_depthwise_pixels_s8(p, in, yx, n, out);
    } else {
        ec_conv2d_pixels_s8(p, in, yx, n, out);
    }
}

/* out[0 .. n) = ADD(conv result v, operand) at element offset `at` of the output. */
static void ec_row_add_span(const ec_row_add *a, const int8_t *v, int32_t at, int8_t *out, int32_t n)
{
    const int8_t *in1 = a->conv_is_in1 ? v : a->operand + at;
    const int8_t *in2 = a->conv_is_in1 ? a->operand + at : v;
#ifdef EC_SIMD
    if (a->simd) {
        ec_add_simd_span(&a->s, in1, in2, out, n);
        return;
    }
#endif
    ec_add_span_s8(a->p, in1, in2, out, n);
}

/* The n pixels of a batch (conv result in v) to out at pixel index p0. */
static void ec_emit(const ec_row_add *a, int32_t p0, int n, int c, int8_t *v, int8_t *out)
{
    if (a == NULL) {
        return; /* the stage wrote out directly */
    }
    ec_row_add_span(a, v, p0 * c, out + p0 * c, (int32_t)n * c);
}

/* Conv A alone: raster batches, as ec_conv2d_s8. */
static void ec_rows_single(const ec_rowchain_params *p, const int8_t *in, const ec_row_add *a, int8_t *out,
                           int8_t *tmp)
{
    const ec_conv_params *f = p->first;
    const int32_t pixels = (int32_t)f->out_h * f->out_w;
    int yx[2 * EC_PIXELS_MAX];
    int32_t i;
    int n = 0;
    for (i = 0; i < pixels; ++i) {
        yx[2 * n] = (int)(i / f->out_w);
        yx[2 * n + 1] = (int)(i % f->out_w);
        if (++n == EC_PIXELS_MAX || i + 1 == pixels) {
            const int32_t p0 = i + 1 - n;
            ec_stage_pixels(f, p->first_is_depthwise, in, yx, n, a != NULL ? tmp : out + p0 * f->out_c);
            ec_emit(a, p0, n, f->out_c, tmp, out);
            n = 0;
        }
    }
}

/* A's row y into dst (A's out_w x out_c bytes). */
static void ec_row_of_first(const ec_rowchain_params *p, const int8_t *in, int y, int8_t *dst)
{
    const ec_conv_params *f = p->first;
    int yx[2 * EC_PIXELS_MAX];
    int x, n;
    for (x = 0; x < f->out_w; x += n) {
        n = f->out_w - x < EC_PIXELS_MAX ? f->out_w - x : EC_PIXELS_MAX;
        for (int i = 0; i < n; ++i) {
            yx[2 * i] = y;
            yx[2 * i + 1] = x + i;
        }
        ec_stage_pixels(f, p->first_is_depthwise, in, yx, n, dst + (int32_t)x * f->out_c);
    }
}

/* Conv A -> conv B through the window. */
static void ec_rows_pair(const ec_rowchain_params *p, const int8_t *in, const ec_row_add *a, int8_t *out,
                         int8_t *window, int8_t *tmp)
{
    const ec_conv_params *b = p->second;
    const int32_t row = (int32_t)p->first->out_w * p->first->out_c; /* bytes of one A row */
    const int span = (b->k_h - 1) * b->dil_h + 1;
    ec_conv_params bw = *b;
    int w0 = 0, nw = 0; /* the window holds A's rows w0 .. w0 + nw - 1 */
    int r, x, n, yx[2 * EC_PIXELS_MAX];
    for (r = 0; r < b->out_h; ++r) {
        const int top = r * b->stride_h - b->pad_top;
        const int j0 = top < 0 ? 0 : top;
        const int j1 = top + span - 1 < b->in_h - 1 ? top + span - 1 : b->in_h - 1;
        if (j0 >= w0 + nw) { /* rows skipped by the stride are never needed */
            w0 = j0;
            nw = 0;
        } else if (j0 > w0) {
            ec_move_down(window, (j0 - w0) * row, (w0 + nw - j0) * row);
            nw -= j0 - w0;
            w0 = j0;
        }
        while (w0 + nw <= j1) {
            ec_row_of_first(p, in, w0 + nw, window + nw * row);
            ++nw;
        }
        bw.in_h = (int16_t)nw;
        bw.pad_top = (int16_t)(w0 - top); /* B's row 0 of the copy reads A's rows from `top` on */
        for (x = 0; x < b->out_w; x += n) {
            const int32_t p0 = (int32_t)r * b->out_w + x;
            n = b->out_w - x < EC_PIXELS_MAX ? b->out_w - x : EC_PIXELS_MAX;
            for (int i = 0; i < n; ++i) {
                yx[2 * i] = 0;
                yx[2 * i + 1] = x + i;
            }
            ec_stage_pixels(&bw, p->second_is_depthwise, window, yx, n, a != NULL ? tmp : out + p0 * b->out_c);
            ec_emit(a, p0, n, b->out_c, tmp, out);
        }
    }
}

static void ec_rowchain(const ec_rowchain_params *p, const int8_t *in, const ec_row_add *a, int8_t *out,
                        int8_t *scratch)
{
    const ec_conv_params *f = p->first, *b = p->second;
    if (b == NULL) {
        ec_rows_single(p, in, a, out, scratch);
        return;
    }
    {
        const int span = (b->k_h - 1) * b->dil_h + 1;
        const int32_t window = (int32_t)(span < f->out_h ? span : f->out_h) * f->out_w * f->out_c;
        ec_rows_pair(p, in, a, out, scratch, scratch + window);
    }
}

void ec_rowchain_s8(const ec_rowchain_params *p, const int8_t *in, int8_t *out, int8_t *scratch)
{
    ec_rowchain(p, in, NULL, out, scratch);
}

void ec_rowchain_add_s8(const ec_rowchain_params *p, const int8_t *in, const int8_t *operand, int8_t *out,
                        int8_t *scratch)
{
    ec_row_add a;
    a.p = p->add;
    a.operand = operand;
    a.conv_is_in1 = p->conv_is_in1;
#ifdef EC_SIMD
    a.simd = ec_add_simd_begin(p->add, p->add->size, &a.s);
#else
    a.simd = 0;
#endif
    ec_rowchain(p, in, &a, out, scratch);
}
