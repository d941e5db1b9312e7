"""Per-op checks of the C engine: one-layer int8 models against real runtimes.

Each case (edgecnn.codegen.testmodels: odd sizes, SAME/VALID, strides 1 and 2,
depth multipliers, per-channel and per-tensor scales) is converted by the
TFLite converter, generated, compiled with gcc and run on 1,000 seeded random
int8 inputs (incl. all -128, all 127, alternating extremes):
- against LiteRT's reference kernels (BUILTIN_REF) within the op table's tolerance;
- built with TFLM's fixed-point FULLY_CONNECTED rounding, against the TFLM interpreter, within 1 LSB;
- fused (pixel-by-pixel blocks) against unfused, and the engine's kernels against the
  plain reference kernels (-DEC_REFERENCE_KERNELS): bit-identical;
- the SIMD kernels (ec_conv_simd.c, ec_dw_simd.c, ec_pool.c's average) on the host through the C emulation of their
  DSP instructions (-DEC_SIMD_EMULATE, under ASan/UBSan), also with their fast requantization off, and
  under QEMU on a Cortex-M4 with the real instructions: bit-identical to the reference kernels.
"""

import re
import shutil

import numpy as np
import pytest

from edgecnn.codegen import generate, hostrun, testmodels, verify
from edgecnn.codegen.ops import OPS
from edgecnn.codegen.tflite_reader import read_tflite
from edgecnn.errors import EdgecnnError

N_INPUTS = 1000
FIXED_POINT_FC = ("-DEC_FC_FIXED_POINT_REQUANT",)
REFERENCE_KERNELS = ("-DEC_REFERENCE_KERNELS",)
SIMD_EMULATED = ("-DEC_SIMD_EMULATE",)
N_QEMU_INPUTS = 12

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("op_models")
    return {c.name: testmodels.build_case(c, d, seed=i) for i, c in enumerate(testmodels.CASES)}


def _run(path, out_dir, fuse: bool, x: np.ndarray, extra=(), requant_32: bool = True) -> np.ndarray:
    """Outputs (N, K) of the generated engine; requant_32=False clears every conv layer's
    requant_32 flag so that the SIMD kernels take their general requantization path."""
    gen = generate(path, out_dir / f"{'fused' if fuse else 'plain'}{'' if requant_32 else '_rq64'}", "m", fuse=fuse)
    if not requant_32:
        src = gen.out_dir / "m_model.c"
        src.write_text(src.read_text().replace(".requant_32 = 1,", ".requant_32 = 0,"))
    exe = hostrun.compile_host(gen, out_dir / f"h_{int(fuse)}_{int(requant_32)}_{'_'.join(extra)}", "gcc", "-O1", extra)
    return hostrun.run_host(exe, x, int(np.prod(gen.output_shape))).outputs


def _has_conv(case: testmodels.Case) -> bool:
    return bool({"CONV_2D", "DEPTHWISE_CONV_2D"} & set(case.ops))


def _has_simd_kernel(case: testmodels.Case) -> bool:
    return _has_conv(case) or bool({"FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D"} & set(case.ops))


@pytest.mark.parametrize("case", testmodels.CASES, ids=lambda c: c.name)
def test_op_matches_litert_reference_and_tflm(case, models, tmp_path):
    path = models[case.name]
    ops = [op.opcode for op in read_tflite(path).operators]
    assert set(case.ops) <= set(ops), f"the converter emitted {ops}, expected {case.ops}"
    x = verify.random_inputs((1, *case.input_shape), N_INPUTS, seed=len(case.name))
    plain = _run(path, tmp_path, False, x)
    fused = _run(path, tmp_path, True, x)
    ref = verify.litert_reference(path, x)
    tol = max(OPS[op].tolerance_lsb for op in ops)
    vs_ref = verify.compare("litert_builtin_ref", plain, ref, tol)
    fixed = _run(path, tmp_path, False, x, FIXED_POINT_FC) if "FULLY_CONNECTED" in ops else plain
    vs_tflm = verify.compare("tflm", fixed, verify.tflm_reference(path, x))
    print(f"{case.name} {ops}: {vs_ref.line()}; {vs_tflm.line()}")
    assert vs_ref.passed, vs_ref.line()
    assert vs_tflm.passed, vs_tflm.line()
    assert np.array_equal(plain, fused), "fused blocks changed the output"
    reference_kernels = _run(path, tmp_path, True, x, REFERENCE_KERNELS)
    assert np.array_equal(fused, reference_kernels), "kernels differ from the reference ones"
    # With ASan/UBSan: the run fails on any memory or undefined-behaviour error of the SIMD paths.
    assert np.array_equal(_run(path, tmp_path, True, x, SIMD_EMULATED + hostrun.SANITIZE), reference_kernels), \
        "SIMD kernels (emulated) differ from the reference ones"
    if _has_conv(case):
        assert np.array_equal(_run(path, tmp_path, True, x, SIMD_EMULATED, requant_32=False), reference_kernels), \
            "SIMD kernels (emulated, 64-bit requantization) differ from the reference ones"
    # The inputs reach the extremes, and the outputs are not constant (a dead model proves nothing).
    assert len({r.tobytes() for r in ref}) > N_INPUTS // 2


def test_requant_32_flag_is_set_where_it_holds(models, tmp_path):
    """The generator enables the SMMULR requantization on these models' convs (else the
    fast path would go untested on real layers)."""
    gen = generate(models["conv_c8_same_oc7"], tmp_path / "c", "m")
    assert ".requant_32 = 1," in (gen.out_dir / "m_model.c").read_text()


