"""The tflite-micro/ export: the int8 model as a C array, its op resolver, its settings, an example.

Templates live in firmware_export/tflite-micro/*.in (string.Template, `${name}`).
The arena size is measured with the real TFLM interpreter (the tflite_micro
package): the smallest arena in which the model allocates and runs.
"""

import re
import string
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.convert.layers import resolver_methods
from edgecnn.convert.quantize import TensorQuant
from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError, TargetCannotRun
from edgecnn.paths import FIRMWARE_DIR

BYTES_PER_LINE = 12
TEMPLATES = ("model_data.h", "model_data.cc", "model_ops.h", "model_settings.h", "main.cc")
MARGIN_WHY = ("10% (at least 1 KiB), rounded up to 16 bytes, for the scratch buffers that optimized "
              "kernels (e.g. CMSIS-NN) request beyond the reference kernels measured here, and for "
              "other TFLM versions. The host build has 64-bit pointers, so its bookkeeping is larger than "
              "on a 32-bit MCU.")


@dataclass(frozen=True)
class Arena:
    """TFLM tensor arena: measured minimum, the margin added, and the size written to the header."""

    measured_bytes: int
    margin_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.measured_bytes + self.margin_bytes


def c_identifier(name: str) -> str:
    """A C identifier from a build name: 'fashion-mnist' -> 'fashion_mnist', '10x' -> 'm_10x'."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return ident if ident and not ident[0].isdigit() else f"m_{ident}"


def c_array_body(data: bytes) -> str:
    """Hex bytes, BYTES_PER_LINE a line, two-space indent, trailing comma on every line."""
    lines = []
    for i in range(0, len(data), BYTES_PER_LINE):
        lines.append("  " + " ".join(f"0x{b:02x}," for b in data[i:i + BYTES_PER_LINE]))
    return "\n".join(lines)


def parse_c_array(source: str, symbol: str) -> bytes:
    """The bytes of `symbol[] = { ... };` in a C source, read back from the text (for verification)."""
    m = re.search(rf"\b{re.escape(symbol)}\[\]\s*=\s*\{{(.*?)\}};", source, re.S)
    if not m:
        raise EdgecnnError(f"array {symbol} not found in the generated source")
    return bytes(int(tok, 16) for tok in re.findall(r"0x([0-9a-fA-F]{2})", m.group(1)))


# The search runs in a child process: at some arena sizes just below the minimum, TFLM aborts the
# process (seen: "All temp buffers must be freed before calling ResetTempAllocations()") instead of
# reporting a failed allocation. The child prints each probe; a size it died on counts as too small
# and the search restarts without it.
_SEARCH = """
import json, sys
import numpy as np
from tflite_micro import runtime
path, inputs, crashed = sys.argv[1], json.loads(sys.argv[2]), set(json.loads(sys.argv[3]))
tflite = open(path, "rb").read()
xs = [np.full(shape, zp, np.int8) for shape, zp in inputs]
def works(size):
    if size in crashed:
        return False
    print("try", size, flush=True)
    try:
        it = runtime.Interpreter.from_bytes(tflite, arena_size=size)
        for i, x in enumerate(xs):
            it.set_input(x, i)
        it.invoke()
        ok = True
    except RuntimeError:
        ok = False
    print("done", size, flush=True)
    return ok
lo, hi = 0, 1 << 16
while not works(hi):
    lo, hi = hi, hi * 2
    if hi > 1 << 28:
        print("none", flush=True)
        sys.exit(0)
