"""The C engine end to end: host references, sanitizers, compilers, Cortex-M4 under QEMU.

The models are the shipped ones (package data: MNIST, and all three in the slow
runs), converted by the project's int8 conversion (edgecnn.convert). Heavy runs
(full test sets, the CLI build) are marked slow.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest

from edgecnn.codegen import generate, hostrun, qemu, verify
from edgecnn.paths import shipped_model_dir
from edgecnn.samples import calibration_data, evaluation_data

FIXED_POINT_FC = ("-DEC_FC_FIXED_POINT_REQUANT",)
SIMD_EMULATED = ("-DEC_SIMD_EMULATE",)  # the SIMD kernels on the host (C emulation of the DSP instructions)
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def _need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _int8(dataset: str, tmp):
    """The shipped model (committed package data, so its absence is a failure) converted to int8."""
    from edgecnn.convert.quantize import load_keras, to_int8_tflite

    shipped = shipped_model_dir(dataset) / "model.keras"
    assert shipped.is_file(), f"shipped {dataset} model missing from this checkout: {shipped}"
    calib, _ = calibration_data(dataset, 500, seed=0)
    path = tmp / f"{dataset}_int8.tflite"
    path.write_bytes(to_int8_tflite(load_keras(shipped), calib.astype("float32") / 255.0))
    return path


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """(int8 .tflite path, generated engine, default host exe, fixed-point-FC host exe)."""
    _need("gcc")
    tmp = tmp_path_factory.mktemp("c_engine_mnist")
    path = _int8("mnist", tmp)
    gen = generate(path, tmp / "c", "mnist", labels=[str(i) for i in range(10)])
    exe = hostrun.compile_host(gen, tmp / "host", "gcc", "-O2")
    exe_fx = hostrun.compile_host(gen, tmp / "fixed" / "host", "gcc", "-O2", FIXED_POINT_FC)
    return path, gen, exe, exe_fx


def _pixels_to_int8(x_uint8: np.ndarray) -> np.ndarray:
    # The models take pixel / 255 with int8 scale 1/255 and zero point -128: exactly pixel - 128.
    return (x_uint8.astype(np.int16) - 128).astype(np.int8)


def test_mnist_matches_litert_reference_and_tflm(mnist):
    path, gen, exe, exe_fx = mnist
    assert gen.input_scale == pytest.approx(1 / 255) and gen.input_zero_point == -128
    ev = evaluation_data("mnist", full=False)
    x = np.concatenate([verify.random_inputs(gen.input_shape, 1000, seed=0), _pixels_to_int8(ev.x)])
    c = hostrun.run_host(exe, x, 10).outputs
    c_fx = hostrun.run_host(exe_fx, x, 10).outputs
    ref, tflm = verify.litert_reference(path, x), verify.tflm_reference(path, x)
    results = [verify.compare("litert_builtin_ref", c, ref), verify.compare("tflm", c_fx, tflm),
               verify.compare("tflm (default build, informative)", c, tflm),
               verify.compare("litert_builtin_ref (TFLM itself, informative)", tflm, ref)]
    for r in results:
        print(r.line())
    assert results[0].passed and results[1].passed
    # On the real images the engine is as accurate as LiteRT's reference kernels.
    n = len(ev.y)
    acc_c, acc_ref = (c[-n:].argmax(1) == ev.y).mean(), (ref[-n:].argmax(1) == ev.y).mean()
    print(f"top-1 on {ev.description}: C {acc_c:.4f}, LiteRT reference {acc_ref:.4f}")
    assert acc_c == acc_ref


@pytest.mark.parametrize("kernels", [(), SIMD_EMULATED], ids=["portable", "simd_emulated"])
def test_mnist_sanitizers_clean(mnist, tmp_path, kernels):
    path, gen, exe, _ = mnist
    x = verify.random_inputs(gen.input_shape, 1000, seed=0)
    asan = hostrun.compile_host(gen, tmp_path / "asan", "gcc", "-O2", (*hostrun.SANITIZE, *kernels))
    env_out = hostrun.run_host(asan, x, 10).outputs  # raises on any ASan/UBSan report (no recovery)
    assert np.array_equal(env_out, hostrun.run_host(exe, x, 10).outputs)


@pytest.mark.parametrize("compiler,flags", [
    ("gcc", ["-O2"]), ("clang", ["-O2"]),
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-Os"]),
])
def test_mnist_compiles_warning_free(mnist, tmp_path, compiler, flags):
    _need(compiler)
    _, gen, _, _ = mnist
    # On the Cortex-M4 the default build is the SIMD kernels; on the host they build with the emulation.
    for extra in ([], list(FIXED_POINT_FC), ["-DEC_NO_SIMD"] if "arm" in compiler else list(SIMD_EMULATED)):
        for src in gen.sources:
            proc = subprocess.run([compiler, *STRICT, *flags, *extra, "-c", str(src), "-o", str(tmp_path / "x.o")],
                                  capture_output=True, text=True)
            assert proc.returncode == 0 and proc.stderr == "", f"{compiler} {src.name}: {proc.stderr}"


def test_no_floats_or_heap_at_inference(mnist, tmp_path):
    """Soft-float Cortex-M objects of the engine call no float helper and no allocator."""
    _need("arm-none-eabi-gcc", "arm-none-eabi-nm")
    _, gen, _, _ = mnist
    undefined = set()
    for src in gen.sources:
        obj = tmp_path / f"{src.stem}.o"
        subprocess.run(["arm-none-eabi-gcc", *STRICT, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft", "-Os",
                        "-DEC_NO_FLOAT", "-c", str(src), "-o", str(obj)], check=True)
        nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
        undefined |= {line.split()[-1] for line in nm.splitlines() if line.strip()}
    float_helpers = {s for s in undefined if s.startswith(("__aeabi_f", "__aeabi_d", "__aeabi_i2", "__aeabi_ui2",
                                                            "__aeabi_l2", "__aeabi_ul2"))}
    heap = undefined & {"malloc", "calloc", "realloc", "free"}
    assert not float_helpers and not heap, (float_helpers, heap)
    # Dependency-free: nothing outside the engine but what the compiler itself may emit.
    assert undefined - {s for s in undefined if s.startswith("ec_")} <= {"memcpy", "memset"}, undefined


def test_no_recursion(mnist, tmp_path):
    """The call graph gcc reports (-fcallgraph-info) over all engine sources has no cycle."""
    _need("arm-none-eabi-gcc")
    _, gen, _, _ = mnist
    edges: dict[str, set[str]] = {}
    for src in gen.sources:
        # -O0: no tail call turned into a loop hides source-level recursion.
        subprocess.run(["arm-none-eabi-gcc", *STRICT, "-mcpu=cortex-m4", "-mthumb", "-O0", "-DEC_NO_FLOAT",
                        "-fcallgraph-info", "-c", str(src), "-o", str(tmp_path / f"{src.stem}.o")],
                       check=True, cwd=tmp_path)
        text = (tmp_path / f"{src.stem}.ci").read_text()
        for a, b in re.findall(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            edges.setdefault(a, set()).add(b)
    assert edges, "gcc reported no call edges"
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 1:
            raise AssertionError(f"recursion: {' -> '.join(path + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in edges.get(node, ()):
            visit(nxt, path + [node])
        state[node] = 2

    for node in list(edges):
        visit(node, [])


@pytest.mark.parametrize("cflags,n_images,float_abi", [((), 100, "soft"), (("-DEC_NO_SIMD",), 20, "soft"),
                                                      ((), 20, "hard")], ids=["smlad", "plain_c", "smlad_hard_float"])
def test_mnist_on_cortex_m4_under_qemu(mnist, tmp_path, cflags, n_images, float_abi):
    """Test images (+ all -128, all 127, alternating extremes) on QEMU's Cortex-M4, SIMD (SMLAD) and
    plain C kernels, soft float and with the FPU on (-mfloat-abi=hard -mfpu=fpv4-sp-d16, as most M4F
    boards build); every output must equal the host's (plain reference kernels) byte for byte, and
    the SIMD kernels must stay within 2 instructions per MAC."""
    _need(*qemu.TOOLS)
    _, gen, _, _ = mnist
    ev = evaluation_data("mnist", full=False)
    x = np.concatenate([verify.random_inputs(gen.input_shape, 4, seed=0), _pixels_to_int8(ev.x[:n_images])])
    ref_exe = hostrun.compile_host(gen, tmp_path / "ref" / "host", "gcc", "-O2", ("-DEC_REFERENCE_KERNELS",))
    host = hostrun.run_host(ref_exe, x, 10).outputs
    rep = qemu.check(gen, x, host, tmp_path / "fw", timeout_s=600, cflags=cflags, float_abi=float_abi)
    print({k: v for k, v in rep.as_dict().items() if k != "elf"})
    assert rep.passed, rep.log[-2000:]
    assert rep.n_images == len(x) and rep.predictions == [int(v) for v in host.astype(np.int32).argmax(1)]
    assert rep.instructions_min > rep.macs  # at least one instruction per MAC: the count is real
    if not cflags:  # the SIMD kernels' target (instruction counts are deterministic under -icount)
        assert rep.instructions_per_mac <= 2.0, f"{rep.instructions_per_mac} Cortex-M4 instructions per MAC > 2"
    assert rep.flash_bytes <= 32 * 1024, f"MNIST engine flash {rep.flash_bytes} B > 32 KiB"
    assert 0 < rep.stack_bytes_used < 4096


def test_c_build_target_on_the_sample(mnist, tmp_path):
    """The `c` target function on a BuildContext, as `edgecnn build --target c` calls it."""
    from edgecnn.convert import targets

    assert "c" in targets.TARGETS, "the c target is not registered in edgecnn.convert.targets"
    path, gen, _, _ = mnist
    out = tmp_path / "build"
    out.mkdir()
    (out / "model_int8.tflite").write_bytes(path.read_bytes())
    ev = evaluation_data("mnist", full=False)
    int8_out = verify.litert_reference(path, _pixels_to_int8(ev.x[:200]))
    q = type("Q", (), {"scale": gen.input_scale, "zero_point": gen.input_zero_point})()
    ctx = targets.BuildContext(out_dir=out, name="mnist", cname="mnist", dataset="mnist", model=None,
                               model_sha256="0" * 64, tflite_int8=path.read_bytes(), q_in=q, q_out=None, ops=[],
                               labels=[str(i) for i in range(10)], eval_x=ev.x[:200].astype("float32") / 255.0,
                               eval_y=ev.y[:200],
                               eval_description="200 shipped sample images", keras_out=None, int8_out=int8_out,
                               provenance="", command="edgecnn build --target c")
    entry = targets.build_function("c")(ctx)
    assert (out / "c" / "mnist_model.h").is_file() and (out / "c" / "mnist_model.c").is_file()
    c = entry["c_engine"]
    assert c["arena_bytes"] == gen.arena_bytes and c["weights_bytes"] == gen.weights_bytes
    v = entry["verification"]
    for key in ("c_vs_litert_ref_eval", "c_vs_litert_ref_random", "c_fixed_point_fc_vs_tflm_random"):
        assert v[key]["passed"] is True and v[key]["max_abs_diff_lsb"] <= 1, (key, v[key])
    assert v["c_vs_litert_default_eval"]["passed"] is None  # informative only


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist", "cifar10"])
def test_full_test_set_matches_litert_reference(dataset, tmp_path):
    """Every image of the test set (when cached, else the sample), C vs LiteRT BUILTIN_REF."""
    _need("gcc")
    path = _int8(dataset, tmp_path)
    gen = generate(path, tmp_path / "c", dataset)
    exe = hostrun.compile_host(gen, tmp_path / "host", "gcc", "-O2")
    ev = evaluation_data(dataset)
    from edgecnn.convert.runners import to_int8

    x = to_int8(ev.x, type("Q", (), {"scale": gen.input_scale, "zero_point": gen.input_zero_point})())
    cmp = verify.compare("litert_builtin_ref", hostrun.run_host(exe, x, 10).outputs, verify.litert_reference(path, x))
    print(f"{dataset} (shipped model) on {ev.description}: {cmp.line()}")
    assert cmp.passed


@pytest.mark.slow
def test_cli_build_target_c(tmp_path):
    """`edgecnn build --target c` writes c/ and a c_engine manifest entry (shipped MNIST model)."""
    model = shipped_model_dir("mnist") / "model.keras"
    assert model.is_file(), f"the shipped MNIST model is missing: {model}"
    out = tmp_path / "mnist"
    proc = subprocess.run(["edgecnn", "build", "--model", str(model), "--target", "c", "--out", str(out)],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    m = json.loads((out / "manifest.json").read_text())
    assert m["c_engine"]["arena_bytes"] > 0 and (out / "c" / "mnist_model.c").is_file()
    assert all(m["verification"][k]["passed"] for k in ("c_vs_litert_ref_eval", "c_fixed_point_fc_vs_tflm_random"))
