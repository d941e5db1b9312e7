/* edgecnn C engine: int8 kernels with TFLite's reference arithmetic.
 *
 * Tensors are NHWC with batch 1, int8, asymmetric activations and symmetric
 * per-channel weights. Every kernel reads its shapes and its requantization
 * constants from a const parameter struct that the generator writes (so the
 * structs live in flash). No kernel allocates, uses floats or recurses.
 */
#ifndef EC_KERNELS_H
#define EC_KERNELS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Conv2D and DepthwiseConv2D (and the 1x1 stage of a fused block). */
typedef struct {
    int16_t in_h, in_w, in_c;
    int16_t out_h, out_w, out_c;
    int16_t k_h, k_w;
    int16_t stride_h, stride_w;
    int16_t dil_h, dil_w;
    int16_t pad_top, pad_left;
    int16_t depth_mult;      /* depthwise only: out_c = in_c * depth_mult */
    int32_t in_offset;       /* -input zero point */
    int32_t out_offset;      /* output zero point */
    int32_t act_min, act_max;
    const int8_t *weights;   /* depthwise (k_h, k_w, out_c); conv: rows of (k_h, k_w, in_c) taps padded to
                              * whole words, channel pairs interleaved a word at a time (ec_conv_row) */
    const int32_t *bias;     /* (out_c,) or NULL: none, or left out for eff_bias (ec_bias) */
    const int32_t *mult;     /* (out_c,) fixed-point multipliers, Q31 */
    const int8_t *shift;     /* (out_c,) exponents: > 0 left, < 0 right */
    const int32_t *eff_bias; /* conv: (out_c,) bias + in_offset * sum of the channel's weights, a 0 after an
                              * odd out_c (the pair's zero row); or NULL */
    int8_t requant_32;       /* 1: every shift < 0 and the generator proved 2 * acc fits in int32 for
                                any input, so the SIMD kernels requantize with one rounding high
                                multiply (SMMULR) and a rounding shift */
} ec_conv_params;

/* MAX_POOL_2D and AVERAGE_POOL_2D: input and output share quantization. */
typedef struct {
    int16_t in_h, in_w, c;
    int16_t out_h, out_w;
    int16_t k_h, k_w;
    int16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int32_t act_min, act_max;
} ec_pool_params;

/* FULLY_CONNECTED: out (out_depth,) = W (out_depth, in_depth) . in.
 * Requantization: by default as LiteRT's reference kernel does it,
 * round((double)acc * scale), emulated exactly in integers from
 * scale = real_mant * 2^real_exp; built with -DEC_FC_FIXED_POINT_REQUANT,
 * with TFLite's fixed-point multiplier as TFLite Micro does (mult, shift).
 * The two differ by 1 LSB on rare ties.
 * Weights, with body = in_depth & ~3 and quads = out_depth & ~3 (the
 * generator's fc_weight_layout): rows [0, quads) in tiles of four whose words
 * interleave (row 0 word g, rows 1, 2, 3 word g, then word g + 1), so one LDM
 * fetches four rows' weights for a group of four inputs; rows [quads,
 * out_depth) row by row over the body; then each row's in_depth - body last
 * weights. Row o's weight for input d < body is at (o & ~3) * body +
 * (d >> 2) * 16 + (o & 3) * 4 + (d & 3) in a tile, else o * body + d. */
typedef struct {
    int16_t in_depth, out_depth;
    int32_t in_offset, out_offset;
    int32_t act_min, act_max;
    const int8_t *weights; /* (out_depth * in_depth,) in the layout above */
    const int32_t *bias;
    const int32_t *mult;
    const int8_t *shift;
    const int64_t *real_mant;  /* (out_depth,) < 2^53 */
    const int16_t *real_exp;   /* (out_depth,) */
} ec_fc_params;

/* MEAN over H and W of a (1, H, W, C) tensor; the 1/(H*W) is folded into mult/shift. */
typedef struct {
    int16_t h, w, c;
    int32_t in_zero_point, out_zero_point;
    int32_t mult;
    int32_t shift;
} ec_mean_params;

/* SOFTMAX over the last axis, int8 in, int8 out (scale 1/256, zero point -128). */
typedef struct {
    int16_t rows, depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} ec_softmax_params;

/* ADD of two tensors of the same shape. */
typedef struct {
    int32_t size;
    int32_t in1_offset, in2_offset, out_offset;
    int32_t left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
    int32_t act_min, act_max;
} ec_add_params;

/* PAD of a (1, H, W, C) tensor with the output zero point. */
typedef struct {
    int16_t in_h, in_w, in_c;
    int16_t pad_top, pad_bottom, pad_left, pad_right, pad_front, pad_back;
    int8_t value;
} ec_pad_params;

/* Elementwise binary ops over 4-D shapes with broadcasting (ec_elementwise.c):
 * out[i0][i1][i2][i3] = op(in1[sum i_k * stride1[k]], in2[sum i_k * stride2[k]]),
 * a broadcast axis has stride 0. A constant operand is const1 / const2 (else NULL). */
