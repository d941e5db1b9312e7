"""Per kernel call facts for reports: MACs, weights, where the output lives, arena bytes alive."""

from dataclasses import asdict, dataclass

from edgecnn.codegen.ir import Lowered
from edgecnn.codegen.planner import Plan
from edgecnn.codegen.tflite_reader import Graph


@dataclass(frozen=True)
class CallInfo:
    """One call of `<name>_invoke()` (index = its position, as EC_LAYER_DONE(index) reports it)."""

    index: int
    layer: str  # e.g. "l03_depthwise_conv_2d"
    ops: tuple[str, ...]  # TFLite ops it computes (fused blocks: several)
    kernel: str | None  # None: an alias (RESHAPE shares its input's buffer)
    output_tensor: int  # TFLite tensor index of the output
    output_shape: tuple[int, ...]
    output_place: str  # "arena", "input" or "output" (the caller's buffers)
    output_offset: int  # byte offset in the arena (0 for the caller's buffers)
    output_bytes: int
    macs: int
    weights_bytes: int  # const arrays of the call: weights, biases, multipliers, shifts
    scratch_bytes: int
    live_arena_bytes: int  # arena bytes of every buffer alive during the call (the memory timeline)
    # Every channel vector, weight row and buffer it touches is a whole number of words, so its
    # single loads and stores are word aligned (the cycle model's worst case relies on it).
    word_aligned: bool = True

    def as_dict(self) -> dict:
        return asdict(self) | {"ops": list(self.ops), "output_shape": list(self.output_shape)}


def _union_bytes(spans: list) -> int:
    """Bytes covered by sorted (start, end) spans (an output may lie over an input: planner.py)."""
    total, reach = 0, None
    for a, b in spans:
        a = a if reach is None else max(a, reach)
        total += max(0, b - a)
        reach = b if reach is None else max(reach, b)
    return total


SIZE_FIELDS = ("in_c", "out_c", "in_depth", "out_depth", "depth", "channels")  # channel counts, depths


def _word_aligned(graph: Graph, c: Lowered, offset: int) -> bool:
    """No channel count or depth of the call (its tensors' innermost dimensions, the channel and
    depth fields of its parameter structs, fused blocks' inner layers included) leaves a
    partial word, and its output starts on a word."""
    dims = [graph.tensors[t].shape[-1] for t in (*c.inputs, c.output) if graph.tensors[t].shape]
    dims += [v for st in c.structs for k, v in st.fields.items()
             if isinstance(v, int) and k in SIZE_FIELDS]
    return offset % 4 == 0 and all(int(d) % 4 == 0 for d in dims)


def call_infos(graph: Graph, calls: list[Lowered], plan: Plan) -> tuple[CallInfo, ...]:
    """CallInfo for every call of the planned sequence."""
    out = []
    for pos, c in enumerate(calls):
        kind, offset = plan.places[c.output]
        live = _union_bytes(sorted((o, o + size) for size, first, last, o in plan.buffers if first <= pos <= last))
        t = graph.tensors[c.output]
        out.append(CallInfo(pos, c.layer, tuple(c.ops), c.kernel, c.output, tuple(t.shape), kind, int(offset),
                            int(t.nbytes), int(c.macs), int(sum(a.nbytes for a in c.consts)), int(c.scratch_bytes),
                            int(live), _word_aligned(graph, c, int(offset))))
    return tuple(out)
