"""The common ops (ADD/SUB/MUL with broadcasting, MAXIMUM/MINIMUM, standalone RELU/RELU6/LEAKY_RELU,
CONCATENATION, 3-D PAD, RESIZE_NEAREST_NEIGHBOR, TRANSPOSE, STRIDED_SLICE, PRELU, REDUCE_MAX) and the
folding of a batch-dynamic Flatten's shape arithmetic, on seeded one-family Keras models
(edgecnn.codegen.testmodels.COMMON_CASES) converted to int8 by TF's converter.

Each model: one host compile, N_INPUTS seeded random inputs (extremes included), the engine against
LiteRT's reference kernels (BUILTIN_REF) and TFLM's interpreter, within the op table's tolerance
(0 LSB for all of them); the plain reference kernels (-DEC_REFERENCE_KERNELS) give the same bytes.
"""

import shutil

import numpy as np
import pytest

from edgecnn.codegen import generate, hostrun, testmodels, verify
from edgecnn.codegen.ops import OPS
from edgecnn.codegen.tflite_reader import read_tflite

N_INPUTS = 100
FIXED_POINT_FC = ("-DEC_FC_FIXED_POINT_REQUANT",)  # TFLM's FULLY_CONNECTED rounding (see docs/c_engine.md)
# Where TFLM's arithmetic is not LiteRT's, the output channels it affects (the rest must still be exact).
# TFLM's int8 RELU6 clamps the raw input to [input zero point, quantized 6 in the input scale] and
# ignores the output's quantization; LiteRT (and the engine) rescale to the output's scale and zero
# point. The converter gives this RELU6 the concatenation's output quantization, so TFLM differs.
TFLM_DIFFERS = {"activations_concat": ("RELU6", slice(3, 6))}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
# QEMU runs (a few seconds each): the kernel families, hard float; the matrix model soft float too.
QEMU_CASES = [(c, "hard") for c in testmodels.COMMON_CASES
              if c.name in ("broadcast_add_sub_mul", "activations_concat", "mean_axes", "tanh", "resize_transpose_slice")]
QEMU_CASES += [(testmodels.MATRIX_OPS_CASE, "soft")]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("common_op_models")
    return {c.name: testmodels.build_case(c, d, seed=len(c.name)) for c in testmodels.COMMON_CASES}


@pytest.mark.parametrize("case", testmodels.COMMON_CASES, ids=lambda c: c.name)
def test_common_op_matches_litert_reference_and_tflm(case, models, tmp_path):
    path = models[case.name]
    ops = [op.opcode for op in read_tflite(path).operators]
    assert set(case.ops) <= set(ops), f"the converter emitted {ops}, expected {case.ops}"
    gen = generate(path, tmp_path / "c", "m")
    x = verify.random_inputs((1, *case.input_shape), N_INPUTS, seed=len(case.name))
    n_out = int(np.prod(gen.output_shape))
    c = hostrun.run_host(hostrun.compile_host(gen, tmp_path / "host" / "m", "gcc", "-O1"), x, n_out).outputs
    ref = verify.litert_reference(path, x)
    tol = max(OPS[op].tolerance_lsb for op in gen.ops)
    vs_ref = verify.compare("litert_builtin_ref", c, ref, tol)
    c_fx = c
    if "FULLY_CONNECTED" in ops:
        c_fx = hostrun.run_host(hostrun.compile_host(gen, tmp_path / "fx" / "m", "gcc", "-O1", FIXED_POINT_FC),
                                x, n_out).outputs
    tflm = verify.tflm_reference(path, x)
    vs_tflm = verify.compare("tflm", c_fx, tflm, tol)
    print(f"{case.name} {ops} -> calls {list(gen.calls)}: {vs_ref.line()}; {vs_tflm.line()}")
    assert vs_ref.passed and vs_ref.max_abs_diff <= tol, vs_ref.line()
    if case.name in TFLM_DIFFERS:
        op, channels = TFLM_DIFFERS[case.name]
        keep = np.ones(gen.output_shape[-1], bool)
        keep[channels] = False
        shape = (N_INPUTS, -1, gen.output_shape[-1])
        other = verify.compare("tflm (other channels)", c_fx.reshape(shape)[..., keep], tflm.reshape(shape)[..., keep])
        print(f"  TFLM's {op} differs (stated reason in TFLM_DIFFERS); {other.line()}")
        assert op in ops and other.max_abs_diff == 0, other.line()
    else:
        assert vs_tflm.passed and vs_tflm.max_abs_diff <= tol, vs_tflm.line()
    exe_ref = hostrun.compile_host(gen, tmp_path / "ref" / "m", "gcc", "-O1", ("-DEC_REFERENCE_KERNELS",))
    assert np.array_equal(hostrun.run_host(exe_ref, x, n_out).outputs, c)
    assert len({r.tobytes() for r in ref}) > N_INPUTS // 2, "outputs barely vary: the check would prove little"
    if case.dynamic_batch:  # the converter's SHAPE -> STRIDED_SLICE -> PACK chain was folded away
        assert {"SHAPE", "PACK"} <= set(ops) and not {"SHAPE", "PACK", "STRIDED_SLICE"} & set(gen.ops), gen.ops


@pytest.mark.parametrize("case,float_abi", QEMU_CASES, ids=lambda v: getattr(v, "name", v))
def test_common_ops_on_cortex_m4_under_qemu(case, float_abi, models, tmp_path):
    """The common-op kernels on QEMU's Cortex-M4 (hard float with the FPU on, and soft float):
    every output byte equals the host engine's (plain reference kernels) on 12 inputs."""
    from edgecnn.codegen import qemu

    missing = qemu.missing_tools()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    gen = generate(models[case.name], tmp_path / "c", "m")
    x = verify.random_inputs((1, *case.input_shape), 12, seed=len(case.name))
    exe = hostrun.compile_host(gen, tmp_path / "ref" / "m", "gcc", "-O1", ("-DEC_REFERENCE_KERNELS",))
    host = hostrun.run_host(exe, x, int(np.prod(gen.output_shape))).outputs
    rep = qemu.check(gen, x, host, tmp_path / "fw", timeout_s=120, float_abi=float_abi)
    print(f"{case.name} ({float_abi} float): {rep.instructions_per_inference} instructions per inference")
    assert rep.passed and rep.n_images == len(x), rep.log[-1500:]