enum { EC_OP_ADD, EC_OP_SUB, EC_OP_MUL, EC_OP_MAXIMUM, EC_OP_MINIMUM, EC_OP_PRELU };
typedef struct {
    int32_t op;
    int32_t dims[4];
    int32_t stride1[4], stride2[4];
    int32_t in1_offset, in2_offset, out_offset;
    int32_t left_shift;      /* ADD, SUB */
    int32_t in1_mult, in1_shift, in2_mult, in2_shift; /* ADD, SUB; PRELU: in1 = identity */
    int32_t out_mult, out_shift; /* ADD, SUB, MUL; PRELU: the alpha product */
    int32_t act_min, act_max;
    const int8_t *const1, *const2;
} ec_binary_params;

/* out = clamp(out_zp + MBQM(x - in_zp, v >= 0 ? pos : neg)): RELU, RELU6, LEAKY_RELU, QUANTIZE. */
typedef struct {
    int32_t size;
    int32_t in_zero_point, out_zero_point;
    int32_t pos_mult, pos_shift, neg_mult, neg_shift;
    int32_t act_min, act_max;
} ec_requant_params;

/* CONCATENATION (same quantization): outer blocks, each the inputs' inner[k] bytes in turn. */
#define EC_CONCAT_MAX 16
typedef struct {
    int32_t n, outer;
    int32_t inner[EC_CONCAT_MAX];
} ec_concat_params;

/* out[i0][i1][i2][i3] = in[t0[i0] + t1[i1] + t2[i2] + t3[i3]]; offsets = t0 .. t3 back to back. */
typedef struct {
    int32_t dims[4];
    const int32_t *offsets;
} ec_gather_params;

/* REDUCE_MAX, MEAN and SUM over any axes: each output (kept axes) reduces
 * the reduced axes. MEAN and SUM take the sum s of the raw values, then
 * v = s / red_size (divide: TFLite's integer Mean, input and output sharing
 * quantization) or v = s (SUM of the same quantization), or, with
 * thresholds (n_thresholds ascending sums), v = base + the number of
 * thresholds <= s: TFLite's float QuantizedMeanOrSum is non-decreasing in s,
 * so the generator tabulates where each output value starts. The output is
 * v wrapped to int8 (TFLite's SUM casts without clamping; MEAN's table clamps). */
typedef struct {
    int32_t out_size, red_size;
    int32_t keep_dims[4], keep_strides[4], red_dims[4], red_strides[4];
    int32_t divide, base, n_thresholds;
    const int32_t *thresholds;
} ec_reduce_params;

/* LOGISTIC (output scale 1/256, zero point -128) and TANH (1/128, 0): the
 * input minus its zero point rescaled to Q4.27 (in_mult, in_shift); values
 * beyond range_radius saturate. */
typedef struct {
    int32_t size;
    int32_t in_zero_point, in_mult, in_shift, range_radius;
    int32_t is_tanh;
} ec_sigmoid_params;

/* HARD_SWISH with TFLite's int16 fixed-point reference arithmetic. */
typedef struct {
    int32_t size;
    int32_t in_zero_point, out_zero_point;
    int16_t out_mult16, reluish_mult16;
    int32_t out_exp, reluish_exp;
} ec_hard_swish_params;

/* A fused block computed pixel by pixel, so that its intermediate tensors
 * never exist in full: a conv or depthwise conv, optionally followed by a
 * 1x1 conv, optionally followed by a max pool. The arithmetic is the same as
 * running the plain kernels one after the other. */
typedef struct {
    const ec_conv_params *first;
    int8_t first_is_depthwise;
    const ec_conv_params *pointwise;   /* NULL: none */
    const ec_pool_params *pool;        /* NULL: none */
} ec_chain_params;

