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


def call_infos(graph: Graph, calls: list[Lowered], plan: Plan) -> tuple[CallInfo, ...]:
    """CallInfo for every call of the planned sequence."""
    out = []
    for pos, c in enumerate(calls):
        kind, offset = plan.places[c.output]
        live = _union_bytes(sorted((o, o + size) for size, first, last, o in plan.buffers if first <= pos <= last))
        t = graph.tensors[c.output]
        out.append(CallInfo(pos, c.layer, tuple(c.ops), c.kernel, c.output, tuple(t.shape), kind, int(offset),
                            int(t.nbytes), int(c.macs), int(sum(a.nbytes for a in c.consts)), int(c.scratch_bytes),
                            int(live)))
    return tuple(out)
