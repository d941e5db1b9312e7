"""Compile the generated engine with a host harness and run inputs through it.

One process runs every input (the harness reads them from a file), so 1,000
inputs cost one compile and one exec.
"""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.codegen import GenerateResult
from edgecnn.errors import EdgecnnError

HARNESS = Path(__file__).resolve().parent / "harness" / "host_main.c.in"
STRICT = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")


@dataclass(frozen=True)
class HostRun:
    outputs: np.ndarray  # (N, output size) int8
    latency_us_p50: float | None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise EdgecnnError(f"{name} is not installed; the C engine's host check needs it (Debian package: {name})")
    return path


def write_harness(gen: GenerateResult, build_dir: Path) -> Path:
    sizes = (f"{gen.name.upper()}_INPUT_SIZE", f"{gen.name.upper()}_OUTPUT_SIZE", "in, out")
    if gen.multi_io:  # packed buffers (edgecnn/convert/multiio.py), one pointer per tensor into them
        from edgecnn.codegen.emit_multi import harness_args

        sizes = tuple(str(v) for v in harness_args(gen.inputs, gen.outputs))
    text = HARNESS.read_text()
    for key, value in zip(("@in_size@", "@out_size@", "@invoke_args@"), sizes):
        text = text.replace(key, value)
    text = text.replace("@n@", gen.name).replace("@N@", gen.name.upper())
    path = build_dir / f"{gen.name}_host_main.c"
    path.write_text(text)
    return path


def compile_host(gen: GenerateResult, exe: Path, compiler: str = "gcc", opt: str = "-O2",
                 extra: tuple[str, ...] = ()) -> Path:
    """Build the harness + engine with the strict warning flags; raises with the compiler's message."""
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    main = write_harness(gen, exe.parent)
    cmd = [_tool(compiler), *STRICT, opt, *extra, f"-I{gen.out_dir}", str(main), *map(str, gen.sources), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgecnnError(f"{compiler} failed on the generated engine:\n{proc.stderr.strip()}")
    return exe


def run_host(exe: Path, inputs: np.ndarray, output_size: int, repeats: int = 0, timeout_s: float = 600) -> HostRun:
    """inputs (N, input size) int8 -> outputs (N, output size) int8 from one harness process."""
    x = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
    with tempfile.TemporaryDirectory(prefix="edgecnn-host-") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(x.tobytes())
        proc = subprocess.run([str(exe), str(fin), str(fout), str(repeats)], capture_output=True, text=True,
                              timeout=timeout_s)
        if proc.returncode != 0:
            raise EdgecnnError(f"the host engine exited with {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")
        out = np.frombuffer(fout.read_bytes(), dtype=np.int8).reshape(len(x), output_size)
    p50 = None
    for line in proc.stdout.splitlines():
        if line.startswith("latency_us_p50="):
            p50 = float(line.split("=", 1)[1])
    return HostRun(out.copy(), p50)