void ec_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out);
void ec_depthwise_conv2d_s8(const ec_conv_params *p, const int8_t *in, int8_t *out);
void ec_max_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out);
void ec_avg_pool_s8(const ec_pool_params *p, const int8_t *in, int8_t *out);
void ec_fully_connected_s8(const ec_fc_params *p, const int8_t *in, int8_t *out);
void ec_mean_hw_s8(const ec_mean_params *p, const int8_t *in, int8_t *out);
void ec_softmax_s8(const ec_softmax_params *p, const int8_t *in, int8_t *out);
void ec_add_s8(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void ec_pad_s8(const ec_pad_params *p, const int8_t *in, int8_t *out);
void ec_copy_s8(int32_t size, const int8_t *in, int8_t *out);
void ec_binary_s8(const ec_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void ec_binary_const_s8(const ec_binary_params *p, const int8_t *in, int8_t *out);
void ec_requant_s8(const ec_requant_params *p, const int8_t *in, int8_t *out);
void ec_concat_s8(const ec_concat_params *p, const int8_t *const *ins, int8_t *out);
void ec_gather_axes_s8(const ec_gather_params *p, const int8_t *in, int8_t *out);
void ec_reduce_max_s8(const ec_reduce_params *p, const int8_t *in, int8_t *out);
void ec_reduce_mean_s8(const ec_reduce_params *p, const int8_t *in, int8_t *out);
void ec_logistic_s8(const ec_sigmoid_params *p, const int8_t *in, int8_t *out);
void ec_hard_swish_s8(const ec_hard_swish_params *p, const int8_t *in, int8_t *out);
/* scratch (blocks with more than 96 channels): EC_PIXELS_MAX x first->out_c
 * bytes if there is a pointwise stage, then EC_PIXELS_MAX x the block's output
 * channels if there is a pool stage. */
void ec_chain_s8(const ec_chain_params *p, const int8_t *in, int8_t *out, int8_t *scratch);

/* A fused block computed row by row (ec_rowchain.c): conv A, optionally conv B
 * over A's output (A's rows live only in a window of B's kernel height in the
 * scratch), optionally ADD of the result and `operand` (same shape). The
 * result equals the plain kernels one after the other, and the output may be
 * placed over the input or the operand as planner.py / overlap.py allow. */
typedef struct {
    const ec_conv_params *first;
    int8_t first_is_depthwise;
    const ec_conv_params *second;      /* NULL: none */
    int8_t second_is_depthwise;
    const ec_add_params *add;          /* NULL: none */
    int8_t conv_is_in1;                /* the conv result is the ADD's first input */
} ec_rowchain_params;
/* scratch: B's window (k_h rows of A's output, dilation included, at most all of them) if there is a B,
 * then EC_PIXELS_MAX pixels of the block's conv result if there is an ADD. */
void ec_rowchain_s8(const ec_rowchain_params *p, const int8_t *in, int8_t *out, int8_t *scratch);
void ec_rowchain_add_s8(const ec_rowchain_params *p, const int8_t *in, const int8_t *operand, int8_t *out,
                        int8_t *scratch);

/* Requantization of a FULLY_CONNECTED row's accumulator (bias included) to the output. */
int8_t ec_fc_requant(const ec_fc_params *p, int o, int32_t acc);
/* The SIMD FULLY_CONNECTED (ec_fc_simd.c, only with EC_SIMD); returns 1 when it wrote out. */
int ec_fully_connected_simd(const ec_fc_params *p, const int8_t *in, int8_t *out);

/* The SIMD ADD (ec_eltwise_simd.c, only with EC_SIMD); returns 1 when it wrote out. */
int ec_add_simd(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
/* ADD in slices (fused blocks): the reference loop on the first n elements, or, with EC_SIMD,
 * ec_add_simd's tables built once by ec_add_simd_begin (0: it does not take the shape of `size`
 * elements) and applied to each slice. */
typedef struct {
    int32_t t1[256], t2[256];
    const int32_t *c1, *c2; /* t1 + 128, t2 + 128 */
    int32_t out_mult, out_shift, out_offset, act_min, act_max;
} ec_add_stream;
void ec_add_span_s8(const ec_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n);
int ec_add_simd_begin(const ec_add_params *p, int32_t size, ec_add_stream *s);
void ec_add_simd_span(const ec_add_stream *s, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n);

/* round((double)acc * s) for s = mant * 2^exp (mant < 2^53) without floating
 * point; magnitudes beyond 2^30 saturate. */
int32_t ec_mul_round_double(int32_t acc, uint64_t mant, int exp);

/* Output pixels (yx[0], yx[1]), (yx[2], yx[3]), ... (n <= EC_PIXELS_MAX),
 * all channels, to out (n * out_c bytes): the SIMD kernels load each weight
 * once for all of them. These pixel routines read only the receptive fields
 * of the pixels they are given and write only their outputs; ec_rowchain.c
 * passes a copy of the parameters whose in_h / pad_top describe a window of
 * input rows. */
#define EC_PIXELS_MAX 4
void ec_conv2d_pixels_s8(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out);
/* A 1x1 conv on n <= EC_PIXELS_MAX consecutive pixel vectors of p->in_c values. */
void ec_pointwise_pixels_s8(const ec_conv_params *p, const int8_t *in, int n, int8_t *out);
/* One output pixel (all channels) of a conv / depthwise conv at (oy, ox). */
void ec_conv2d_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out);
void ec_depthwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out);
/* Depthwise on output pixels (yx[0], yx[1]), ... (n <= EC_PIXELS_MAX) to out (n * out_c bytes). */
void ec_depthwise_pixels_s8(const ec_conv_params *p, const int8_t *in, const int *yx, int n, int8_t *out);
/* A 1x1 conv on one pixel vector of p->in_c values. */
void ec_pointwise_pixel_s8(const ec_conv_params *p, const int8_t *in, int8_t *out);
/* The plain reference versions of the three (same results, no shortcuts). */
void ec_conv2d_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out);
void ec_depthwise_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int oy, int ox, int8_t *out);
void ec_pointwise_pixel_ref_s8(const ec_conv_params *p, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EC_KERNELS_H */
