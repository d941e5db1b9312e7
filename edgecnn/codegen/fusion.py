"""Fuse conv -> [1x1 conv] -> [max pool] runs into one pixel-by-pixel kernel call.

Why: the arena must hold every tensor that is alive at once. Computed pixel
by pixel (ec_chain_s8), a fused block never stores its intermediate tensors,
so the arena shrinks to the block's input plus its output (the largest
activations of these models are the ones a pool or a 1x1 conv consumes next).
The arithmetic per pixel is the plain kernels', so the output is
bit-identical to the unfused sequence (a test checks it).
"""

from edgecnn.codegen.ir import CStruct, Lowered, StructRef
from edgecnn.codegen.tflite_reader import Graph


def _private(graph: Graph, low: Lowered, nxt: Lowered) -> bool:
    """`nxt` is the only reader of `low`'s output, which is not a graph output."""
    t = low.output
    return nxt.inputs == [t] and graph.consumers(t) == [_op_index(nxt)] and t not in graph.outputs


def _op_index(low: Lowered) -> int:
    """The TFLite operator index in a layer name like `l03_conv_2d`."""
    return int(low.layer[1:].split("_", 1)[0])


EC_STACK_C = 96  # ec_chain.c: channels up to which a block's batches live on the stack
EC_PIXELS_MAX = 4  # ec_kernels.h: output pixels per kernel call


def _is_pointwise(low: Lowered) -> bool:
    if low.role != "conv":  # aliases (RESHAPE) and other ops have no conv struct
        return False
    f = low.structs[-1].fields
    return (low.role == "conv" and f["k_h"] == 1 and f["k_w"] == 1 and f["stride_h"] == 1 and f["stride_w"] == 1
            and f["pad_top"] == 0 and f["pad_left"] == 0)


def _chain(stages: list[Lowered]) -> Lowered:
    first, rest = stages[0], stages[1:]
    pw = next((s for s in rest if s.role == "conv"), None)
    pool = next((s for s in rest if s.role == "max_pool"), None)
    layer = f"{first.layer.split('_', 1)[0]}_block"
    fields = {"first": StructRef(first.layer), "first_is_depthwise": int(first.role == "depthwise"),
              "pointwise": StructRef(pw.layer) if pw else None, "pool": StructRef(pool.layer) if pool else None}
    last_conv = pw or first
    # ec_chain_s8's scratch, for blocks wider than its stack buffers (EC_STACK_C channels): a batch of
    # EC_PIXELS_MAX first-stage pixels (with a pointwise stage), then as many block-output pixels (with a pool).
    mid_c, out_c = first.structs[-1].fields["out_c"], last_conv.structs[-1].fields["out_c"]
    batch = EC_PIXELS_MAX if max(mid_c, out_c) > EC_STACK_C else 1
    scratch = batch * ((mid_c if pw else 0) + (out_c if pool else 0))
    return Lowered(layer, tuple(o for s in stages for o in s.ops), "ec_chain_s8",
                   [st for s in stages for st in s.structs] + [CStruct(layer, "ec_chain_params", fields)],
                   [c for s in stages for c in s.consts], first.inputs, stages[-1].output,
                   sum(s.macs for s in stages), scratch_bytes=max(scratch, 1), role="block")


def fuse(graph: Graph, lowered: list[Lowered]) -> list[Lowered]:
    """Replace each conv/depthwise [-> 1x1 conv] [-> max pool] run of 2+ calls by one ec_chain_s8 call."""
    out: list[Lowered] = []
    i = 0
    while i < len(lowered):
        stages = [lowered[i]]
        if lowered[i].role in ("conv", "depthwise"):
            j = i + 1
            if j < len(lowered) and _is_pointwise(lowered[j]) and _private(graph, stages[-1], lowered[j]):
                stages.append(lowered[j])
                j += 1
            if j < len(lowered) and lowered[j].role == "max_pool" and _private(graph, stages[-1], lowered[j]):
                stages.append(lowered[j])
        out.append(_chain(stages) if len(stages) > 1 else stages[0])
        i += len(stages)
    return out
