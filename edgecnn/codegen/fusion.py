"""Fuse conv -> [1x1 conv] -> [max pool] runs into one pixel-by-pixel kernel call,
and conv -> [conv] -> [ADD] runs into one row-by-row call (ec_rowchain.c).

Why: the arena must hold every tensor that is alive at once. Computed pixel
by pixel (ec_chain_s8), a fused block never stores its intermediate tensors,
so the arena shrinks to the block's input plus its output (the largest
activations of these models are the ones a pool or a 1x1 conv consumes next).
The arithmetic per pixel is the plain kernels', so the output is
bit-identical to the unfused sequence (a test checks it).

Row-by-row blocks (residual blocks: conv -> conv -> ADD with the skip, or a
shortcut conv -> ADD) keep only a window of the first conv's rows (the
second conv's kernel height) instead of its whole output, and write the sum
where the planner allows, over the skip tensor (overlap.py). The fused call
takes the place of the block's last op, so the ADD's other operand, made
anywhere before it, is ready.
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
    return fuse_rows(graph, out)


def _sole_reader(graph: Graph, calls: list[Lowered], pos_of: dict, low: Lowered) -> int | None:
    """Position of the one call that reads `low`'s output once, if the output is no graph output."""
    t = low.output
    readers = graph.consumers(t)
    if t in graph.outputs or len(readers) != 1 or readers[0] not in pos_of:
        return None
    j = pos_of[readers[0]]
    return j if calls[j].inputs.count(t) == 1 else None


def _rowchain(stages: list[Lowered]) -> Lowered:
    convs = [s for s in stages if s.role in ("conv", "depthwise")]
    add = stages[-1] if stages[-1].kernel == "ec_add_s8" else None
    a, b = convs[0], convs[1] if len(convs) > 1 else None
    last = convs[-1]
    layer = f"{a.layer.split('_', 1)[0]}_rows"
    fields = {"first": StructRef(a.layer), "first_is_depthwise": int(a.role == "depthwise"),
              "second": StructRef(b.layer) if b else None, "second_is_depthwise": int(b is not None and b.role == "depthwise"),
              "add": StructRef(add.layer) if add else None,
              "conv_is_in1": int(add is not None and add.inputs[0] == last.output)}
    fa = a.structs[-1].fields
    scratch = 0
    if b is not None:
        fb = b.structs[-1].fields
        scratch += min((fb["k_h"] - 1) * fb["dil_h"] + 1, fa["out_h"]) * fa["out_w"] * fa["out_c"]
    if add is not None:
        scratch += EC_PIXELS_MAX * last.structs[-1].fields["out_c"]
    operand = [t for t in add.inputs if t != last.output] if add else []
    return Lowered(layer, tuple(o for s in stages for o in s.ops), "ec_rowchain_add_s8" if add else "ec_rowchain_s8",
                   [st for s in stages for st in s.structs] + [CStruct(layer, "ec_rowchain_params", fields)],
                   [c for s in stages for c in s.consts], a.inputs + operand, stages[-1].output,
                   sum(s.macs for s in stages), scratch_bytes=max(scratch, 1), role="rows")


def _row_stages(graph: Graph, calls: list[Lowered], pos_of: dict, i: int, taken: set) -> list[int]:
    """conv -> [conv (not 1x1)] -> [ADD] starting at position i: the positions of the run."""
    stages = [i]
    j = _sole_reader(graph, calls, pos_of, calls[i])
    if j is not None and j not in taken and calls[j].role in ("conv", "depthwise") and not _is_pointwise(calls[j]):
        stages.append(j)
        j = _sole_reader(graph, calls, pos_of, calls[j])
    if j is not None and j not in taken and calls[j].kernel == "ec_add_s8":
        stages.append(j)
    return stages


def fuse_rows(graph: Graph, calls: list[Lowered]) -> list[Lowered]:
    """Replace each conv -> [conv] -> [ADD] run of 2+ unfused calls by one ec_rowchain call at its last position."""
    pos_of = {_op_index(c): i for i, c in enumerate(calls)
              if c.role in ("conv", "depthwise") or c.kernel == "ec_add_s8"}
    taken: set = set()
    runs: dict = {}
    for i, c in enumerate(calls):
        if i in taken or c.role not in ("conv", "depthwise"):
            continue
        stages = _row_stages(graph, calls, pos_of, i, taken)
        if len(stages) > 1:
            taken |= set(stages)
            runs[stages[-1]] = stages
    return [_rowchain([calls[s] for s in runs[i]]) if i in runs else c for i, c in enumerate(calls)
            if i in runs or i not in taken]
