"""Runtimes that run the generated C engine (`<build>/c/`): on the host, and on an emulated Cortex-M4.

The host engine is compiled with -O3 together with a small harness
(harness/c_host_bench.c.in) that runs every evaluation image, then times
single-image calls inside its own process with CLOCK_MONOTONIC: one process
for all calls, so neither exec nor Python is in the per-call figure.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgecnn.bench.base import Runtime
from edgecnn.bench.builddir import BuildDir
from edgecnn.errors import EdgecnnError

NO_ENGINE = "no C engine in this build (build with --target c)"
HARNESS = Path(__file__).resolve().parent / "harness" / "c_host_bench.c.in"
HOST_CFLAGS = ("-std=c99", "-O3", "-Wall", "-Wextra")


def engine_prefix(build: BuildDir) -> str:
    """The C prefix of the generated engine: the manifest's c_engine.prefix, whose `c/<prefix>_model.h` must exist."""
    headers = [k[len("c/"):-len("_model.h")] for k in build.artifacts_under("c/")
               if k.endswith("_model.h") and k.count("/") == 1]
    prefix = (build.manifest.get("c_engine") or {}).get("prefix")
    if prefix is None and len(headers) == 1:
        prefix = headers[0]
    if prefix not in headers:
        raise EdgecnnError(f"{build.path / 'c'}: expected the engine header <prefix>_model.h for prefix {prefix!r}; "
                           f"found headers for {headers}")
    return prefix


def engine_sources(build: BuildDir) -> list[Path]:
    """Every c/*.c and c/*.h, sha256-checked (an unlisted one is refused); returns the .c files to compile."""
    on_disk = sorted(p for p in (build.path / "c").glob("*.[ch]"))
    paths = [build.artifact(str(p.relative_to(build.path))) for p in on_disk]
    return [p for p in paths if p.suffix == ".c"]


class _CEngine(Runtime):
    precision = "int8"
    artifact = "c"

    def available(self, build: BuildDir) -> str | None:
        if not build.artifacts_under("c/"):
            return NO_ENGINE
        return super().available(build)


