"""The generated engine compiles warning-free for every Cortex-M core, float ABI, compiler and -O level.

Each cell compiles (-c) every source of two generated engines, the shipped MNIST model and a
model of the common ops (edgecnn.codegen.testmodels.MATRIX_OPS_CASE), with
`-std=c99 -Wall -Wextra -Wpedantic -Werror`, by arm-none-eabi-gcc and by clang
`--target=arm-none-eabi` on newlib's headers. Cores with the DSP extension must build the SIMD
kernel set, the others the portable set only (checked on the objects' symbols).

The default run covers every (compiler, core) at one -O level, rotating, and the hard-float Cortex-M4
(the board default that used to fail) at all four (22 cells); `-m slow` runs all 64 cells.
"""

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edgecnn.codegen import generate, testmodels

STRICT = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror")
# core id -> (flags, has the DSP extension)
CORES = {
    "cortex-m0plus": (("-mcpu=cortex-m0plus", "-mfloat-abi=soft"), False),
    "cortex-m3": (("-mcpu=cortex-m3", "-mfloat-abi=soft"), False),
    "cortex-m4-soft": (("-mcpu=cortex-m4", "-mfloat-abi=soft"), True),
    "cortex-m4-softfp": (("-mcpu=cortex-m4", "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16"), True),
    "cortex-m4-hard": (("-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"), True),
    "cortex-m7-hard": (("-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"), True),
    "cortex-m33": (("-mcpu=cortex-m33", "-mfloat-abi=soft"), True),  # +dsp is the default for -mcpu
    "cortex-m55": (("-mcpu=cortex-m55", "-mfloat-abi=hard"), True),
}
OPTS = ("-O0", "-Os", "-O2", "-O3")
COMPILERS = ("arm-none-eabi-gcc", "clang")
SIMD_SYMBOLS = {"ec_depthwise_pixels_simd", "ec_dw_batch", "ec_conv2d_pixels_simd", "ec_pointwise_pixels_simd"}


def _newlib_include() -> str | None:
    """newlib's include directory, from arm-none-eabi-gcc's own search list (sysroot is empty on Debian)."""
    proc = subprocess.run(["arm-none-eabi-gcc", "-xc", "-E", "-v", "/dev/null"], capture_output=True, text=True)
    block = proc.stderr.split("#include <...> search starts here:")[-1].split("End of search list.")[0]
    dirs = [Path(d.strip()).resolve() for d in block.splitlines() if d.strip()]
    newlib = [d for d in dirs if (d / "newlib.h").is_file()]
    return str(newlib[0]) if newlib else None


def _knows(compiler: list[str], flags: tuple[str, ...]) -> bool:
    proc = subprocess.run([*compiler, "-mthumb", *flags, "-xc", "-c", "/dev/null", "-o", "/dev/null"],
                          capture_output=True, text=True)
    return proc.returncode == 0


def _compiler(name: str) -> list[str]:
    if name == "clang":
        inc = _newlib_include()
        if inc is None:
            pytest.fail("arm-none-eabi-gcc reports no newlib include directory (libnewlib-arm-none-eabi missing)")
        return ["clang", "--target=arm-none-eabi", "-isystem", inc]
    return [name]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """Source directories of the generated MNIST and common-ops engines."""
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-nm") is None:
        pytest.skip("arm-none-eabi-gcc / arm-none-eabi-nm not installed")
    from edgecnn.convert.quantize import load_keras, to_int8_tflite
    from edgecnn.paths import shipped_model_dir
    from edgecnn.samples import calibration_data

    tmp = tmp_path_factory.mktemp("matrix")
    shipped = shipped_model_dir("mnist") / "model.keras"
    assert shipped.is_file(), f"shipped MNIST model missing from this checkout: {shipped}"
    calib = calibration_data("mnist", 100, seed=0)[0].astype("float32") / 255.0  # the model's units
    (tmp / "mnist.tflite").write_bytes(to_int8_tflite(load_keras(shipped), calib))
    mnist = generate(tmp / "mnist.tflite", tmp / "mnist", "mnist")
    ops = generate(testmodels.build_case(testmodels.MATRIX_OPS_CASE, tmp), tmp / "ops", "ops")
    return [mnist, ops]


def _cell(compiler: str, core: str, opt: str, engines, out: Path) -> str:
    """'' if every source of both engines compiles silently and the kernel set fits the core, else why not."""
    flags, dsp = CORES[core]
    cc = _compiler(compiler)
    problems = []
    for gen in engines:
        obj_dir = out / gen.name
        obj_dir.mkdir(parents=True, exist_ok=True)
        cmd = [*cc, "-mthumb", *flags, opt, *STRICT, "-DEC_NO_FLOAT", f"-I{gen.out_dir}", "-c",
               *map(str, gen.sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=obj_dir)
        if proc.returncode != 0 or proc.stderr:
            problems.append(f"{gen.name}: {proc.stderr.strip()[:1500]}")
            continue
        nm = subprocess.run(["arm-none-eabi-nm", "--defined-only", *sorted(map(str, obj_dir.glob("*.o")))],
                            capture_output=True, text=True, check=True).stdout
        simd = SIMD_SYMBOLS & set(re.findall(r" T (\w+)$", nm, re.M))
        if dsp and simd != SIMD_SYMBOLS:
            problems.append(f"{gen.name}: DSP core without the SIMD kernels (has {sorted(simd)})")
        if not dsp and simd:
            problems.append(f"{gen.name}: core without DSP built SIMD kernels {sorted(simd)}")
    return "; ".join(problems)


def _run_matrix(cells, engines, tmp_path):
    cells = [c for c in cells if shutil.which(c[0]) is not None]
    assert cells, "no compiler of the matrix is installed"
    known = {(comp, core): _knows(_compiler(comp), CORES[core][0]) for comp, core, _ in cells}
    skipped = sorted({f"{comp} {core}" for (comp, core), ok in known.items() if not ok})
    # cortex-m55 only where the toolchain knows it; every other core must be known.
    assert all("cortex-m55" in s for s in skipped), f"toolchain does not know {skipped}"
    cells = [c for c in cells if known[(c[0], c[1])]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: _cell(*c, engines, tmp_path / "_".join(c).replace("-", "")), cells))
    failed = [f"{' '.join(c)}: {r}" for c, r in zip(cells, results) if r]
    print(f"{len(cells)} cells compiled ({len(cells) * len(engines)} engine builds); not known: {skipped or 'none'}")
    assert not failed, "\n".join(failed)


# Every (compiler, core) once, the -O levels rotating over the cores (each level on several cores and
# both compilers), and the hard-float Cortex-M4 (the board default that used to fail) at every level.
DEFAULT_CELLS = sorted({(comp, core, OPTS[(i + j) % len(OPTS)]) for j, comp in enumerate(COMPILERS)
                        for i, core in enumerate(CORES)} | {(comp, "cortex-m4-hard", opt) for comp in COMPILERS for opt in OPTS})


def test_compile_matrix_representative(engines, tmp_path):
    _run_matrix(DEFAULT_CELLS, engines, tmp_path)


@pytest.mark.slow
def test_compile_matrix_full(engines, tmp_path):
    _run_matrix([(comp, core, opt) for comp in COMPILERS for core in CORES for opt in OPTS], engines, tmp_path)