@pytest.mark.parametrize("case", [c for c in testmodels.CASES if _has_simd_kernel(c)], ids=lambda c: c.name)
def test_simd_kernels_on_cortex_m4_match_reference_kernels(case, models, tmp_path):
    """The SIMD kernels with the real DSP instructions (QEMU mps2-an386, -Os): every output byte
    equals the host's reference kernels on N_QEMU_INPUTS inputs (extremes included)."""
    from edgecnn.codegen import qemu

    missing = qemu.missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    x = verify.random_inputs((1, *case.input_shape), N_QEMU_INPUTS, seed=len(case.name))
    host = _run(models[case.name], tmp_path, True, x, REFERENCE_KERNELS)
    gen = generate(models[case.name], tmp_path / "arm", "m")
    rep = qemu.check(gen, x, host, tmp_path / "fw", timeout_s=120)
    print(f"{case.name}: {rep.instructions_per_inference} instructions per inference, {rep.macs} MACs")
    assert rep.passed and rep.n_images == N_QEMU_INPUTS, rep.log[-1500:]


def test_unsupported_op_fails_generation_naming_it(tmp_path):
    path = testmodels.build_case(testmodels.UNSUPPORTED, tmp_path)
    with pytest.raises(EdgecnnError) as err:
        generate(path, tmp_path / "c", "m")
    msg = str(err.value)
    named = msg.split("no kernel for ", 1)[1].split(" in ", 1)[0].split(", ")
    assert set(testmodels.UNSUPPORTED.ops) <= set(named) and "supported ops: ADD" in msg, msg
    assert not (tmp_path / "c").exists()


def test_generated_files_carry_provenance_guards_and_named_aligned_weights(models, tmp_path):
    gen = generate(models["ds_block_pool"], tmp_path / "c", "tiny-net", command="edgecnn build --target c")
    assert gen.name == "tiny_net"
    for f in gen.files:
        text = f.read_text()
        assert text.startswith("/* ") and "Generated by edgecnn" in text.split("*/")[0], f.name
        assert "command: edgecnn build --target c" in text.split("*/")[0] and gen.model_sha256 in text, f.name
        if f.suffix == ".h":
            guard = re.search(r"#ifndef (\w+_H)\n#define \1\n", text)
            assert guard and text.rstrip().endswith(f"#endif /* {guard.group(1)} */"), f.name
    src = (tmp_path / "c" / "tiny_net_model.c").read_text()
    arrays = re.findall(r"static const (int\d+_t) (\w+)\[(\d+)\] EC_ALIGN16 =", src)
    assert arrays and all(re.fullmatch(r"tiny_net_l\d\d_\w+_(weights|bias|mult|shift|real_mant|real_exp)", n)
                          for _, n, _ in arrays)
    assert "malloc" not in src and "float" not in src.split("#ifndef EC_NO_FLOAT")[0]
    header = (tmp_path / "c" / "tiny_net_model.h").read_text()
    assert f"#define TINY_NET_ARENA_BYTES {gen.arena_bytes}\n" in header
    assert "int tiny_net_invoke(const int8_t *input, int8_t *output);" in header


def test_generation_is_deterministic(models, tmp_path):
    a = generate(models["softmax"], tmp_path / "a", "m")
    b = generate(models["softmax"], tmp_path / "b", "m")
    assert [p.read_bytes() for p in a.files] == [p.read_bytes() for p in b.files]


@pytest.mark.parametrize("oc,taps", [(1, 9), (2, 16), (7, 27), (6, 20), (67, 576)])
def test_conv_weight_layout_is_the_index_ec_conv_row_reads(oc, taps):
    """conv_weight_layout puts w[o, t] where ec_conv_common.h's ec_conv_row / EC_CONV_W read it:
    (o >> 1) * 8 * groups + (t >> 2) * 8 + (o & 1) * 4 + (t & 3), zeros everywhere else."""
    from edgecnn.codegen.lowering import conv_weight_layout

    w = np.random.default_rng(oc * taps).integers(-128, 128, (oc, taps)).astype(np.int8)
    flat = conv_weight_layout(w)
    groups = (taps + 3) // 4
    assert flat.shape == ((oc + oc % 2) * 4 * groups,) and flat.dtype == np.int8
    seen = np.zeros(flat.size, bool)
    for o in range(oc):
        for t in range(taps):
            at = (o >> 1) * 8 * groups + (t >> 2) * 8 + (o & 1) * 4 + (t & 3)
            assert flat[at] == w[o, t], (o, t)
            seen[at] = True
    assert not flat[~seen].any()


@pytest.mark.parametrize("rows,depth", [(7, 45), (8, 16), (2, 22), (12, 3), (70, 36)])
def test_fc_weight_layout_is_the_index_ec_fc_params_documents(rows, depth):
    """fc_weight_layout puts w[o, d] where ec_kernels.h says the kernels read it: in a 4-row tile
    at (o & ~3) * body + (d >> 2) * 16 + (o & 3) * 4 + (d & 3), else o * body + d over the body,
    then rows * body + o * tail + (d - body)."""
    from edgecnn.codegen.lowering import fc_weight_layout

    w = np.random.default_rng(rows * depth).integers(-128, 128, (rows, depth)).astype(np.int8)
    flat = fc_weight_layout(w)
    body, quads, tail = depth & ~3, rows & ~3, depth & 3
    for o in range(rows):
        for d in range(depth):
            if d >= body:
                at = rows * body + o * tail + d - body
            elif o < quads:
                at = (o & ~3) * body + (d >> 2) * 16 + (o & 3) * 4 + (d & 3)
            else:
                at = o * body + d
            assert flat[at] == w[o, d], (o, d)
    assert flat.shape == (rows * depth,) and sorted(flat.tolist()) == sorted(w.reshape(-1).tolist())
