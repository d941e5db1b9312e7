"""Small int8 models for per-op checks of the C engine (tests and benchmark).

Each case is a one- or two-layer Keras model with odd sizes, converted to a
full-integer int8 .tflite exactly as a deployable model is (representative
data, int8 input and output, TFLITE_BUILTINS_INT8), so every kernel is
checked on what the TFLite converter really emits.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    """One per-op model: what it covers, its input shape and its layers."""

    name: str
    ops: tuple[str, ...]  # TFLite ops it must contain
    input_shape: tuple[int, ...]  # (H, W, C) or (D,)
    layers: Callable  # (keras.layers module, input tensor) -> output tensor
    per_tensor: bool = False  # disable per-channel weight quantization
    dynamic_batch: bool = False  # keras.Input without batch size (the converter then emits SHAPE/PACK)


def _conv(L, x, **kw):
    return L.Conv2D(**kw)(x)


CASES: tuple[Case, ...] = (
    Case("conv_same_s1", ("CONV_2D",), (9, 11, 3), lambda L, x: L.Conv2D(5, 3, padding="same", activation="relu")(x)),
    Case("conv_valid_s2", ("CONV_2D",), (10, 7, 2), lambda L, x: L.Conv2D(6, 3, strides=2, padding="valid")(x)),
    Case("conv_same_s2_relu6_rect", ("CONV_2D",), (9, 8, 4),
         lambda L, x: L.Conv2D(3, (2, 3), strides=2, padding="same", activation="relu6")(x)),
    Case("conv_dilated", ("CONV_2D",), (11, 9, 2), lambda L, x: L.Conv2D(4, 3, dilation_rate=2, padding="same")(x)),
    Case("conv_per_tensor", ("CONV_2D",), (7, 9, 3), lambda L, x: L.Conv2D(5, 3, padding="same")(x), per_tensor=True),
    Case("depthwise_same_s1_m2", ("DEPTHWISE_CONV_2D",), (9, 11, 4),
         lambda L, x: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)),
    Case("depthwise_valid_s2", ("DEPTHWISE_CONV_2D",), (10, 9, 5), lambda L, x: L.DepthwiseConv2D(3, strides=2)(x)),
    Case("depthwise_k5_s2_m3", ("DEPTHWISE_CONV_2D",), (7, 7, 3),
         lambda L, x: L.DepthwiseConv2D(5, strides=2, depth_multiplier=3, padding="same")(x)),
    Case("max_pool_valid", ("MAX_POOL_2D",), (9, 11, 3), lambda L, x: L.MaxPooling2D(2)(_conv(L, x, filters=4, kernel_size=1))),
    Case("max_pool_same_k3_s2", ("MAX_POOL_2D",), (9, 11, 3),
         lambda L, x: L.MaxPooling2D(3, strides=2, padding="same")(_conv(L, x, filters=4, kernel_size=1))),
    Case("avg_pool_same_k3_s2", ("AVERAGE_POOL_2D",), (9, 11, 3),
         lambda L, x: L.AveragePooling2D(3, strides=2, padding="same")(_conv(L, x, filters=4, kernel_size=1))),
    Case("avg_pool_valid", ("AVERAGE_POOL_2D",), (8, 7, 2), lambda L, x: L.AveragePooling2D(2)(x)),
    Case("mean_global", ("MEAN",), (7, 5, 6), lambda L, x: L.GlobalAveragePooling2D()(_conv(L, x, filters=6, kernel_size=1))),
    Case("mean_keepdims", ("MEAN",), (5, 9, 3), lambda L, x: L.GlobalAveragePooling2D(keepdims=True)(x)),
    Case("fully_connected_reshape", ("RESHAPE", "FULLY_CONNECTED"), (3, 5, 2),
         lambda L, x: L.Dense(7, activation="relu")(L.Reshape((30,))(x))),
    Case("fully_connected_per_tensor", ("FULLY_CONNECTED",), (13,), lambda L, x: L.Dense(9)(x), per_tensor=True),
    Case("softmax", ("FULLY_CONNECTED", "SOFTMAX"), (12,), lambda L, x: L.Softmax()(L.Dense(10)(x))),
    Case("add", ("ADD",), (6, 7, 3),
         lambda L, x: L.Add()([_conv(L, x, filters=4, kernel_size=1), _conv(L, x, filters=4, kernel_size=3, padding="same")])),
    Case("pad", ("PAD",), (5, 6, 2), lambda L, x: L.Conv2D(3, 2)(L.ZeroPadding2D(((1, 2), (0, 3)))(x))),
    Case("ds_block_pool", ("DEPTHWISE_CONV_2D", "CONV_2D", "MAX_POOL_2D"), (10, 9, 3),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(5, 1, activation="relu")(L.DepthwiseConv2D(3, padding="same", activation="relu")(x)))),
    Case("conv_pool_odd", ("CONV_2D", "MAX_POOL_2D"), (11, 9, 2),
         lambda L, x: L.MaxPooling2D(3, strides=2)(L.Conv2D(4, 3, padding="same", activation="relu")(x))),
    # Shapes for the SIMD kernels' paths (ec_conv_simd.c): channels a multiple of 4 (receptive
    # fields expanded straight from the input, zero point at the borders), odd output channels,
    # pixel counts leaving 1, 2 or 3 pixels for the last batch of 4, dilation, stride 2, depthwise
    # with 4 and 8 channels, pools whose windows take one or several batches.
    Case("conv_c8_same_oc7", ("CONV_2D",), (7, 9, 8),
         lambda L, x: L.Conv2D(7, 3, padding="same", activation="relu")(x)),
    Case("conv_c4_dilated_valid", ("CONV_2D",), (11, 10, 4),
         lambda L, x: L.Conv2D(6, 3, dilation_rate=2, padding="valid")(x)),
    Case("conv_c12_s2_same", ("CONV_2D",), (9, 9, 12), lambda L, x: L.Conv2D(5, 3, strides=2, padding="same")(x)),
    Case("depthwise_c8_same_relu", ("DEPTHWISE_CONV_2D",), (7, 9, 8),
         lambda L, x: L.DepthwiseConv2D(3, padding="same", activation="relu")(x)),
    Case("depthwise_c4_k5_s2", ("DEPTHWISE_CONV_2D",), (9, 8, 4),
         lambda L, x: L.DepthwiseConv2D(5, strides=2, padding="same")(x)),
    Case("depthwise_c12_dilated", ("DEPTHWISE_CONV_2D",), (9, 9, 12),
         lambda L, x: L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x)),
    Case("ds_block_c8_pool", ("DEPTHWISE_CONV_2D", "CONV_2D", "MAX_POOL_2D"), (9, 10, 8),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(12, 1, activation="relu")(
             L.DepthwiseConv2D(3, padding="same", activation="relu")(x)))),
    Case("ds_block_c8_s2", ("DEPTHWISE_CONV_2D", "CONV_2D"), (13, 11, 8),
         lambda L, x: L.Conv2D(9, 1)(L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x))),
    Case("conv_c4_pool_k3_same", ("CONV_2D", "MAX_POOL_2D"), (8, 9, 4),
         lambda L, x: L.MaxPooling2D(3, strides=2, padding="same")(L.Conv2D(5, 3, padding="same")(x))),
    Case("conv_pw_block", ("CONV_2D",), (7, 6, 4),
         lambda L, x: L.Conv2D(6, 1, activation="relu")(L.Conv2D(8, 3, padding="same", activation="relu")(x))),
    # Blocks wider than the chain's stack buffers (96 channels) run pixel by pixel in the arena scratch.
    Case("conv_pool_wide_c100", ("CONV_2D", "MAX_POOL_2D"), (6, 7, 4),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(100, 3, padding="same", activation="relu")(x))),
    # 3 x 3 x 20 = 180 taps: more than the SIMD kernels expand on the stack (portable path).
    Case("conv_c20_wide_taps", ("CONV_2D",), (6, 7, 20), lambda L, x: L.Conv2D(3, 3, padding="same")(x)),
    # Reduction tiling (ec_conv_tiled): 576 taps in chunks of 160, 70 output channels in tiles of 64,
    # 30 pixels (a last batch of 2); stride 2 with 288 taps; a 1x1 conv over 200 channels; a fused
    # depthwise -> 1x1 block whose 1x1 stage reduces over 168 channels, pixel by pixel.
    Case("conv_c64_tiled_oc70", ("CONV_2D",), (6, 5, 64),
         lambda L, x: L.Conv2D(70, 3, padding="same", activation="relu")(x)),
    Case("conv_c32_tiled_s2", ("CONV_2D",), (7, 7, 32), lambda L, x: L.Conv2D(5, 3, strides=2, padding="same")(x)),
    Case("conv_1x1_c200", ("CONV_2D",), (3, 5, 200), lambda L, x: L.Conv2D(9, 1)(x)),
    Case("ds_block_c168", ("DEPTHWISE_CONV_2D", "CONV_2D"), (4, 5, 168),
         lambda L, x: L.Conv2D(6, 1, activation="relu")(L.DepthwiseConv2D(3, padding="same", activation="relu")(x))),
    # ADD with a fused ReLU, as ResNet's residual joins: 1,040 elements, enough for the SIMD ADD's
    # tables (EC_ADD_TABLE_MIN = 1,024; the "add" case above stays below it).
    Case("add_relu_residual", ("ADD",), (5, 26, 8),
         lambda L, x: L.Activation("relu")(L.Add()([x, _conv(L, x, filters=8, kernel_size=3, padding="same")]))),
    # SIMD FULLY_CONNECTED: 301 inputs (chunks of 256, a tail of 1), 67 rows (blocks of 64, 3 rows
    # after the 4-row tiles).
    Case("fully_connected_wide", ("FULLY_CONNECTED",), (301,), lambda L, x: L.Dense(67, activation="relu")(x)),
    # SIMD FULLY_CONNECTED, 4-row tiles: 7 rows (a tile, then 3 rows in C), 45 inputs (11 groups:
    # 3 before the 8-group loop, a tail of 1); 10 rows (4 + 4 + 2) over 138 inputs (34 groups: 2 before
    # the 8-group loop, a tail of 2).
    Case("fully_connected_rows7_d45", ("FULLY_CONNECTED",), (45,), lambda L, x: L.Dense(7)(x)),
    Case("fully_connected_rows10_d138", ("FULLY_CONNECTED",), (138,), lambda L, x: L.Dense(10, activation="relu")(x)),
    # Depthwise SIMD for any multiplier and channel count (ec_dw_simd.c): channel counts that leave
    # 1-3 channels after the groups of 4 (the scalar tail), multipliers 1, 2, 3, 4, strides 1 and 2,
    # SAME and VALID padding, ReLU/ReLU6 clamps, a fused block; average pools whose channels leave a
    # tail, and a 16 x 17 window (272 taps, over the SIMD sum's 255: the reference loop).
    Case("depthwise_c6_same_relu", ("DEPTHWISE_CONV_2D",), (8, 9, 6),
         lambda L, x: L.DepthwiseConv2D(3, padding="same", activation="relu")(x)),
    Case("depthwise_c5_m2_s2_valid", ("DEPTHWISE_CONV_2D",), (9, 10, 5),
         lambda L, x: L.DepthwiseConv2D(3, strides=2, depth_multiplier=2)(x)),
    Case("depthwise_c7_m3_s2_same", ("DEPTHWISE_CONV_2D",), (9, 8, 7),
         lambda L, x: L.DepthwiseConv2D(3, strides=2, depth_multiplier=3, padding="same", activation="relu6")(x)),
    Case("depthwise_c3_m4_k5", ("DEPTHWISE_CONV_2D",), (7, 8, 3),
         lambda L, x: L.DepthwiseConv2D(5, depth_multiplier=4, padding="same")(x)),
    Case("ds_block_c6_m2", ("DEPTHWISE_CONV_2D", "CONV_2D"), (7, 8, 6),
         lambda L, x: L.Conv2D(5, 1)(L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x))),
    Case("avg_pool_c6_k3_s2", ("AVERAGE_POOL_2D",), (7, 9, 6),
         lambda L, x: L.AveragePooling2D(3, strides=2, padding="same")(x)),
    Case("avg_pool_c9_window_272", ("AVERAGE_POOL_2D",), (16, 17, 9), lambda L, x: L.AveragePooling2D((16, 17))(x)),
    # The interleaved tiles of four rows (fc_weight_layout): 2 rows (no tile, only the row-by-row part);
    # 12 rows (three tiles, none left) over 516 inputs (chunks 256 + 256 + 4, no tail), ReLU6; 70 rows
    # over 36 inputs (x expanded once for two row tiles, a tile of 64 and one of 4 + 2 rows); 3 inputs
    # without bias (no group at all: every sum from zeros and the tail).
    Case("fully_connected_rows2_d22", ("FULLY_CONNECTED",), (22,), lambda L, x: L.Dense(2)(x)),
    Case("fully_connected_rows12_d516_relu6", ("FULLY_CONNECTED",), (516,),
         lambda L, x: L.Dense(12, activation="relu6")(x)),
    Case("fully_connected_rows70_d36", ("FULLY_CONNECTED",), (36,), lambda L, x: L.Dense(70)(x)),
    Case("fully_connected_d3_no_bias", ("FULLY_CONNECTED",), (3,), lambda L, x: L.Dense(9, use_bias=False)(x)),
    # First layers on 1-3 channel images (SIMD conv with in_c % 4 != 0, ec_im2col): receptive fields
    # of 9, 18, 25, 27, 40, 75, 80 taps (taps % 4 = 1, 2, 3 and 0 groups ending in zeros; rows of a whole
    # number of words, 4 and 8 bytes, expanded straight from the input), kernel rows copied a word at a
    # time or gathered at the borders and at the tensor's end (VALID, the last row's word past it),
    # strides 1 and 2, SAME and VALID, a pooled block, and a 1x1 conv over 3 channels.
    Case("conv_c1_k3_same_relu", ("CONV_2D",), (9, 10, 1),
         lambda L, x: L.Conv2D(6, 3, padding="same", activation="relu")(x)),
    Case("conv_c1_k5_s2_valid", ("CONV_2D",), (11, 12, 1), lambda L, x: L.Conv2D(5, 5, strides=2)(x)),
    Case("conv_c2_k3_s2_same", ("CONV_2D",), (9, 9, 2), lambda L, x: L.Conv2D(7, 3, strides=2, padding="same")(x)),
    Case("conv_c3_k3_s2_same", ("CONV_2D",), (12, 11, 3),
         lambda L, x: L.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)),
    Case("conv_c3_k5_valid", ("CONV_2D",), (8, 9, 3), lambda L, x: L.Conv2D(4, 5)(x)),
    Case("conv_c1_k10x4_s2_same", ("CONV_2D",), (20, 9, 1),
         lambda L, x: L.Conv2D(6, (10, 4), strides=2, padding="same", activation="relu")(x)),
    Case("conv_c2_k10x4_valid", ("CONV_2D",), (14, 8, 2), lambda L, x: L.Conv2D(5, (10, 4))(x)),
    Case("conv_c3_pool", ("CONV_2D", "MAX_POOL_2D"), (10, 10, 3),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(6, 3, padding="same", activation="relu")(x))),
    Case("conv_1x1_c3_oc5", ("CONV_2D",), (5, 7, 3), lambda L, x: L.Conv2D(5, 1)(x)),
    # The 3 x 3 depthwise kernel of ec_dw3_simd.c (multiplier 1, channels % 4 == 0): interior pixels
    # there, border pixels through the tap lists, in the same batches. 4, 12, 16 and 20 channels;
    # stride 1 SAME (padding on every side), stride 2 SAME on 9 x 10 (one row of padding above and
    # below, none left, one right), stride 2 VALID (every pixel inside), ReLU6 and no activation
    # (both clamps, none); a fused block of 12 channels and one of 20 with stride 2 before a pool.
    Case("depthwise_c4_k3_same_relu6", ("DEPTHWISE_CONV_2D",), (6, 7, 4),
         lambda L, x: L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)),
    Case("depthwise_c12_k3_s2_same", ("DEPTHWISE_CONV_2D",), (9, 10, 12),
         lambda L, x: L.DepthwiseConv2D(3, strides=2, padding="same")(x)),
    Case("depthwise_c16_k3_s2_valid", ("DEPTHWISE_CONV_2D",), (8, 11, 16),
         lambda L, x: L.DepthwiseConv2D(3, strides=2, activation="relu")(x)),
    Case("ds_block_c12_k3", ("DEPTHWISE_CONV_2D", "CONV_2D"), (8, 11, 12),
         lambda L, x: L.Conv2D(7, 1, activation="relu")(L.DepthwiseConv2D(3, padding="same", activation="relu")(x))),
    Case("ds_block_c20_k3_s2_pool", ("DEPTHWISE_CONV_2D", "CONV_2D", "MAX_POOL_2D"), (12, 13, 20),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(8, 1, activation="relu")(
             L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)))),
    # The SIMD core's edges (two channels x four pixels, conv_weight_layout's interleaved pairs):
    # one output channel (a pair with the zero row), odd channel counts in the whole path, the
    # chunked path (a last tile of 3 after 64; 45 groups in chunks of 40 + 5) and a pooled block;
    # 1x1 depths of 5, 9 and 11 groups (the 4-group loop entered at groups 3, 3 and 1) and one
    # of 6 channels; 9 and 10 pixels (last batches of 1 and 2).
    Case("conv_1x1_c20_oc1", ("CONV_2D",), (5, 3, 20), lambda L, x: L.Conv2D(1, 1)(x)),
    Case("conv_1x1_c36_oc11", ("CONV_2D",), (3, 3, 36), lambda L, x: L.Conv2D(11, 1, activation="relu")(x)),
    Case("conv_1x1_c44_oc2", ("CONV_2D",), (2, 5, 44), lambda L, x: L.Conv2D(2, 1)(x)),
    Case("conv_1x1_c6_oc3", ("CONV_2D",), (2, 5, 6), lambda L, x: L.Conv2D(3, 1)(x)),
    Case("conv_1x1_c180_oc13", ("CONV_2D",), (3, 3, 180), lambda L, x: L.Conv2D(13, 1)(x)),
    Case("conv_c64_tiled_oc67", ("CONV_2D",), (3, 3, 64), lambda L, x: L.Conv2D(67, 3, padding="same")(x)),
    Case("conv_c8_pool_oc9", ("CONV_2D", "MAX_POOL_2D"), (8, 6, 8),
         lambda L, x: L.MaxPooling2D(2)(L.Conv2D(9, 3, padding="same", activation="relu")(x))),
)


# SPACE_TO_DEPTH and SPLIT have no kernel: generation must fail and name them (ops LiteRT's
# reference kernels run, so the model passes the reader's validation).
def _space_depth(L, x):
    import tensorflow as tf

    y = L.Conv2D(8, 3, padding="same")(L.Lambda(lambda v: tf.nn.space_to_depth(v, 2))(x))
    a, b = L.Lambda(lambda v: tf.split(v, 2, axis=-1))(y)
    return L.Add()([a, b])


UNSUPPORTED = Case("space_depth_split", ("SPACE_TO_DEPTH", "SPLIT"), (6, 4, 2), _space_depth)


def _c1(L, x, n=4, k=1):
    return L.Conv2D(n, k, padding="same")(x)


def _broadcast_arith(L, x):
    a = _c1(L, x)
    g = L.GlobalAveragePooling2D(keepdims=True)(_c1(L, x, 4, 3))  # (1, 1, 4): broadcast over H, W
    return L.Multiply()([L.Add()([a, g]), L.Subtract()([g, a])])


def _max_min(L, x):
    a, b = _c1(L, x), _c1(L, x, 4, 3)
    return L.Minimum()([L.Maximum()([a, b]), _c1(L, x)])


def _activations_concat(L, x):
    # Standalone activations (nothing to fuse into), joined along channels.
    return L.Concatenate()([L.ReLU()(x), L.ReLU(max_value=6.0)(x), L.LeakyReLU(negative_slope=0.15)(x), _c1(L, x, 3)])


def _conv1d_causal(L, x):
    # Conv1D is RESHAPE -> CONV_2D -> RESHAPE, causal padding a 3-D PAD; expand_dims / squeeze around
    # a 2-D conv give EXPAND_DIMS and SQUEEZE.
    import keras

    y = L.Conv1D(5, 3, padding="causal", activation="relu")(L.Conv1D(4, 3, padding="same")(x))
    y = L.Conv2D(4, (3, 1), padding="same")(L.Lambda(lambda v: keras.ops.expand_dims(v, 2))(y))
    return L.Lambda(lambda v: keras.ops.squeeze(v, 2))(y)


def _movement(L, x):
    up = L.Resizing(9, 11, interpolation="nearest")(_c1(L, x))  # RESIZE_NEAREST_NEIGHBOR
    t = L.Permute((2, 1, 3))(up)  # TRANSPOSE
    return L.Lambda(lambda v: v[:, 1:8:2, ::3, 1:])(t)  # STRIDED_SLICE


def _prelu_reduce_max(L, x):
    import keras

    p = L.PReLU(shared_axes=[1, 2])(_c1(L, x, 6, 3))
    return L.Lambda(lambda v: keras.ops.max(v, axis=(1, 3), keepdims=False))(p)


def _mean_axes(L, x):
    import keras

    y = _c1(L, x, 5, 3)
    a = L.Lambda(lambda v: keras.ops.mean(v, axis=1))(y)  # (1, W, 5)
    b = L.Lambda(lambda v: keras.ops.mean(v, axis=2))(y)  # (1, H, 5), H = W
    return L.Concatenate()([a, b])


def _quantize_concat(L, x):
    # x joins two concatenations of very different ranges: one of them needs x requantized.
    wide = L.Concatenate()([x, L.Rescaling(12.0)(_c1(L, x, 3, 3))])
    narrow = L.Concatenate()([x, _c1(L, x, 3)])
    return L.Add()([wide, narrow])


# The common ops (lowering_common.py, lowering_gather.py, fold.py): one model per family.
COMMON_CASES: tuple[Case, ...] = (
    Case("broadcast_add_sub_mul", ("ADD", "SUB", "MUL"), (6, 7, 3), _broadcast_arith),
    Case("maximum_minimum", ("MAXIMUM", "MINIMUM"), (5, 6, 3), _max_min),
    Case("activations_concat", ("RELU", "RELU6", "LEAKY_RELU", "CONCATENATION"), (5, 7, 3), _activations_concat),
    Case("conv1d_causal_pad", ("PAD", "RESHAPE"), (17, 3), _conv1d_causal),
    Case("resize_transpose_slice", ("RESIZE_NEAREST_NEIGHBOR", "TRANSPOSE", "STRIDED_SLICE"), (4, 5, 3), _movement),
    Case("prelu_reduce_max", ("PRELU", "REDUCE_MAX"), (5, 6, 2), _prelu_reduce_max),
    Case("mean_axes", ("MEAN", "CONCATENATION"), (6, 6, 3), _mean_axes),
    # The model input joined with a conv output: the converter requantizes the input (int8 QUANTIZE).
    Case("quantize_concat", ("QUANTIZE", "CONCATENATION"), (5, 6, 3), _quantize_concat),
    Case("logistic", ("LOGISTIC",), (5, 6, 3), lambda L, x: L.Activation("sigmoid")(_c1(L, x, 4, 3))),
    Case("tanh", ("TANH",), (5, 6, 3), lambda L, x: L.Activation("tanh")(_c1(L, x, 4, 3))),
    Case("hard_swish", ("HARD_SWISH",), (5, 6, 3), lambda L, x: L.Activation("hard_swish")(_c1(L, x, 4, 3))),
    Case("flatten_dynamic_batch", ("RESHAPE", "FULLY_CONNECTED"), (6, 5, 2),
         lambda L, x: L.Dense(7)(L.Flatten()(_c1(L, x, 3, 3))), dynamic_batch=True),
)

MATRIX_OPS_CASE = COMMON_CASES[0]


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def convert_int8(keras_model, representative: np.ndarray, per_tensor: bool = False) -> bytes:
    """Full-integer int8 conversion: int8 in/out, builtins only, per-channel unless per_tensor.

    representative: (N, ...) float32 samples of the model input.
    """
    import tensorflow as tf

    def rep():
        for i in range(len(representative)):
            yield [representative[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if per_tensor:
        conv._experimental_disable_per_channel = True
    return conv.convert()


def build_case(c: Case, out_dir: Path, seed: int = 0) -> Path:
    """Build, randomly initialise (seeded) and convert one case; returns the .tflite path."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input(c.input_shape, batch_size=None if c.dynamic_batch else 1)  # 1: no SHAPE/PACK ops
    model = keras.Model(inp, c.layers(layers, inp))
    rng = np.random.default_rng(seed)
    # Biases are zero after init; random ones exercise the bias path.
    for w in model.weights:
        if "bias" in w.path:
            w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    rep = rng.uniform(-1, 1, (64, *c.input_shape)).astype(np.float32)
    path = Path(out_dir) / f"{c.name}.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(convert_int8(model, rep, c.per_tensor))
    return path
