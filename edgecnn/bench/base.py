"""What every bench runtime provides, and the input conversions they share.

A runtime is one way of executing the built model (an interpreter, a compiled
engine, an emulated microcontroller). The orchestrator only talks to this
interface; the registry in `runtimes.py` names the implementations.
"""

import importlib.util
import shutil
from typing import ClassVar

import numpy as np

from edgecnn.bench.builddir import BuildDir
from edgecnn.bench.timing import time_calls


class Runtime:
    """One execution path for the built model.

    Subclasses set the class attributes and implement `load` and `run`; those
    that time themselves (a compiled harness, an emulator) override `outputs`
    and `latencies` instead.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    precision: ClassVar[str]  # "int8": int8 in, int8 out; "float": pixel/255 in, probabilities out
    artifact: ClassVar[str]  # path relative to the build dir of the file this runtime executes
    modules: ClassVar[tuple[str, ...]] = ()  # Python modules it needs
    tools: ClassVar[tuple[str, ...]] = ()  # executables it needs on PATH
    # "python": perf_counter_ns around one call from Python; "in-process C": clock inside the harness;
    # None: no wall-clock latency claim (emulator).
    latency_source: ClassVar[str | None] = "perf_counter_ns around one Python call (includes binding overhead)"

    def available(self, build: BuildDir) -> str | None:
        """None when this runtime can run on this build here, else the reason it cannot."""
        for mod in self.modules:
            if importlib.util.find_spec(mod.split(".")[0]) is None:
                return f"Python module {mod!r} is not installed"
        for tool in self.tools:
            if shutil.which(tool) is None:
                return f"{tool} not found on PATH"
        if not (build.path / self.artifact).exists():
            return f"{self.artifact} is not in this build"
        return None

    def load(self, build: BuildDir, opts) -> None:
        """Prepare to run: verify and open the artifact (sha256 checked by `build.artifact`).

        opts: the run's BenchOptions (threads, mcu_images, ...).
        """
        raise NotImplementedError

    def run(self, x: np.ndarray) -> np.ndarray:
        """One image (H, W, C) in this runtime's input dtype -> (classes,) output."""
        raise NotImplementedError

    def outputs(self, xs: np.ndarray, tick=None) -> np.ndarray:
        """All images (N, H, W, C) -> (N, classes), one single-image call each; `tick()` after each."""
        out = []
        for x in xs:
            out.append(self.run(x))
            if tick is not None:
                tick()
        return np.stack(out)

    def latencies(self, xs: np.ndarray, runs: int, warmup: int, tick=None) -> np.ndarray | None:
        """(runs,) microseconds per single-image call, or None when no latency is claimed."""
        return time_calls(self.run, xs, runs, warmup, tick)

    def extra(self, build: BuildDir) -> dict:
        """Runtime-specific metrics with units in the keys (flash_bytes, arena_bytes, ...)."""
        return {}

    def close(self) -> None:
        """Release temporary files or processes."""


def quantize_images(images: np.ndarray, quant: dict) -> np.ndarray:
    """uint8 pixels -> the int8 model input, using the manifest's input scale and zero point.

    images: (N, H, W, C) uint8. The float model sees pixel/255, so the int8 value
    is round(pixel / 255 / scale) + zero_point (= pixel - 128 for scale 1/255, zp -128).
    Returns (N, H, W, C) int8.
    """
    q = np.round(images.astype(np.float64) / 255.0 / float(quant["scale"])) + int(quant["zero_point"])
    return np.clip(q, -128, 127).astype(np.int8)


def float_images(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, H, W, C) -> float32 in [0, 1], the float model's input."""
    return images.astype(np.float32) / 255.0


def dequantize(values: np.ndarray, quant: dict) -> np.ndarray:
    """int8 outputs (N, classes) -> float probabilities with the manifest's output scale and zero point."""
    return (values.astype(np.float64) - int(quant["zero_point"])) * float(quant["scale"])
