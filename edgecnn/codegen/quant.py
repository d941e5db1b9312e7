"""Requantization constants, computed at generation time exactly as TFLite does.

TFLite's kernels compute these in their Prepare step from the float32 scales
stored in the model (tflite/kernels/internal/quantization_util.cc and
kernel_util.cc). We do the same double-precision arithmetic in Python, so the
generated C needs no floats and gets the same integers.
"""

import math

import numpy as np

from edgecnn.errors import EdgecnnError


def tflite_round(x: float) -> int:
    """std::round: to nearest, halves away from zero (exact for doubles)."""
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return int(r if x >= 0 else -r)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: real ~= mult * 2^(shift - 31), mult in [2^30, 2^31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def per_channel_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                            channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Conv/depthwise/FC multipliers as PopulateConvolutionQuantizationParams computes them.

    filter_scales: (1,) per-tensor (broadcast) or (channels,) per-channel float32.
    Returns (mult (channels,) int32, shift (channels,) int8).
    """
    scales = np.asarray(filter_scales, dtype=np.float32)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    if scales.size != channels:
        raise EdgecnnError(f"filter has {scales.size} scales for {channels} output channels; expected 1 or {channels}")
    mult = np.zeros(channels, np.int32)
    shift = np.zeros(channels, np.int8)
    for i, s in enumerate(scales):
        m, e = quantize_multiplier(float(np.float32(input_scale)) * float(s) / float(np.float32(output_scale)))
        mult[i], shift[i] = m, e
    return mult, shift


def fc_per_tensor_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED: GetQuantizedConvolutionMultipler multiplies the scales in float32."""
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(product / float(np.float32(output_scale)))


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: fused NONE(0), RELU(1), RELU_N1_TO_1(2), RELU6(3)."""

    def q(f: float) -> int:
        # TFLite divides in float32 before rounding.
        return int(zero_point) + tflite_round(float(np.float32(f) / np.float32(scale)))

    lo, hi = -128, 127
    if activation == 0:
        return lo, hi
    if activation == 1:
        return max(lo, q(0.0)), hi
    if activation == 2:
        return max(lo, q(-1.0)), min(hi, q(1.0))
    if activation == 3:
        return max(lo, q(0.0)), min(hi, q(6.0))
    raise EdgecnnError(f"fused activation {activation} is not supported; expected NONE, RELU, RELU_N1_TO_1 or RELU6")


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """MEAN: QuantizeMultiplier(in/out), then 1/count folded in as QuantizedMeanOrSum does at run time."""
    mult, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
    s = min(count.bit_length() - 1, 32, 31 + shift)
    # C++ integer division truncates toward zero; both operands are >= 0 here.
    return int((mult << s) // count), shift - s


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius with 5 integer bits (int8 softmax).

    Returns (input_multiplier, input_left_shift, diff_min).
    """
    integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << (31 - integer_bits)),
               float((1 << 31) - 1))
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise EdgecnnError(f"softmax input scale {input_scale} gives a negative left shift {shift}")
    radius = ((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift)
    return mult, shift, -int(math.floor(radius))


def add_params(scale1: float, scale2: float, out_scale: float) -> dict:
    """ADD (int8): inputs rescaled to a common 2*max scale with a left shift of 20."""
    left_shift = 20
    twice_max = 2.0 * float(max(np.float32(scale1), np.float32(scale2)))
    m1, s1 = quantize_multiplier(float(np.float32(scale1)) / twice_max)
    m2, s2 = quantize_multiplier(float(np.float32(scale2)) / twice_max)
    mo, so = quantize_multiplier(twice_max / float(np.float32((1 << left_shift) * np.float32(out_scale))))
    return {"left_shift": left_shift, "in1_mult": m1, "in1_shift": s1, "in2_mult": m2, "in2_shift": s2,
            "out_mult": mo, "out_shift": so}


def double_scale_parts(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                       channels: int) -> tuple[np.ndarray, np.ndarray]:
    """LiteRT's reference FULLY_CONNECTED scale per channel, as exact integer parts.

    scale = double(in) * double(filter) / double(out) (double arithmetic, as
    the kernel computes it) = mant * 2^exp with mant < 2^53. Returns
    (mant (channels,) int64, exp (channels,) int16).
    """
    scales = np.asarray(filter_scales, dtype=np.float32)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    mant = np.zeros(channels, np.int64)
    exp = np.zeros(channels, np.int16)
    for i, s in enumerate(scales):
        real = float(np.float32(input_scale)) * float(s) / float(np.float32(output_scale))
        q, e = math.frexp(real)
        mant[i], exp[i] = int(q * (1 << 53)), e - 53
    return mant, exp
