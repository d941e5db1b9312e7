"""Memory levers of the C engine (issue #12, section 4) on small seeded Keras models:
row-by-row fused blocks (ec_rowchain.c: conv -> [conv] -> [ADD]) and outputs placed over inputs
that die at a streaming call (planner.py + overlap.py).

Shapes chosen for every path: odd sizes, SAME and VALID, strides 1 and 2, dilation, rectangular
kernels, channel counts that are and are not multiples of 4, a depthwise first or second stage,
the conv result as the ADD's first or second input, a 1x1 stride-2 shortcut, 288-tap convs
(the SIMD tiled reduction). Each model against LiteRT's reference kernels and TFLM (0 LSB),
fused vs unfused, the portable, reference and emulated SIMD kernel sets (the latter under
ASan/UBSan) bit-identical; and under QEMU with the real SIMD instructions.
"""

import re
import shutil

import numpy as np
import pytest

from edgecnn.codegen import KERNELS_DIR, fusion, generate, hostrun, overlap, testmodels, verify
from edgecnn.codegen.testmodels import Case

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

N_INPUTS = 100


def _c(L, x, f, k, **kw):
    return L.Conv2D(f, k, **kw)(x)


def _res_same(L, x):  # conv -> conv -> ADD with the skip: the sum written over the skip
    y = _c(L, _c(L, x, 5, 3, padding="same", activation="relu"), 5, 3, padding="same")
    return L.Activation("relu")(L.Add()([x, y]))


def _res_s2(L, x, f: int, conv_first: bool):  # ResNet's downsampling block: 1x1 stride-2 shortcut
    y = _c(L, _c(L, x, f, 3, strides=2, padding="same", activation="relu"), f, 3, padding="same")
    s = _c(L, x, f, 1, strides=2)
    return L.Add()([y, s] if conv_first else [s, y])


def _conv_dw_add(L, x):  # a depthwise 5x5 second stage, the skip as the ADD's second input
    y = L.DepthwiseConv2D(5, padding="same")(_c(L, x, 8, 3, padding="same", activation="relu"))
    return L.Add()([y, x])


def _residual(L, x):  # 12x11 -> 6x6 -> 3x3, 5 / 8 / 7 channels
    x = _res_same(L, _c(L, x, 5, 3, padding="same", activation="relu"))
    x = _conv_dw_add(L, _res_s2(L, x, 8, True))
    return _c(L, _res_s2(L, x, 7, False), 3, 1)  # the sums stay in the arena


def _pairs(L, x):  # VALID, a rectangular dilated second stage, a depthwise first stage, strides 2, a 7-row kernel
    x = L.AveragePooling2D(2, strides=1)(x)  # the pools keep the blocks' tensors in the arena
    x = _c(L, _c(L, x, 7, 3, padding="valid", activation="relu"), 6, (3, 2), dilation_rate=2, padding="valid")
    y = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    y = _c(L, y, 5, (7, 3), strides=2, padding="same")  # a kernel taller than its 4-row input
    return L.AveragePooling2D(2, strides=1)(y)


def _wide_and_ds(L, x):  # 288-tap convs (the SIMD tiled reduction); dw -> 1x1 blocks over their inputs
    x = _c(L, x, 32, 1, activation="relu")
    y = _c(L, _c(L, x, 32, 3, padding="same", activation="relu"), 32, 3, padding="same")
    x = _c(L, L.Add()([x, y]), 6, 1, activation="relu")
    x = _c(L, L.DepthwiseConv2D(3, padding="same", activation="relu")(x), 10, 1, activation="relu")
    x = _c(L, L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x), 7, 1, activation="relu")
    return _c(L, L.DepthwiseConv2D(3, padding="valid")(x), 12, 1)


def _pooled(L, x):  # pooled blocks over their inputs: 2x2 windows, overlapping 3x3 stride-2 SAME windows
    x = _c(L, x, 9, 3, padding="same", activation="relu")
    x = L.MaxPooling2D(2)(_c(L, x, 12, 3, padding="same", activation="relu"))
    x = _c(L, L.DepthwiseConv2D(3, padding="same", activation="relu")(x), 7, 1, activation="relu")
    return _c(L, L.MaxPooling2D(3, strides=2, padding="same")(x), 4, 1)


