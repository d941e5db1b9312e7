"""Static activation arena planned from tensor lifetimes.

Every activation tensor gets a place: the caller's input buffer, the caller's
output buffer, or an offset in one static arena. Arena buffers whose
lifetimes (first write .. last read, in call order) do not overlap share
bytes. Placement is greedy: in a given order, each buffer goes to the lowest
offset that does not collide with an already placed, simultaneously alive
buffer (TFLM's GreedyMemoryPlanner does this largest first); a few orders are
tried and the smallest arena kept.

Streaming kernels may write their output over an input that dies at the call
(overlap.py gives, per such pair, how far the output may start after the
input). A second placement takes those overlaps: in a given order each
buffer goes to the candidate offset (next to a placed buffer, or at a
permitted overlap) that keeps the arena smallest, negative offsets allowed;
the whole layout is shifted to start at 0 at the end.
"""

from dataclasses import dataclass

from edgecnn.codegen import overlap
from edgecnn.codegen.ir import Lowered
from edgecnn.codegen.tflite_reader import Graph

ALIGN = 4  # word alignment: Cortex-M loads 32-bit words from any kernel buffer


@dataclass(frozen=True)
class Plan:
    """Where each activation lives and how big the arena is."""

    places: dict  # tensor index -> ("input" | "output" | "input<i>" | "output<i>" | "arena", byte offset)
    scratch: dict  # position in the call list -> arena offset of that call's scratch
    arena_bytes: int
    buffers: tuple  # (size, first, last, offset) per arena buffer, for reports


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _roots(calls: list[Lowered]) -> dict[int, int]:
    """Tensor -> the tensor whose buffer it uses (RESHAPE outputs alias their input)."""
    root: dict[int, int] = {}
    for c in calls:
        for t in c.inputs + [c.output]:
            root.setdefault(t, t)
        if c.kernel is None:
            root[c.output] = root[c.inputs[0]]
    return root


def _place(sizes: dict, first: dict, last: dict, pairs: dict) -> tuple[dict, int]:
    """The smallest of a few greedy placements (no single order wins on every graph)."""
    orders = [
        lambda k: (-sizes[k], first[k], str(k)),  # largest first (TFLM's choice)
        lambda k: (first[k], -sizes[k], str(k)),  # in call order
        lambda k: (-(last[k] - first[k]), -sizes[k], str(k)),  # longest-lived first
        lambda k: (-sizes[k] * (last[k] - first[k] + 1), str(k)),
    ]
    tries = [_place_in_order(sorted(sizes, key=o), sizes, first, last) for o in orders]
    if pairs:
        tries += [_place_overlapping(sorted(sizes, key=o), sizes, first, last, pairs) for o in orders]
    return min(tries, key=lambda r: r[1])


def _fits(key, at: int, placed: list, sizes: dict, first: dict, last: dict, pairs: dict) -> bool:
    """`key` at offset `at` misses every placed buffer alive at the same time, or overlaps it as a pair permits."""
    for o, k in placed:
        if first[k] > last[key] or first[key] > last[k] or at + sizes[key] <= o or o + sizes[k] <= at:
            continue
        if (k, key) in pairs and at - o <= pairs[(k, key)]:  # key is the output written over input k
            continue
        if (key, k) in pairs and o - at <= pairs[(key, k)]:
            continue
        return False
    return True


def _place_overlapping(keys: list, sizes: dict, first: dict, last: dict, pairs: dict) -> tuple[dict, int]:
    """Each buffer at the candidate offset that keeps the span smallest (then the lowest), overlaps allowed."""
    size = {k: _align(sizes[k]) for k in keys}
    placed: list[tuple[int, object]] = []
    lo = hi = 0
    for key in keys:
        cands = {0}
        for o, k in placed:
            cands |= {o + size[k], o - size[key]}
            if (k, key) in pairs:
                cands.add(o + pairs[(k, key)])
            if (key, k) in pairs:
                cands.add(o - pairs[(key, k)])
        ok = [c for c in sorted(cands) if _fits(key, c, placed, size, first, last, pairs)]
        at = min(ok, key=lambda c: (max(hi, c + size[key]) - min(lo, c) if placed else size[key], abs(c)))
        lo, hi = (min(lo, at), max(hi, at + size[key])) if placed else (at, at + size[key])
        placed.append((at, key))
    return {k: o - lo for o, k in placed}, _align(hi - lo)


def _place_in_order(keys: list, sizes: dict, first: dict, last: dict) -> tuple[dict, int]:
    """Each buffer at the lowest offset that misses every placed buffer alive at the same time."""
    placed: list[tuple[int, int, object]] = []  # (offset, size, key)
    offsets = {}
    for key in keys:
        live = sorted((o, s) for o, s, k in placed if first[k] <= last[key] and first[key] <= last[k])
        offset = 0
        for o, s in live:
            if offset + sizes[key] <= o:
                break
            offset = max(offset, _align(o + s))
        offsets[key] = offset
        placed.append((offset, sizes[key], key))
    total = max((o + s for o, s, _ in placed), default=0)
    return offsets, _align(total)


def caller_buffers(graph: Graph, root: dict) -> dict:
    """Root tensor -> the invoke() pointer that holds it: "input" / "output" for a one-input, one-output
    model, else "input<i>" / "output<i>" in the model's order (the first one wins for a shared tensor)."""
    multi = len(graph.inputs) > 1 or len(graph.outputs) > 1
    out: dict = {}
    for kind, tensors in (("input", graph.inputs), ("output", graph.outputs)):
        for i, t in enumerate(tensors):
            out.setdefault(root.get(t), f"{kind}{i}" if multi else kind)
    out.pop(None, None)
    return out


def _pairs(calls: list[Lowered], root: dict, sizes: dict, first: dict, last: dict) -> dict:
    """(input root, output root) -> dmax for the calls whose output may overlap an input that dies there."""
    pairs: dict = {}
    for pos, c in enumerate(calls):
        out = root[c.output]
        if out not in sizes or first[out] != pos:
            continue
        for t, d in overlap.dmax(c).items():
            r = root[t]
            if r in sizes and r != out and last[r] == pos:
                pairs[(r, out)] = min(pairs.get((r, out), d), d)
    return pairs


def plan(graph: Graph, calls: list[Lowered]) -> Plan:
    """Places for every activation of the call list (after fusion)."""
    root = _roots(calls)
    callers = caller_buffers(graph, root)
    first: dict = {}
    last: dict = {}
    for pos, c in enumerate(calls):
        for t in c.inputs:
            last[root[t]] = max(last.get(root[t], pos), pos)
        r = root[c.output]
        first[r] = min(first.get(r, pos), pos)
        last[r] = max(last.get(r, pos), pos)
    sizes = {r: graph.tensors[r].nbytes for r in set(root.values()) if r not in callers}
    for pos, c in enumerate(calls):
        if c.scratch_bytes:
            key = ("scratch", pos)
            sizes[key], first[key], last[key] = c.scratch_bytes, pos, pos
    offsets, total = _place(sizes, first, last, _pairs(calls, root, sizes, first, last))
    places = {}
    for t, r in root.items():
        places[t] = (callers[r], 0) if r in callers else ("arena", offsets[r])
    scratch = {k[1]: v for k, v in offsets.items() if isinstance(k, tuple)}
    buffers = tuple((sizes[k], first[k], last[k], offsets[k]) for k in sizes)
    return Plan(places, scratch, total, buffers)
