"""Compile the generated engine with a host harness and run inputs through it.

One process runs every input (the harness reads them from a file), so 1,000
inputs cost one compile and one exec.
"""

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.codegen import KERNELS_DIR, GenerateResult
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
    """Build the harness + engine with the strict warning flags; raises with the compiler's message.
    The kernel library's objects come from the object cache (kernel_objects)."""
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    main = write_harness(gen, exe.parent)
    cc, flags = _tool(compiler), (*STRICT, opt, *extra)
    objects = kernel_objects(cc, flags, gen.sources)
    inputs = [str(objects.get(p.name, p)) for p in gen.sources]  # the link order stays the sources'
    cmd = [cc, *flags, f"-I{gen.out_dir}", str(main), *inputs, "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgecnnError(f"{compiler} failed on the generated engine:\n{proc.stderr.strip()}")
    return exe


def object_cache_dir() -> Path:
    """$EDGECNN_OBJECT_CACHE, else ~/.cache/edgecnn/objects (XDG_CACHE_HOME honoured)."""
    if os.environ.get("EDGECNN_OBJECT_CACHE"):
        return Path(os.environ["EDGECNN_OBJECT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgecnn" / "objects"


def verbatim_kernels(sources) -> list[Path]:
    """The sources that are verbatim copies of the kernel library (differing only by their
    provenance comment): their objects do not depend on the model."""
    out = []
    for src in map(Path, sources):
        lib = KERNELS_DIR / src.name
        if src.suffix == ".c" and src.name.startswith("ec_") and lib.is_file() and \
                src.read_text().endswith(lib.read_text()):
            out.append(src)
    return out


@functools.lru_cache(maxsize=None)
def _compiler_version(cc: str) -> str:
    return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout


def kernel_cache_dir(cc: str, flags, *more: str) -> Path:
    """The cache directory for kernel objects built by cc with flags: keyed on the compiler's
    version, the flags, anything else that shapes the build (`more`) and the library's content."""
    version = _compiler_version(cc)
    library = [f"{k.name}\0{k.read_text()}" for k in sorted(KERNELS_DIR.glob("ec_*.[ch]"))]
    key = hashlib.sha256("\0".join([cc, version, *flags, *more, *library]).encode()).hexdigest()
    return object_cache_dir() / key[:24]


def kernel_objects(cc: str, flags: tuple[str, ...], sources) -> dict[str, Path]:
    """{file name: object} for the verbatim kernel copies among sources, each compiled once per
    cache directory (kernel_cache_dir), like ccache; the model's files are compiled as before."""
    cache = kernel_cache_dir(cc, flags)
    out = {}
    for src in verbatim_kernels(sources):
        obj = cache / f"{src.stem}.o"
        if not obj.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / f"{src.stem}.{os.getpid()}.tmp.o"
            proc = subprocess.run([cc, *flags, f"-I{KERNELS_DIR}", "-c", str(KERNELS_DIR / src.name), "-o", str(tmp)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise EdgecnnError(f"{Path(cc).name} failed on the kernel {src.name}:\n{proc.stderr.strip()}")
            os.replace(tmp, obj)  # atomic: a concurrent build sees the whole object or none
        out[src.name] = obj
    return out


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
