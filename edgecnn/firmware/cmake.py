"""The `cmake` build target: the C engine as a CMake library, a toolchain file, an example app.

`<out>/cmake/<name>/` is a folder the user copies into a project:
`add_subdirectory(<name>)` + `target_link_libraries(app PRIVATE <name>_model)`.
At build time the example is configured and built with cmake for the host
(gcc, warnings as errors) and run: its scores on the embedded sample images
must equal the c-host engine's on the same images; with arm-none-eabi-gcc
installed it is also built for a Cortex-M4 with the toolchain file.
"""

import os
import tempfile
from pathlib import Path

import numpy as np

from edgecnn.console import console
from edgecnn.firmware import common

TOOLCHAIN = "cmake/arm-none-eabi-cortex-m4.cmake"
FLOAT_ABI_DEFAULT = "hard"  # Cortex-M4F boards build with the FPU on; the engine itself uses no float
KERNEL_SETS = ("SIMD", "PORTABLE", "REFERENCE", "SIMD_EMULATED")
STRICT_C_FLAGS = "-Wall -Wextra -Wpedantic -Werror"


def write(c_dir: Path, out: Path, cname: str, x: np.ndarray, y: np.ndarray, provenance: str) -> Path:
    """Write out/<cname>/ (library, toolchain file, example, README) from the engine in c_dir; returns it."""
    lib = out / cname
    names = common.copy_engine(c_dir, lib / "src")
    values = {"name": cname, "NAME": cname.upper(), "provenance": common.comment(provenance, "#"),
              "sources": "".join(f"  src/{n}\n" for n in names if n.endswith(".c")),
              "float_abi": FLOAT_ABI_DEFAULT}
    c_values = {**values, "provenance": provenance}
    files = {
        lib / "CMakeLists.txt": common.render("cmake/CMakeLists.txt.in", values),
        lib / TOOLCHAIN: common.render("cmake/arm-none-eabi-cortex-m4.cmake", values),
        lib / "example" / "CMakeLists.txt": common.render("cmake/example_CMakeLists.txt.in", values),
        lib / "example" / "main.c": common.render("cmake/example_main.c.in", c_values),
        lib / "example" / f"{cname}_samples.h": common.samples_header(cname, x, y, provenance),
        lib / "README.md": common.render("cmake/README.md.in", values),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return lib


def build_example(lib: Path, build_dir: Path, *, cortex_m4: bool = False, float_abi: str | None = None,
                  options: dict[str, str] | None = None, c_flags: str = STRICT_C_FLAGS) -> Path:
    """Configure and build lib/example with cmake; returns the example executable (or ELF)."""
    cmake = common.tool("cmake", "the cmake export is built with cmake")
    lib = Path(lib).resolve()  # cmake reads the toolchain file's path relative to the build directory
    # CFLAGS (not -DCMAKE_C_FLAGS, which would replace the toolchain file's CPU flags) adds the warnings.
    cmd = [cmake, "-S", lib / "example", "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"]
    if cortex_m4:
        common.tool("arm-none-eabi-gcc", "the Cortex-M4 build of the cmake export needs it")
        cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={lib / TOOLCHAIN}")
        if float_abi:
            cmd.append(f"-DEC_FLOAT_ABI={float_abi}")
    cmd += [f"-D{k}={v}" for k, v in (options or {}).items()]
    env = {**os.environ, "CFLAGS": c_flags}
    common.run(cmd, env=env)
    common.run([cmake, "--build", build_dir], env=env)
    return Path(build_dir) / f"{lib.name}_example"


def host_scores(lib: Path, build_dir: Path, n_outputs: int, **kw) -> np.ndarray:
    """Build the example for the host, run it; its int8 scores (N samples, n_outputs)."""
    exe = build_example(lib, build_dir, **kw)
    return common.parse_scores(common.run([exe], timeout_s=120), n_outputs)


def build_target(ctx) -> dict:
    """Write cmake/<name>/, build it for the host (and a Cortex-M4), compare with the c-host engine."""
    import shutil

    from edgecnn.codegen import hostrun
    from edgecnn.convert.runners import to_int8
    from edgecnn.convert.verify import require

    gen = ctx.extra["c_generate"]
    x, y, x_model = common.sample_pixels(ctx)
    lib = write(ctx.out_dir / "c", ctx.out_dir / "cmake", ctx.cname, x, y, ctx.provenance)
    k = int(np.prod(gen.output_shape))
    with tempfile.TemporaryDirectory(prefix="edgecnn-cmake-") as tmp:
        got = host_scores(lib, Path(tmp) / "host", k)
        ref = hostrun.run_host(hostrun.compile_host(gen, Path(tmp) / "c" / "host"), to_int8(x_model, ctx.q_in), k).outputs
        check = common.exact(f"cmake example (host gcc, -Werror) vs the c-host engine on {len(x)} sample images",
                             got, ref)
        m4 = "skipped: arm-none-eabi-gcc not found on PATH"
        if shutil.which("arm-none-eabi-gcc"):
            elf = build_example(lib, Path(tmp) / "m4", cortex_m4=True)
            m4 = f"built {elf.name} with {TOOLCHAIN} (EC_FLOAT_ABI={FLOAT_ABI_DEFAULT}), -Werror: clean"
    console.print(f"cmake export: host example {'==' if check['passed'] else '!='} c-host engine; Cortex-M4: {m4}")
    return {"cmake": {"dir": f"cmake/{ctx.cname}", "library": f"{ctx.cname}_model", "toolchain_file": TOOLCHAIN,
                      "kernel_sets": list(KERNEL_SETS), "cortex_m4_build": m4},
            "verification": {"cmake_example_vs_c_host": require(check)}}
