"""Per-layer figures from the activations: quantization error, runtime disagreement, engine plan.

Quantization error of a layer: its int8 output dequantized, (q - zero_point) * scale, against
the float model's output of the same op, over every value of every evaluation image:
SNR dB = 10 log10(sum f^2 / sum (deq - f)^2), and the max |deq - f| in the layer's float units.
Disagreement: max |a - b| in LSB between two int8 runtimes on the same op output.
"""

from dataclasses import asdict, dataclass

import numpy as np

from edgecnn.summary import short_tensor_name

DISAGREE_LSB = 1  # more than this between two int8 runtimes is a disagreement (rounding ties give 1)


@dataclass
class LayerFacts:
    """One TFLite op of the int8 model, with what every source says about it (None: not available)."""

    index: int
    op: str
    name: str  # short name (op index + layer), see summary.short_tensor_name
    tensor: int
    output_shape: tuple[int, ...]
    macs: int | None = None
    weights_bytes: int | None = None
    arena_offset: int | None = None  # None: the caller's input/output buffer, or no C engine
    output_place: str | None = None
    live_arena_bytes: int | None = None
    snr_db: float | None = None
    max_abs_err: float | None = None
    c_vs_ref_lsb: int | None = None
    tflm_vs_ref_lsb: int | None = None
    c_vs_tflm_lsb: int | None = None
    m4_instructions: int | None = None

    def as_dict(self) -> dict:
        return asdict(self) | {"output_shape": list(self.output_shape)}


def quant_error(q: np.ndarray, scale: float, zero_point: int, ref: np.ndarray) -> tuple[float | None, float]:
    """(SNR dB, None when exact or the float layer is all zero; max |error|) of int8 q (N, ...) vs float ref."""
    deq = (q.astype(np.float64) - zero_point) * scale
    f = ref.astype(np.float64).reshape(deq.shape)
    noise = float(((deq - f) ** 2).sum())
    signal = float((f ** 2).sum())
    snr = None if noise == 0 or signal == 0 else float(10 * np.log10(signal / noise))
    return snr, float(np.abs(deq - f).max())


def max_lsb(a: np.ndarray | None, b: np.ndarray | None) -> int | None:
    if a is None or b is None:
        return None
    return int(np.abs(a.reshape(len(a), -1).astype(np.int32) - b.reshape(len(b), -1).astype(np.int32)).max())


def first_disagreement(rows: list[LayerFacts], field: str, tol: int = DISAGREE_LSB) -> LayerFacts | None:
    """The first op (in execution order) whose outputs differ by more than tol LSB in `field`."""
    return next((r for r in rows if getattr(r, field) is not None and getattr(r, field) > tol), None)


def base_rows(graph) -> list[LayerFacts]:
    """One LayerFacts per op of the int8 graph (reader.Graph), names shortened."""
    rows = []
    for op in graph.operators:
        t = graph.tensors[op.outputs[0]]
        rows.append(LayerFacts(op.index, op.opcode, short_tensor_name(t.name, op.opcode, op.index), op.outputs[0],
                               tuple(t.shape)))
    return rows


def add_engine_plan(rows: list[LayerFacts], call_infos) -> None:
    """MACs, weights, arena place and live bytes from an unfused engine's calls (one per op)."""
    by_tensor = {c.output_tensor: c for c in call_infos}
    for r in rows:
        c = by_tensor.get(r.tensor)
        if c is None:
            continue
        r.macs, r.weights_bytes, r.live_arena_bytes = c.macs, c.weights_bytes, c.live_arena_bytes
        r.output_place = c.output_place
        r.arena_offset = c.output_offset if c.output_place == "arena" else None


def add_quant_error(rows: list[LayerFacts], graph, int8_acts: dict, float_acts: dict) -> None:
    """SNR and max error per op; float_acts is keyed by the int8 tensor index (see match_float_tensors)."""
    for r in rows:
        t = graph.tensors[r.tensor]
        if r.tensor in int8_acts and r.tensor in float_acts and len(t.scale):
            r.snr_db, r.max_abs_err = quant_error(int8_acts[r.tensor], float(t.scale[0]), int(t.zero_point[0]),
                                                  float_acts[r.tensor])


def match_float_tensors(int8_graph, float_graph) -> dict[int, int]:
    """int8 op output tensor -> float op output tensor: by position when the op sequences agree, else by name."""
    kinds = lambda g: [(op.opcode, tuple(g.tensors[op.outputs[0]].shape)) for op in g.operators]  # noqa: E731
    if kinds(int8_graph) == kinds(float_graph):
        return {a.outputs[0]: b.outputs[0] for a, b in zip(int8_graph.operators, float_graph.operators)}
    by_name = {float_graph.tensors[op.outputs[0]].name: op.outputs[0] for op in float_graph.operators}
    return {op.outputs[0]: by_name[n] for op in int8_graph.operators
            if (n := int8_graph.tensors[op.outputs[0]].name) in by_name}
