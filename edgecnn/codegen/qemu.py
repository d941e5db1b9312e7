"""Build the generated engine for a Cortex-M4 and run it under QEMU (mps2-an386).

The firmware (firmware_export/mps2-an386) embeds N test images with the host
engine's outputs, runs them under `qemu-system-arm -icount shift=0` (SysTick
then counts instructions deterministically), prints each prediction and
exits 0 only if every output matches the host's byte for byte.
"""

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgecnn.codegen import GenerateResult
from edgecnn.errors import EdgecnnError
from edgecnn.paths import FIRMWARE_DIR

BOARD_DIR = FIRMWARE_DIR / "mps2-an386"
TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make", "timeout")
FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data")  # .data: its initial image


@dataclass(frozen=True)
class QemuReport:
    """Result of the Cortex-M4 run and the ELF memory figures."""

    passed: bool
    n_images: int
    mismatches: int
    predictions: list
    instructions_per_inference: int
    instructions_min: int
    instructions_max: int
    macs: int
    instructions_per_mac: float
    stack_bytes_used: int
    flash_bytes: int  # engine_only.elf: vector table + text + rodata (+ .data image)
    ram_bytes: int  # engine_only.elf .data + .bss + measured stack high-water mark
    opt: str
    cflags: str
    float_abi: str
    elf: str
    log: str
    layer_instructions: dict = None  # kernel call index -> instructions per inference (profiled runs only)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        d.pop("predictions")
        return d


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _c_bytes(values: np.ndarray) -> str:
    vals = [str(int(v)) for v in values.reshape(-1)]
    return "\n".join("    " + ", ".join(vals[i:i + 24]) + "," for i in range(0, len(vals), 24))


def write_inputs(gen: GenerateResult, gen_dir: Path, images: np.ndarray, outputs: np.ndarray) -> None:
    """model_glue.h (names the engine's API for main.c) and test_data.[ch] (images, host outputs, labels)."""
    gen_dir.mkdir(parents=True, exist_ok=True)
    n, N = gen.name, gen.name.upper()
    (gen_dir / "model_glue.h").write_text(
        f"/* Written by edgecnn.codegen.qemu for model {n}. */\n#ifndef MODEL_GLUE_H\n#define MODEL_GLUE_H\n"
        f"#include \"{n}_model.h\"\n#define EC_INVOKE {n}_invoke\n#define EC_TOP1 {n}_top1\n"
        f"#define EC_INPUT_SIZE {N}_INPUT_SIZE\n#define EC_OUTPUT_SIZE {N}_OUTPUT_SIZE\n#define EC_MACS {N}_MACS\n#endif\n")
    x = np.asarray(images, np.int8).reshape(len(images), -1)
    y = np.asarray(outputs, np.int8).reshape(len(outputs), -1)
    labels = y.astype(np.int32).argmax(1)
    (gen_dir / "test_data.h").write_text(
        "/* Written by edgecnn.codegen.qemu: test images and the host engine's outputs. */\n"
        "#ifndef TEST_DATA_H\n#define TEST_DATA_H\n#include <stdint.h>\n"
        f"#define TEST_COUNT {len(x)}u\nextern const int8_t test_images[{x.size}];\n"
        f"extern const int8_t test_outputs[{y.size}];\nextern const uint16_t test_labels[{len(x)}];\n#endif\n")
    (gen_dir / "test_data.c").write_text(
        "/* Written by edgecnn.codegen.qemu. */\n#include \"test_data.h\"\n\n"
        f"const int8_t test_images[{x.size}] = {{\n{_c_bytes(x)}\n}};\n\n"
        f"const int8_t test_outputs[{y.size}] = {{\n{_c_bytes(y)}\n}};\n\n"
        f"const uint16_t test_labels[{len(x)}] = {{\n{_c_bytes(labels)}\n}};\n")


