"""The one table of supported ops: TFLite op -> C kernel, int8 constraints, lowering.

An op outside this table fails generation with an error that names it and
lists the supported ones. Nothing is skipped.
"""

from dataclasses import dataclass
from typing import Callable

from edgecnn.codegen import lowering, lowering_common, lowering_gather, lowering_misc
from edgecnn.codegen.ir import Lowered
from edgecnn.codegen.tflite_reader import Graph, Operator
from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class OpSpec:
    """How one TFLite builtin op becomes C."""

    kernel: str | None  # None: no call (RESHAPE aliases its input)
    constraints: str  # the int8 cases the kernel implements
    lower: Callable[[Graph, Operator, str], Lowered]
    tolerance_lsb: int  # max |C - LiteRT reference| allowed for this op alone


OPS: dict[str, OpSpec] = {
    "CONV_2D": OpSpec("ec_conv2d_s8", "NHWC batch 1; int8 weights (O,KH,KW,I), per-channel or per-tensor symmetric; "
                      "int32 bias; SAME/VALID, any stride and dilation; fused NONE/RELU/RELU6/RELU_N1_TO_1",
                      lowering.lower_conv, 0),
    "DEPTHWISE_CONV_2D": OpSpec("ec_depthwise_conv2d_s8", "NHWC batch 1; int8 weights (1,KH,KW,O), O = I x depth "
                                "multiplier; per-channel symmetric; SAME/VALID, any stride and dilation",
                                lowering.lower_conv, 0),
    "MAX_POOL_2D": OpSpec("ec_max_pool_s8", "NHWC batch 1; same input/output quantization", lowering.lower_pool, 0),
    "AVERAGE_POOL_2D": OpSpec("ec_avg_pool_s8", "NHWC batch 1; same input/output quantization", lowering.lower_pool, 0),
    # LiteRT's reference FULLY_CONNECTED requantizes in double precision (since
    # 2025); the kernel reproduces that bit for bit in integers. Built with
    # -DEC_FC_FIXED_POINT_REQUANT it uses TFLite's fixed-point multiplier as
    # TFLite Micro does instead, which rounds the other way on rare ties.
    "FULLY_CONNECTED": OpSpec("ec_fully_connected_s8", "batch 1; int8 weights (O,I) symmetric, per-tensor or "
                              "per-channel; int32 bias; default weights format", lowering.lower_fully_connected, 0),
    "MEAN": OpSpec("ec_mean_hw_s8", "axes [1, 2] of (1,H,W,C) (ec_mean_hw_s8, fixed point); any other "
                   "axes of rank <= 4 (ec_reduce_mean_s8: integer mean, or TFLite's float arithmetic tabulated)",
                   lowering_gather.lower_mean_any, 0),
    "SOFTMAX": OpSpec("ec_softmax_s8", "last axis; output scale 1/256, zero point -128", lowering_misc.lower_softmax, 0),
    "ADD": OpSpec("ec_add_s8", "two int8 tensors of the same shape (ec_add_s8), or broadcasting over rank <= 4 "
                  "/ a constant operand (ec_binary_s8)", lowering_common.lower_binary, 0),
    "PAD": OpSpec("ec_pad_s8", "rank <= 4, constant paddings, no batch padding, pads with the zero point",
                  lowering_common.lower_pad, 0),
    "RESHAPE": OpSpec(None, "same size and quantization; no data moved (the buffer is shared)",
                      lowering_misc.lower_reshape, 0),
    "SQUEEZE": OpSpec(None, "as RESHAPE", lowering_misc.lower_reshape, 0),
    "EXPAND_DIMS": OpSpec(None, "as RESHAPE", lowering_misc.lower_reshape, 0),
    "SUB": OpSpec("ec_binary_s8", "int8, broadcasting over rank <= 4, constant operands allowed",
                  lowering_common.lower_binary, 0),
    "MUL": OpSpec("ec_binary_s8", "int8, broadcasting over rank <= 4, constant operands allowed",
                  lowering_common.lower_binary, 0),
    "MAXIMUM": OpSpec("ec_binary_s8", "int8, broadcasting; inputs and output share quantization",
                      lowering_common.lower_binary, 0),
    "MINIMUM": OpSpec("ec_binary_s8", "int8, broadcasting; inputs and output share quantization",
                      lowering_common.lower_binary, 0),
    "PRELU": OpSpec("ec_binary_const_s8", "int8; alpha a constant int8 tensor broadcast over the input",
                    lowering_common.lower_prelu, 0),
    "RELU": OpSpec("ec_requant_s8", "int8 -> int8, any scales", lowering_common.lower_requant, 0),
    "RELU6": OpSpec("ec_requant_s8", "int8 -> int8, any scales", lowering_common.lower_requant, 0),
    "RELU_N1_TO_1": OpSpec("ec_requant_s8", "int8 -> int8, any scales", lowering_common.lower_requant, 0),
    "LEAKY_RELU": OpSpec("ec_requant_s8", "int8 -> int8, any alpha and scales", lowering_common.lower_requant, 0),
    "QUANTIZE": OpSpec("ec_requant_s8", "int8 -> int8 requantization (float or other types rejected)",
                       lowering_common.lower_requant, 0),
    "CONCATENATION": OpSpec("ec_concat_s8", "up to 16 int8 inputs, any axis, inputs and output share quantization",
                            lowering_common.lower_concat, 0),
    "STRIDED_SLICE": OpSpec("ec_gather_axes_s8", "rank <= 4, constant begin/end/strides, begin/end/shrink masks "
                            "(no ellipsis / new axis)", lowering_gather.lower_strided_slice, 0),
    "TRANSPOSE": OpSpec("ec_gather_axes_s8", "rank <= 4, constant permutation", lowering_gather.lower_transpose, 0),
    "RESIZE_NEAREST_NEIGHBOR": OpSpec("ec_gather_axes_s8", "(1,H,W,C), align_corners / half_pixel_centers as TFLite",
                                      lowering_gather.lower_resize_nearest, 0),
    # gemmlowp's fixed-point logistic / tanh, as LiteRT's reference kernels and TFLite Micro compute them.
    "LOGISTIC": OpSpec("ec_logistic_s8", "int8, output scale 1/256 zero point -128",
                       lowering_common.lower_sigmoid, 0),
    "TANH": OpSpec("ec_logistic_s8", "int8, output scale 1/128 zero point 0",
                   lowering_common.lower_sigmoid, 0),
    "HARD_SWISH": OpSpec("ec_hard_swish_s8", "int8, TFLite's int16 fixed-point arithmetic",
                         lowering_common.lower_hard_swish, 0),
    "REDUCE_MAX": OpSpec("ec_reduce_max_s8", "rank <= 4, any constant axes, keep_dims any",
                         lowering_gather.lower_reduce_max, 0),
}


def layer_name(op: Operator) -> str:
    """`l03_depthwise_conv_2d`: the op's position and kind, used in C names."""
    return f"l{op.index:02d}_{op.opcode.lower()}"


def lower_graph(graph: Graph) -> list[Lowered]:
    """Every operator of the graph as a kernel call, in execution order."""
    unknown = sorted({op.opcode for op in graph.operators if op.opcode not in OPS})
    if unknown:
        raise EdgecnnError(f"the C engine has no kernel for {', '.join(unknown)} in {graph.path.name}; "
                           f"supported ops: {', '.join(sorted(OPS))}")
    if not graph.inputs or not graph.outputs:
        raise EdgecnnError(f"{graph.path.name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                           "the C engine expects at least one of each")
    return [OPS[op.opcode].lower(graph, op, layer_name(op)) for op in graph.operators]