CASES = (
    Case("residual_blocks", ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD"), (12, 11, 3), _residual),
    Case("row_pairs", ("AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D"), (14, 13, 3), _pairs),
    Case("wide_and_ds", ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD"), (9, 7, 3), _wide_and_ds),
    Case("pooled_chains", ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D"), (15, 13, 2), _pooled),
)
# The fused calls each case must make (else the test would not test them).
EXPECTED_CALLS = {"residual_blocks": {"ec_rowchain_add_s8": 4}, "row_pairs": {"ec_rowchain_s8": 2},
                  "wide_and_ds": {"ec_rowchain_add_s8": 1, "ec_chain_s8": 3}, "pooled_chains": {"ec_chain_s8": 2}}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("rowchain_models")
    return {c.name: testmodels.build_case(c, d, seed=i + 7) for i, c in enumerate(CASES)}


def _run(gen, exe, x, extra=()) -> np.ndarray:
    exe = hostrun.compile_host(gen, exe, "gcc", "-O1", tuple(extra))
    return hostrun.run_host(exe, x, int(np.prod(gen.output_shape))).outputs


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fused_rows_and_overlaps_match_references(case, models, tmp_path):
    path = models[case.name]
    x = verify.random_inputs((1, *case.input_shape), N_INPUTS, seed=len(case.name))
    gen = generate(path, tmp_path / "fused", "m")
    plain_gen = generate(path, tmp_path / "plain", "m", fuse=False)
    for kernel, n in EXPECTED_CALLS[case.name].items():
        assert sum(c.startswith(kernel + "(") for c in gen.calls) == n, gen.calls
    fused = _run(gen, tmp_path / "h_fused", x)
    ref = verify.litert_reference(path, x)
    vs_ref = verify.compare("litert_builtin_ref", fused, ref, 0)
    vs_tflm = verify.compare("tflm", fused, verify.tflm_reference(path, x), 0)
    print(f"{case.name}: arena {plain_gen.arena_bytes} -> {gen.arena_bytes} B; {gen.calls}; {vs_ref.line()}")
    assert vs_ref.passed and vs_ref.max_abs_diff == 0, vs_ref.line()
    assert vs_tflm.passed and vs_tflm.max_abs_diff == 0, vs_tflm.line()
    assert gen.arena_bytes < plain_gen.arena_bytes
    assert np.array_equal(fused, _run(plain_gen, tmp_path / "h_plain", x)), "fusion changed the output"
    reference = _run(gen, tmp_path / "h_ref", x, ("-DEC_REFERENCE_KERNELS",))
    assert np.array_equal(fused, reference), "the portable kernels differ from the reference ones"
    simd = _run(gen, tmp_path / "h_simd", x, ("-DEC_SIMD_EMULATE", *hostrun.SANITIZE))
    assert np.array_equal(simd, reference), "the SIMD kernels (emulated, ASan/UBSan) differ from the reference ones"
    assert len({r.tobytes() for r in ref}) > N_INPUTS // 2  # a live model


def test_rowchain_on_cortex_m4_matches_reference_kernels(models, tmp_path):
    """The fused kernels with the real DSP instructions (QEMU mps2-an386, soft float, and hard float
    on the residual model): outputs equal the host reference kernels'."""
    from edgecnn.codegen import qemu

    missing = qemu.missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    for case in (CASES[0], CASES[2]):  # the other two run the same SIMD paths (emulated on the host above)
        x = verify.random_inputs((1, *case.input_shape), 6, seed=3)
        gen = generate(models[case.name], tmp_path / case.name / "c", "m")
        host = _run(gen, tmp_path / case.name / "h", x, ("-DEC_REFERENCE_KERNELS",))
        rep = qemu.check(gen, x, host, tmp_path / case.name / "fw", timeout_s=120)
        assert rep.passed and rep.n_images == 6, rep.log[-1500:]
        if case is CASES[0]:  # and with the FPU on (most Cortex-M4F boards)
            rep = qemu.check(gen, x, host, tmp_path / case.name / "fw_hard", timeout_s=120, float_abi="hard")
            assert rep.passed and rep.n_images == 6, rep.log[-1500:]


def _plan_with_pair_at(kernel: str, delta: int):
    """planner.plan, then the first `kernel` call's dying input and its output moved to fresh arena
    bytes with the output starting overlap.dmax + delta bytes after the input."""
    from edgecnn.codegen import planner

    original = planner.plan

    def plan(graph, calls):
        p = original(graph, calls)
        root = planner._roots(calls)
        for pos, c in enumerate(calls):
            last_use = max(i for i, k in enumerate(calls) if c.inputs[0] in k.inputs)
            if c.kernel == kernel and last_use == pos and p.places[c.inputs[0]][0] == p.places[c.output][0] == "arena":
                d = overlap.dmax(c)[c.inputs[0]] + delta
                t_in, t_out = graph.tensors[c.inputs[0]].nbytes, graph.tensors[c.output].nbytes
                at_in = p.arena_bytes + max(0, -d)
                places = dict(p.places)
                for t, r in root.items():
                    if r == root[c.inputs[0]]:
                        places[t] = ("arena", at_in)
                    elif r == root[c.output]:
                        places[t] = ("arena", at_in + d)
                end = max(at_in + t_in, at_in + d + t_out)
                return planner.Plan(places, p.scratch, (end + 3) // 4 * 4, p.buffers)
        raise AssertionError(f"no {kernel} call with a dying arena input")

    return plan


@pytest.mark.parametrize("case,kernel,delta", [("residual_blocks", "ec_rowchain_add_s8", 4),
                                                ("row_pairs", "ec_rowchain_s8", 2 * 11 * 3 + 4),
                                                ("wide_and_ds", "ec_chain_s8", 7 * 32 + 4 * 10),
                                                ("pooled_chains", "ec_chain_s8", 2 * 13 * 9 + 4)])
def test_an_output_past_the_overlap_bound_breaks_the_result(case, kernel, delta, models, tmp_path, monkeypatch):
    """At overlap.py's bound the output is exact; a few bytes past it (in place over the skip:
    one word; elsewhere an input row and a pixel batch) the comparison fails, so the tests above
    would catch a wrong bound."""
    from edgecnn.codegen import planner

    path = models[case]
    x = verify.random_inputs((1, *next(c for c in CASES if c.name == case).input_shape), 30, seed=1)
    ref = verify.litert_reference(path, x)
    results = []
    for d in (0, delta):
        monkeypatch.setattr(planner, "plan", _plan_with_pair_at(kernel, d))
        gen = generate(path, tmp_path / f"c{d}", "m")
        results.append(np.array_equal(_run(gen, tmp_path / f"h{d}", x), ref))
    assert results == [True, False]


def test_residual_sum_is_written_over_its_skip(models, tmp_path):
    gen = generate(models["residual_blocks"], tmp_path / "c", "m")
    call = re.search(r"ec_rowchain_add_s8\(&m_\w+, ([^,]+), ([^,]+), ([^,]+), ", (gen.out_dir / "m_model.c").read_text())
    assert call and call.group(1) == call.group(2) == call.group(3) and "m_arena" in call.group(1), call


def test_arena_declared_is_the_planned_one_and_holds_every_buffer(models, tmp_path):
    gen = generate(models["residual_blocks"], tmp_path / "c", "m")
    src = (gen.out_dir / "m_model.c").read_text()
    header = (gen.out_dir / "m_model.h").read_text()
    assert f"static int8_t m_arena[{gen.arena_bytes}]" in src
    assert f"#define M_ARENA_BYTES {gen.arena_bytes}\n" in header
    assert 0 < max(i.live_arena_bytes for i in gen.call_infos) <= gen.arena_bytes  # overlaps counted once
    for info in gen.call_infos:
        if info.output_place == "arena":
            assert info.output_offset + info.output_bytes <= gen.arena_bytes
    for off in map(int, re.findall(r"m_arena \+ (\d+)", src)):
        assert off < gen.arena_bytes


def test_pixel_batch_size_agrees_with_the_kernels():
    text = (KERNELS_DIR / "ec_kernels.h").read_text()
    n = int(re.search(r"#define EC_PIXELS_MAX (\d+)", text).group(1))
    assert overlap.EC_PIXELS_MAX == fusion.EC_PIXELS_MAX == n
