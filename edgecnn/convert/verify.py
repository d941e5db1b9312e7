"""Build-time checks: each returns a manifest entry; `require` fails the build on a failed one.

Numeric checks compare two real runtimes on the same evaluation images.
Compile checks run the real compilers on the generated sources and read the
object file's sections back with readelf.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgecnn.convert.tflm import parse_c_array
from edgecnn.errors import EdgecnnError

FLOAT_TOL = 1e-5  # float runtimes vs Keras, on softmax outputs in [0, 1]
WARNINGS = ["-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
COMPILERS = {
    "host_gxx": {"cxx": "g++", "flags": [], "readelf": "readelf"},
    "cortex_m4_gxx": {"cxx": "arm-none-eabi-g++", "flags": ["-mcpu=cortex-m4", "-mthumb"],
                      "readelf": "arm-none-eabi-readelf"},
}


# int8 ONNX runs on onnxruntime's MLAS kernels, LiteRT's default on XNNPACK: both requantize in
# float32 but round rare ties differently, and a tie in an early layer can reach the softmax as a
# few LSB (shipped MNIST model, full test set: 4 of 100,000 outputs, at most 4 LSB). A conversion
# error (scale, zero point, layout) changes most outputs, so at most 0.1% may exceed the tolerance.
CROSS_KERNEL_FRACTION = 0.001


def compare_int8(label: str, got: np.ndarray, ref: np.ndarray, tol_lsb: int, allowed_fraction: float = 0.0) -> dict:
    """Int8 outputs (N, classes) of two runtimes: max |diff| in LSB, top-1 agreement.

    Passes when at most `allowed_fraction` of the outputs differ by more than tol_lsb and (when
    allowed_fraction > 0) top-1 agrees on at least 1 - allowed_fraction of the images.
    """
    diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
    beyond = int((diff > tol_lsb).sum())
    agreement = float((got.argmax(1) == ref.argmax(1)).mean())
    passed = beyond <= int(allowed_fraction * diff.size) and (allowed_fraction == 0 or agreement >= 1 - allowed_fraction)
    entry = {"check": label, "max_abs_diff_lsb": int(diff.max()), "tolerance_lsb": tol_lsb,
             "outputs_differing": int((diff > 0).sum()), "n_outputs": int(diff.size),
             "top1_agreement": agreement, "passed": bool(passed)}
    if allowed_fraction:
        entry.update(outputs_beyond_tolerance=beyond, allowed_fraction_beyond_tolerance=allowed_fraction)
    return entry


def compare_float(label: str, got: np.ndarray, ref: np.ndarray, tol: float = FLOAT_TOL) -> dict:
    """Float outputs (N, classes) of two runtimes: max |diff|, top-1 agreement, pass if <= tol."""
    diff = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max())
    return {"check": label, "max_abs_diff": diff, "tolerance": tol,
            "top1_agreement": float((got.argmax(1) == ref.argmax(1)).mean()), "passed": diff <= tol}


def header_roundtrip(cc_path: Path, symbol: str, tflite: bytes) -> dict:
    """The bytes parsed back from the C array in model_data.cc equal the .tflite bytes."""
    parsed = parse_c_array(cc_path.read_text(), symbol)
    return {"check": f"{cc_path.name} array == model_int8.tflite", "bytes_parsed": len(parsed),
            "bytes_expected": len(tflite), "passed": parsed == tflite}


def require(entry: dict) -> dict:
    """Return the entry, or raise EdgecnnError saying which check failed and by how much."""
    if entry.get("passed") is False:
        detail = {k: v for k, v in entry.items() if k not in ("check", "passed")}
        raise EdgecnnError(f"verification failed: {entry['check']}: {detail}")
    return entry


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise EdgecnnError(f"`{' '.join(cmd)}` failed:\n{(res.stderr or res.stdout).strip()}")
    return res.stdout


def _sections(readelf: str, obj: Path) -> dict[int, dict]:
    """Section index -> name, flags, alignment, from `readelf -SW`."""
    out = {}
    for line in _run([readelf, "-SW", str(obj)], obj.parent).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(.*)$", line)
        if not m or not m.group(2).strip() or m.group(2).startswith("Name"):
            continue
        tok = m.group(2).split()
        # name type addr off size es [flags] lk inf al: flags may be empty
        out[int(m.group(1))] = {"name": tok[0], "flags": "".join(tok[6:-3]), "align": int(tok[-1])}
    return out


def _symbol(readelf: str, obj: Path, symbol: str) -> dict:
    for line in _run([readelf, "-sW", str(obj)], obj.parent).splitlines():
        tok = line.split()
        if len(tok) >= 8 and tok[7] == symbol:
            return {"value": int(tok[1], 16), "size": int(tok[2]), "ndx": tok[6]}
    raise EdgecnnError(f"symbol {symbol} not found in {obj.name}")


def placement(readelf: str, obj: Path, symbol: str, n_bytes: int) -> dict:
    """Where the array landed: a read-only (non-writable) .rodata section, 16-byte aligned, full size."""
    sym = _symbol(readelf, obj, symbol)
    sec = _sections(readelf, obj)[int(sym["ndx"])] if sym["ndx"].isdigit() else {"name": sym["ndx"], "flags": "", "align": 0}
    ok = (sec["name"].startswith(".rodata") and "W" not in sec["flags"] and sec["align"] >= 16
          and sym["value"] % 16 == 0 and sym["size"] == n_bytes)
    return {"section": sec["name"], "section_flags": sec["flags"], "section_align_bytes": sec["align"],
            "symbol_offset": sym["value"], "symbol_bytes": sym["size"], "passed": ok}


SETTINGS_USE = ("kTensorArenaSize + kInputSize + kInputZeroPoint + kOutputZeroPoint\n"
                "      + static_cast<int>(kInputScale + kOutputScale) + (kCategoryLabels[0] != nullptr)")


def compile_checks(tflm_dir: Path, cname: str, n_bytes: int, settings_use: str = SETTINGS_USE) -> dict:
    """Compile model_data.cc and a unit including model_settings.h / model_data.h with each compiler.

    model_ops.h and main.cc include TFLM headers, which are not part of this
    toolchain: they are listed as not compiled. A missing compiler gives
    "skipped: <why>" for that compiler only.
    """
    symbol = f"g_{cname}_model_data"
    result = {"compiled": ["model_data.cc", "model_data.h", "model_settings.h"],
              "not_compiled": {"model_ops.h": "includes TFLM headers (micro_mutable_op_resolver.h), not available here",
                               "main.cc": "includes TFLM headers and needs the TFLM library"},
              "flags": WARNINGS}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in ("model_data.cc", "model_data.h", "model_settings.h"):
            shutil.copy(tflm_dir / f, work / f)
        # Included twice: the include guards must hold; the function uses every constant kind once.
        (work / "settings_check.cc").write_text(
            '#include "model_settings.h"\n#include "model_settings.h"\n#include "model_data.h"\n'
            "int edgecnn_settings_check() {\n"
            "  return " + settings_use + "\n"
            "      + static_cast<int>(g_" + cname + "_model_data_size) + g_" + cname + "_model_data[0];\n}\n")
        for key, c in COMPILERS.items():
            if shutil.which(c["cxx"]) is None:
                result[key] = f"skipped: {c['cxx']} not found on PATH"
                continue
            readelf = c["readelf"] if shutil.which(c["readelf"]) else "readelf"
            base = [c["cxx"], *c["flags"], *WARNINGS, "-c"]
            _run(base + ["model_data.cc", "-o", f"{key}.o"], work)
            _run(base + ["settings_check.cc", "-o", f"{key}_settings.o"], work)
            entry = placement(readelf, work / f"{key}.o", symbol, n_bytes)
            entry["command"] = " ".join(base + ["model_data.cc"])
            entry["version"] = _run([c["cxx"], "--version"], work).splitlines()[0]
            result[key] = require({"check": f"{key}: {symbol} in read-only 16-byte-aligned section", **entry})
    return result
