"""The static arena planner on small synthetic graphs (no TensorFlow)."""

from pathlib import Path

import numpy as np

from edgecnn.codegen import planner
from edgecnn.codegen.ir import Lowered
from edgecnn.codegen.tflite_reader import Graph, Operator, Tensor


def _graph(sizes: list[int], chain: list[tuple[list[int], int, str]]) -> tuple[Graph, list[Lowered]]:
    """Tensors of the given byte sizes; calls (inputs, output, opcode) in order."""
    tensors = tuple(Tensor(i, f"t{i}", (1, n), np.dtype(np.int8), np.ones(1, np.float32), np.zeros(1, np.int64), 0, None)
                    for i, n in enumerate(sizes))
    ops = tuple(Operator(i, op, tuple(ins), (out,)) for i, (ins, out, op) in enumerate(chain))
    calls = [Lowered(f"l{i:02d}_{op.lower()}", (op,), None if op == "RESHAPE" else "k", [], [], list(ins), out)
             for i, (ins, out, op) in enumerate(chain)]
    g = Graph(tensors, ops, (0,), (len(sizes) - 1,), "0" * 64, Path("synthetic.tflite"))
    return g, calls


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def test_chain_reuses_buffers_and_keeps_live_ones_apart():
    sizes = [100, 400, 300, 200, 500, 10]
    g, calls = _graph(sizes, [([0], 1, "A"), ([1], 2, "A"), ([2], 3, "A"), ([3], 4, "A"), ([4], 5, "A")])
    p = planner.plan(g, calls)
    # Input and output stay in the caller's buffers.
    assert p.places[0] == ("input", 0) and p.places[5] == ("output", 0)
    # The arena is the largest pair alive together: t3 (200) + t4 (500).
    assert p.arena_bytes == 700
    for a, b in [(1, 2), (2, 3), (3, 4)]:  # producer and consumer of each call are alive together
        assert not _overlap((p.places[a][1], sizes[a]), (p.places[b][1], sizes[b]))
    # t1 and t3 are never alive together, so they may share bytes.
    assert _overlap((p.places[1][1], sizes[1]), (p.places[3][1], sizes[3]))


def test_branch_keeps_a_tensor_alive_until_its_last_reader():
    sizes = [16, 64, 32, 64, 16]
    # t1 is read by the call that makes t2 and again by the add that makes t4.
    g, calls = _graph(sizes, [([0], 1, "A"), ([1], 2, "A"), ([2], 3, "A"), ([1, 3], 4, "ADD")])
    p = planner.plan(g, calls)
    for a, b in [(1, 2), (1, 3), (2, 3)]:
        assert not _overlap((p.places[a][1], sizes[a]), (p.places[b][1], sizes[b]))
    assert p.arena_bytes >= 64 + 64


def test_reshape_shares_the_buffer_of_its_input():
    sizes = [16, 48, 48, 8]
    g, calls = _graph(sizes, [([0], 1, "A"), ([1], 2, "RESHAPE"), ([2], 3, "A")])
    p = planner.plan(g, calls)
    assert p.places[1] == p.places[2]
    assert p.arena_bytes == 48


def test_offsets_are_word_aligned():
    sizes = [5, 7, 9, 11, 3]
    g, calls = _graph(sizes, [([0], 1, "A"), ([1], 2, "A"), ([2], 3, "A"), ([3], 4, "A")])
    p = planner.plan(g, calls)
    assert all(off % planner.ALIGN == 0 for kind, off in p.places.values() if kind == "arena")
    assert p.arena_bytes % planner.ALIGN == 0


def test_reader_and_names_reject_bad_input(tmp_path):
    import pytest

    from edgecnn.codegen import c_name
    from edgecnn.codegen.tflite_reader import read_tflite
    from edgecnn.errors import EdgecnnError

    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"PK\x03\x04 not a flatbuffer")
    with pytest.raises(EdgecnnError, match="not a TFLite flatbuffer"):
        read_tflite(bad)
    with pytest.raises(EdgecnnError, match="no .tflite model"):
        read_tflite(tmp_path / "missing.tflite")
    assert c_name("fashion-mnist") == "fashion_mnist"
    with pytest.raises(EdgecnnError, match="C identifier"):
        c_name("10classes")


def _elementwise(sizes: list[int], chain: list[tuple[list[int], int, str]]) -> tuple[Graph, list[Lowered]]:
    """As _graph, with "ADD" calls on ec_add_s8 (which may write over an input that dies there)."""
    g, calls = _graph(sizes, chain)
    for c in calls:
        if c.ops == ("ADD",):
            c.kernel = "ec_add_s8"
    return g, calls


def test_elementwise_output_goes_over_an_input_that_dies_there():
    sizes = [16, 100, 100, 100, 16]
    g, calls = _elementwise(sizes, [([0], 1, "A"), ([1], 2, "A"), ([1, 2], 3, "ADD"), ([3], 4, "A")])
    p = planner.plan(g, calls)
    assert p.arena_bytes == 200  # t1 + t2; the sum t3 lies exactly over one of them
    assert p.places[3] in (p.places[1], p.places[2])


def test_no_overlap_with_an_input_read_again_later():
    sizes = [16, 100, 100, 100, 16]
    # t1 is read again after the ADD: the sum may only go over t2.
    g, calls = _elementwise(sizes, [([0], 1, "A"), ([1], 2, "A"), ([1, 2], 3, "ADD"), ([1, 3], 4, "A")])
    p = planner.plan(g, calls)
    assert p.places[3] == p.places[2] and p.places[3] != p.places[1]
    assert p.arena_bytes == 200


def test_random_graphs_keep_live_buffers_apart_except_permitted_overlaps():
    """Seeded random DAGs of plain calls and ADDs: every two buffers alive together are disjoint,
    or an ADD's output over an input that dies there at the same offset; never a bigger arena
    than without overlaps."""
    rng = np.random.default_rng(0)
    smaller = 0
    for _ in range(40):
        n = int(rng.integers(4, 12))
        sizes = [int(rng.integers(1, 40)) * 4 for _ in range(n + 1)]
        chain = []
        for t in range(1, n + 1):
            ins = sorted({int(rng.integers(0, t)), int(rng.integers(max(0, t - 3), t))})
            chain.append((ins, t, "ADD" if len(ins) == 2 and rng.random() < 0.7 else "A"))
        g, calls = _elementwise(sizes, chain)
        p = planner.plan(g, calls)
        plain = planner.plan(*_graph(sizes, chain))
        assert p.arena_bytes <= plain.arena_bytes
        smaller += p.arena_bytes < plain.arena_bytes
        first = {c.output: i for i, c in enumerate(calls)}
        last = {t: max([i for i, c in enumerate(calls) if t in c.inputs], default=first.get(t, 0)) for t in range(n + 1)}
        for a in range(1, n):
            for b in range(a + 1, n):
                if first[a] > last[b] or first[b] > last[a]:
                    continue
                pa, pb = p.places[a], p.places[b]
                if not _overlap((pa[1], sizes[a]), (pb[1], sizes[b])):
                    continue
                c = calls[first[b]]
                assert c.kernel == "ec_add_s8" and a in c.inputs and last[a] == first[b] and pb[1] <= pa[1], (chain, a, b)
    assert smaller >= 10  # the overlaps are really taken (24 of the 40 graphs here)