class CHost(_CEngine):
    name = "c-host"
    description = "generated C engine, gcc -O3 for the host, timed in-process with CLOCK_MONOTONIC"
    tools = ("gcc",)
    latency_source = "clock_gettime(CLOCK_MONOTONIC) around one call inside the compiled harness (no Python)"

    def load(self, build: BuildDir, opts) -> None:
        prefix = engine_prefix(build)
        sources = engine_sources(build)
        self._tmp = Path(tempfile.mkdtemp(prefix="edgecnn-bench-c-"))
        main = self._tmp / "bench_main.c"
        main.write_text(HARNESS.read_text().replace("@n@", prefix).replace("@N@", prefix.upper()))
        self._exe = self._tmp / "bench"
        cmd = ["gcc", *HOST_CFLAGS, f"-I{build.path / 'c'}", str(main), *map(str, sources), "-o", str(self._exe)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EdgecnnError(f"gcc could not compile the C engine in {build.path / 'c'}:\n{proc.stderr.strip()}")
        self._out_size = int(np.prod(build.manifest["output"]["shape"]))

    def _harness(self, xs: np.ndarray, warmup: int, runs: int) -> tuple[np.ndarray, np.ndarray]:
        """Run the harness: (N, classes) int8 outputs and (runs,) microseconds."""
        fin, fout, flat = (self._tmp / n for n in ("in.bin", "out.bin", "lat.bin"))
        fin.write_bytes(np.ascontiguousarray(xs, dtype=np.int8).tobytes())
        cmd = [str(self._exe), str(fin), str(len(xs)), str(warmup), str(runs), str(fout), str(flat)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EdgecnnError(f"the C engine harness exited with {proc.returncode}: {proc.stderr.strip()[-500:]}")
        out = np.frombuffer(fout.read_bytes(), dtype=np.int8).reshape(len(xs), self._out_size)
        return out.copy(), np.frombuffer(flat.read_bytes(), dtype=np.int64) / 1000.0

    def outputs(self, xs: np.ndarray, tick=None) -> np.ndarray:
        out, _ = self._harness(xs, 0, 1)
        if tick is not None:
            for _ in range(len(xs)):
                tick()
        return out

    def latencies(self, xs: np.ndarray, runs: int, warmup: int, tick=None) -> np.ndarray:
        _, lat = self._harness(xs, warmup, runs)
        if tick is not None:
            for _ in range(runs):
                tick()
        return lat

    def extra(self, build: BuildDir) -> dict:
        engine = build.manifest.get("c_engine") or {}
        return {"arena_bytes": engine.get("arena_bytes"), "weights_bytes": engine.get("weights_bytes")}

    def close(self) -> None:
        if getattr(self, "_tmp", None) is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


class CCortexM4(_CEngine):
    name = "c-cortex-m4"
    description = ("generated C engine, arm-none-eabi-gcc -Os for Cortex-M4, run in QEMU mps2-an386 "
                   "(-icount): instructions, cycle bounds of an ideal zero-wait-state M4, flash, RAM; outputs checked "
                   "against c-host")
    tools = ("gcc", "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make", "timeout")
    latency_source = None  # QEMU's instruction count is deterministic, its wall clock says nothing about an MCU
    opt = "-Os"

    def load(self, build: BuildDir, opts) -> None:
        # The expected outputs come from the same engine compiled for the host.
        self._host = CHost()
        self._host.load(build, opts)
        self._n_images = opts.mcu_images
        self._engine = (engine_prefix(build), build.path / "c")
        # Kernel calls whose loads may be unaligned (their worst case gets the allowance); None:
        # a manifest from before the flag, every call.
        self._unaligned_calls = (build.manifest.get("c_engine") or {}).get("calls_not_word_aligned")
        self._report = None

    def outputs(self, xs: np.ndarray, tick=None) -> None:
        """Run the first `opts.mcu_images` images under QEMU; the firmware checks each output against c-host's, byte for byte.

        Returns None: accuracy and agreement are c-host's (the same outputs), not re-measured here.
        """
        from types import SimpleNamespace

        from edgecnn.codegen import cycles, qemu

        sub = xs[: self._n_images]
        expected = self._host.outputs(sub)
        # qemu.check reads only the engine's prefix and directory from the generator's result.
        gen = SimpleNamespace(name=self._engine[0], out_dir=self._engine[1])
        rep = qemu.check(gen, sub, expected, self._host._tmp / "cortex-m4", opt=self.opt)
        if not rep.passed:
            raise EdgecnnError(f"the C engine on Cortex-M4 (QEMU) disagrees with c-host on {rep.mismatches} of "
                               f"{rep.n_images} images; log: {self._host._tmp / 'cortex-m4' / 'qemu.log'}")
        self._report = rep
        # Cycle bounds of an ideal zero-wait-state M4 from the executed-block log of one inference.
        self._cycles = cycles.model_cycles(gen, sub[:1], expected[:1], self._host._tmp / "cortex-m4-cycles",
                                           opt=self.opt, unaligned_calls=self._unaligned_calls).per_inference()
        if tick is not None:
            for _ in range(len(xs)):
                tick()
        return None

    def latencies(self, xs: np.ndarray, runs: int, warmup: int, tick=None) -> None:
        return None

    def extra(self, build: BuildDir) -> dict:
        r = self._report
        engine = build.manifest.get("c_engine") or {}
        return {"flash_bytes": r.flash_bytes, "ram_bytes": r.ram_bytes, "arena_bytes": engine.get("arena_bytes"),
                "weights_bytes": engine.get("weights_bytes"),
                "instructions_per_inference": r.instructions_per_inference,
                **{k: v for k, v in self._cycles.items() if k.startswith("cycles_")},
                "mcu_images_checked": r.n_images, "mcu_output_mismatches_vs_c_host": r.mismatches,
                "mcu_compiler_opt": r.opt}

    def close(self) -> None:
        if getattr(self, "_host", None) is not None:
            self._host.close()
