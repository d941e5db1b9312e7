"""Runtimes that run the generated C engine: compiled for the host, and on an emulated Cortex-M4.

Filled in against the C engine's generated API (`<build>/c/`); until a build has
one, both rows are skipped with the reason.
"""

from edgecnn.bench.base import Runtime
from edgecnn.bench.builddir import BuildDir

NO_ENGINE = "no C engine in this build (build with --target c)"


class CHost(Runtime):
    name = "c-host"
    description = "generated C engine, gcc -O3 for the host, timed in-process with a monotonic clock"
    precision = "int8"
    artifact = "c"
    tools = ("gcc",)
    latency_source = "clock_gettime(CLOCK_MONOTONIC) around one call inside the compiled harness"

    def available(self, build: BuildDir) -> str | None:
        if not build.artifacts_under("c/"):
            return NO_ENGINE
        return super().available(build)


class CCortexM4(Runtime):
    name = "c-cortex-m4"
    description = "generated C engine, arm-none-eabi-gcc for Cortex-M4, run in QEMU: instructions, flash, RAM"
    precision = "int8"
    artifact = "c"
    tools = ("arm-none-eabi-gcc", "qemu-system-arm")
    latency_source = None

    def available(self, build: BuildDir) -> str | None:
        if not build.artifacts_under("c/"):
            return NO_ENGINE
        return super().available(build)