while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if works(mid) else (mid, hi)
print("minimum", hi, flush=True)
"""
MAX_SEARCH_RESTARTS = 8


def measure_arena(tflite: bytes, q_in: TensorQuant, q_ins=None) -> Arena:
    """Binary-search the smallest arena in which TFLM allocates and invokes the model (q_ins: every input)."""
    import json
    import subprocess
    import sys
    import tempfile

    inputs = json.dumps([[list(q.shape), q.zero_point] for q in (q_ins or (q_in,))])
    crashed: list[int] = []
    with tempfile.TemporaryDirectory(prefix="edgecnn-arena-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite)
        for _ in range(MAX_SEARCH_RESTARTS):
            res = subprocess.run([sys.executable, "-c", _SEARCH, str(path), inputs, json.dumps(crashed)],
                                 capture_output=True, text=True)
            lines = res.stdout.split()
            if "minimum" in lines:
                return with_margin(int(lines[lines.index("minimum") + 1]))
            if "none" in lines:
                raise TargetCannotRun("TFLM could not run the int8 model even with a 256 MiB arena")
            tried = [int(lines[i + 1]) for i, w in enumerate(lines) if w == "try"]
            finished = {int(lines[i + 1]) for i, w in enumerate(lines) if w == "done"}
            if not tried or tried[-1] in finished:
                tail = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
                raise EdgecnnError(f"measuring the TFLM arena failed: {tail[:300]}")
            crashed.append(tried[-1])
    raise TargetCannotRun(f"TFLM's interpreter aborted at {len(crashed)} arena sizes ({crashed[0]} to {crashed[-1]} "
                          "bytes) while measuring the arena: TFLM cannot run this model")


def with_margin(measured: int) -> Arena:
    """The measured arena plus MARGIN_WHY's margin: 10% (at least 1 KiB), total a multiple of 16."""
    margin = max(1024, -(-measured // 10))
    return Arena(measured, margin + (-(measured + margin)) % 16)


def _c_float(v: float) -> str:
    return str(np.float32(v)) + "f"  # shortest float32 repr that round-trips, always with "." or "e"


def _input_dims(shape: tuple) -> str:
    """kNumRows/kNumCols/kNumChannels for an image input (1, H, W, C); kInputSize for any shape."""
    size = int(np.prod(shape))
    if len(shape) == 4:
        _, rows, cols, channels = shape
        return (f"constexpr int kNumRows = {rows};\nconstexpr int kNumCols = {cols};\n"
                f"constexpr int kNumChannels = {channels};\nconstexpr int kInputSize = kNumRows * kNumCols * kNumChannels;")
    return f"constexpr int kInputSize = {size};"


def _input_units(input_range) -> str:
    """What the real input values are, so firmware feeds the numbers the build verified with."""
    if input_range is None:
        return ("// The input is in the model's own units (not an image, or no pixel range given at build time):\n"
                "// q = round(real / kInputScale) + kInputZeroPoint.")
    lo, hi = input_range
    return (f"// Pixels map to the model's input range [{lo:g}, {hi:g}] (edgecnn build --input-range):\n"
            "// real = kInputRangeMin + pixel / 255 * (kInputRangeMax - kInputRangeMin),\n"
            "// q = round(real / kInputScale) + kInputZeroPoint.\n"
            f"constexpr float kInputRangeMin = {_c_float(lo)};\nconstexpr float kInputRangeMax = {_c_float(hi)};")


def render(cname: str, tflite: bytes, ops: list[str], q_in: TensorQuant, q_out: TensorQuant,
           labels: list[str], arena: Arena, provenance: str, tflm_version: str,
           input_range: tuple[float, float] | None = None) -> dict[str, str]:
    """The five files of tflite-micro/ as {filename: text}."""
    calls = "\n".join(f"  if (resolver.{m}() != kTfLiteOk) return kTfLiteError;" for m in resolver_methods(ops))
    values = {
        "cname": cname, "tflite_name": "model_int8.tflite", "model_bytes": str(len(tflite)),
        "array": c_array_body(tflite), "op_list": ", ".join(ops), "op_count": str(len(ops)),
        "register_calls": calls, "input_shape": ", ".join(map(str, q_in.shape)),
        "output_shape": ", ".join(map(str, q_out.shape)), "input_dims": _input_dims(q_in.shape),
        "input_units": _input_units(input_range), "input_scale": _c_float(q_in.scale), "input_zero_point": str(q_in.zero_point),
        "output_scale": _c_float(q_out.scale), "output_zero_point": str(q_out.zero_point),
        "num_classes": str(len(labels)), "labels": ", ".join(_c_string(s) for s in labels),
        "arena_measured": str(arena.measured_bytes), "arena_margin": str(arena.margin_bytes),
        "arena_total": str(arena.total_bytes), "margin_why": textwrap.fill(MARGIN_WHY, 96, subsequent_indent="// "), "tflm_version": tflm_version,
        "provenance": provenance,
    }
    if len(labels) != q_out.shape[-1]:
        raise EdgecnnError(f"{len(labels)} class labels for a model with {q_out.shape[-1]} outputs")
    return substitute(cname, TEMPLATES, values)


def common_values(cname: str, tflite: bytes, ops: list[str], provenance: str) -> dict:
    """The template values of model_data.h/.cc and model_ops.h, which do not depend on the model's I/O."""
    calls = "\n".join(f"  if (resolver.{m}() != kTfLiteOk) return kTfLiteError;" for m in resolver_methods(ops))
    return {"cname": cname, "tflite_name": "model_int8.tflite", "model_bytes": str(len(tflite)),
            "array": c_array_body(tflite), "op_list": ", ".join(ops), "op_count": str(len(ops)),
            "register_calls": calls, "provenance": provenance}


def substitute(cname: str, names, values: dict, template_of=lambda name: name) -> dict[str, str]:
    """{file name: text} of firmware_export/tflite-micro/<template_of(name)>.in filled with values."""
    out = {}
    for name in names:
        guard = f"EDGECNN_{cname.upper()}_{name.upper().replace('.', '_')}_"
        text = (FIRMWARE_DIR / "tflite-micro" / f"{template_of(name)}.in").read_text()
        out[name] = string.Template(text).substitute(values, guard=guard)
    return out


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def provenance_comment(tool: str, model_sha256: str, tflite_sha256: str, command: str) -> str:
    """The // header every generated file starts with: tool, model hashes, command (no timestamp)."""
    return "\n".join([
        f"// Generated by {tool}. Do not edit: rebuild with the command below.",
        f"// Source model sha256: {model_sha256}",
        f"// model_int8.tflite sha256: {tflite_sha256}",
        f"// Command: {' '.join(command.split())}",
    ])


def write(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write the rendered files into out_dir/tflite-micro/ and return their paths."""
    d = out_dir / "tflite-micro"
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        (d / name).write_text(text)
        paths.append(d / name)
    return paths



def build_target(ctx) -> dict:
    """`tflite-micro` target: render the five files, then verify bytes, outputs and compilation."""
    from edgecnn.convert.runners import run_litert, run_tflm
    from edgecnn.convert.verify import CROSS_KERNEL_FRACTION, compare_int8, compile_checks, header_roundtrip, require

    if ctx.multi_io:
        from edgecnn.convert.tflm_multi import build_target as build_multi

        return build_multi(ctx)
    version = tflm_version()
    arena = measure_arena(ctx.tflite_int8, ctx.q_in)
    files = render(ctx.cname, ctx.tflite_int8, ctx.ops, ctx.q_in, ctx.q_out, ctx.labels, arena,
                   ctx.provenance, version, ctx.input_range)
    write(ctx.out_dir, files)
    d = ctx.out_dir / "tflite-micro"
    from edgecnn.firmware.tflm_cmake import write_build_files

    write_build_files(d, ctx.cname, ctx.provenance, {"model_bytes": str(len(ctx.tflite_int8)), "op_count": str(len(ctx.ops)),
                      "op_list": ", ".join(ctx.ops), "arena_total": str(arena.total_bytes),
                      "arena_measured": str(arena.measured_bytes), "arena_margin": str(arena.margin_bytes),
                      "tflm_version": version})
    roundtrip = require(header_roundtrip(d / "model_data.cc", f"g_{ctx.cname}_model_data", ctx.tflite_int8))
    # The measured minimum, not the header's size with margin: every evaluation image must run in it.
    got = run_tflm(ctx.tflite_int8, ctx.eval_x, ctx.q_in, arena.measured_bytes)
    # TFLM implements TFLite's reference integer arithmetic; LiteRT's default XNNPACK kernels do not.
    ref = run_litert(ctx.tflite_int8, ctx.eval_x, "LiteRT int8 reference kernels", reference_kernels=True)
    # LiteRT's reference FULLY_CONNECTED rounds its requantization in double precision, TFLM's in
    # fixed point: the logits can differ by 1 LSB, and the SOFTMAX after them can turn that into
    # several LSB of probability (shipped MNIST model, full test set: 2 of 100,000 outputs, 9 LSB,
    # top-1 identical). So at most 0.1% of outputs may exceed 1 LSB; a wrong model or arena would
    # change most outputs. The C engine's own checks pin each rounding exactly (docs/c_engine.md).
    vs_litert = require(compare_int8("TFLM vs LiteRT int8 reference kernels", got, ref, tol_lsb=1,
                                     allowed_fraction=CROSS_KERNEL_FRACTION))
    vs_litert["tflm_top1_acc"] = None if ctx.eval_y is None else float((got.argmax(1) == ctx.eval_y).mean())
    default_vs_ref = compare_int8("LiteRT int8 default (XNNPACK) vs reference kernels", ctx.int8_out, ref, tol_lsb=0)
    default_vs_ref.update(passed=None, informative="not a check: XNNPACK requantizes in float32")
    return {
        "tflm": {"arena_bytes_measured": arena.measured_bytes, "arena_margin_bytes": arena.margin_bytes,
                 "tensor_arena_size": arena.total_bytes, "arena_margin_why": MARGIN_WHY,
                 "measured_with": f"tflite_micro {version} Python interpreter (host build), "
                                  "smallest arena that allocates and invokes",
                 "op_resolver_size": len(ctx.ops), "bytes_per_line": BYTES_PER_LINE},
        "verification": {"tflm_header_roundtrip": roundtrip, "tflm_vs_litert_int8_ref": vs_litert,
                         "litert_int8_default_vs_ref": default_vs_ref,
                         "tflm_compile": compile_checks(d, ctx.cname, len(ctx.tflite_int8))},
    }


def tflm_version() -> str:
    from importlib.metadata import version

    return version("tflite-micro")