def section_sizes(elf: Path) -> dict[str, int]:
    """Section name -> bytes, from `arm-none-eabi-size -A`."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


FLOAT_ABIS = ("soft", "softfp", "hard")  # softfp and hard: FPU on (fpv4-sp-d16)


def build(gen: GenerateResult, images: np.ndarray, outputs: np.ndarray, build_dir: Path, opt: str = "-Os",
          cflags: tuple[str, ...] = (), float_abi: str = "soft") -> Path:
    """Compile firmware.elf and engine_only.elf with arm-none-eabi-gcc; returns build_dir."""
    if float_abi not in FLOAT_ABIS:
        raise EdgecnnError(f"float ABI {float_abi!r}; expected one of {', '.join(FLOAT_ABIS)}")
    missing = missing_tools()
    if missing:
        raise EdgecnnError(f"the Cortex-M4 check needs {', '.join(missing)} (Debian: gcc-arm-none-eabi, "
                           "libnewlib-arm-none-eabi, qemu-system-arm)")
    build_dir = Path(build_dir).resolve()
    write_inputs(gen, build_dir / "gen", images, outputs)
    cmd = ["make", "-s", "-C", str(BOARD_DIR), f"BUILD={build_dir}", f"MODEL_DIR={gen.out_dir.resolve()}",
           f"GEN_DIR={build_dir / 'gen'}", f"OPT={opt}", f"EXTRA_CFLAGS={' '.join(cflags)}",
           f"FLOAT_ABI={float_abi}", *_kernel_cache_args(gen, opt, cflags, float_abi), "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EdgecnnError(f"the Cortex-M4 build failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")
    return build_dir


def _kernel_cache_args(gen: GenerateResult, opt: str, cflags: tuple[str, ...], float_abi: str) -> list[str]:
    """The Makefile's KERNEL_OBJ_DIR and KERNELS: the verbatim kernel copies are compiled once per
    compiler, flags, Makefile and library content (edgecnn.codegen.hostrun's object cache)."""
    from edgecnn.codegen import hostrun

    sources = getattr(gen, "sources", None) or sorted(Path(gen.out_dir).glob("*.c"))  # bench: a built engine's dir
    kernels = hostrun.verbatim_kernels(sources)
    if not kernels or shutil.which("arm-none-eabi-gcc") is None:
        return []
    makefile = (BOARD_DIR / "Makefile").read_text()
    cache = hostrun.kernel_cache_dir(shutil.which("arm-none-eabi-gcc"), (opt, *cflags, float_abi), makefile)
    cache.mkdir(parents=True, exist_ok=True)
    return [f"KERNEL_OBJ_DIR={cache}", f"KERNELS={' '.join(k.name for k in kernels)}"]


def _kv(log: str, key: str) -> int:
    m = re.search(rf"^{key}=(\d+)$", log, re.M)
    if m is None:
        raise EdgecnnError(f"the firmware did not report {key}; its output ends with:\n{log[-1500:]}")
    return int(m.group(1))


def run(elf: Path, timeout_s: float = 600) -> tuple[int, str]:
    """(exit status, semihosting output) of one QEMU run, killed after timeout_s."""
    cmd = ["timeout", str(int(timeout_s)), "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting",
           "-icount", "shift=0", "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode == 124:
        raise EdgecnnError(f"QEMU did not finish within {timeout_s:.0f} s on {elf}")
    return proc.returncode, proc.stdout + proc.stderr


def check(gen: GenerateResult, images: np.ndarray, host_outputs: np.ndarray, build_dir: Path,
          opt: str = "-Os", timeout_s: float = 600, cflags: tuple[str, ...] = (),
          profile_layers: bool = False, float_abi: str = "soft") -> QemuReport:
    """Build, run under QEMU and report; `passed` needs exit 0 and every image matching.

    cflags: e.g. ("-DEC_NO_SIMD",) for the plain C kernels (default: SMLAD kernels on the M4).
    profile_layers: also count each kernel call's instructions (layer_instructions, keyed by
    the call's index in gen.calls); the hook calls add a few instructions to the total.
    float_abi: "soft", or "softfp" / "hard" with the FPU on (what most Cortex-M4F boards build with).
    """
    if profile_layers:
        cflags = (*cflags, "-DEC_PROFILE_LAYERS")
    build_dir = build(gen, images, host_outputs, build_dir, opt, cflags, float_abi)
    status, log = run(build_dir / "firmware.elf", timeout_s)
    (build_dir / "qemu.log").write_text(log)
    preds = [int(m.group(1)) for m in re.finditer(r"^image \d+: predicted (\d+)", log, re.M)]
    sizes = section_sizes(build_dir / "engine_only.elf")
    flash = sum(sizes.get(s, 0) for s in FLASH_SECTIONS)
    ram = sizes.get(".data", 0) + sizes.get(".bss", 0) + _kv(log, "stack_bytes_used")
    macs, per = _kv(log, "macs"), _kv(log, "instructions_per_inference")
    mismatches = _kv(log, "mismatches")
    layers = {int(i): int(n) for i, n in re.findall(r"^layer (\d+) instructions=(\d+)$", log, re.M)}
    return QemuReport(status == 0 and mismatches == 0 and "result=PASS" in log, _kv(log, "images"), mismatches,
                      preds, per, _kv(log, "instructions_min"), _kv(log, "instructions_max"), macs,
                      round(per / macs, 3) if macs else 0.0, _kv(log, "stack_bytes_used"), flash, ram, opt,
                      " ".join(cflags), float_abi, str(build_dir / "firmware.elf"), log, layers)
