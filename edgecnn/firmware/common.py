"""What the firmware exports share: templates, the copied engine, sample images, running tools."""

import shutil
import subprocess
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgecnnError
from edgecnn.paths import FIRMWARE_DIR

N_SAMPLES = 8  # evaluation images embedded in the examples
SAMPLE_SEED = 0  # random pixels when the build has no data


def render(template: str, values: dict[str, str]) -> str:
    """A template from FIRMWARE_DIR with every `@key@` replaced (CMake keeps its own `${...}`)."""
    text = (FIRMWARE_DIR / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def comment(provenance: str, mark: str) -> str:
    """The build's `// ...` provenance lines with another comment marker (e.g. "#" for CMake)."""
    return "\n".join(mark + line[2:] if line.startswith("//") else line for line in provenance.splitlines())


def copy_engine(c_dir: Path, dst: Path) -> list[str]:
    """Copy the generated engine (every .c and .h of c/) into dst; returns the file names, sorted."""
    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in c_dir.iterdir() if p.suffix in (".c", ".h"))
    if not any(n.endswith("_model.c") for n in names):
        raise EdgecnnError(f"{c_dir} holds no generated engine (*_model.c); build the c target first")
    for n in names:
        shutil.copy(c_dir / n, dst / n)
    return names


def samples_header(cname: str, x: np.ndarray, y: np.ndarray, provenance: str) -> str:
    """`<cname>_samples.h`: N uint8 images (N, H, W, C) flattened, and their labels."""
    N = cname.upper()
    flat = np.asarray(x, np.uint8).reshape(len(x), -1)
    rows = []
    for img in flat:
        vals = [str(int(v)) for v in img]
        rows.append("    {\n" + "".join("        " + ", ".join(vals[i:i + 20]) + ",\n"
                                         for i in range(0, len(vals), 20)) + "    },\n")
    guard = f"{N}_SAMPLES_H"
    return (f"{provenance}\n/* {len(flat)} evaluation images as uint8 pixels (row-major, channels last) and their labels. */\n"
            f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
            f"#define {N}_NUM_SAMPLES {len(flat)}\n\n"
            f"static const uint8_t {cname}_sample_pixels[{N}_NUM_SAMPLES][{flat.shape[1]}] = {{\n{''.join(rows)}}};\n\n"
            f"static const uint8_t {cname}_sample_labels[{N}_NUM_SAMPLES] = {{"
            + ", ".join(str(int(v)) for v in y) + "};\n\n"
            f"#endif /* {guard} */\n")


def sample_pixels(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 pixels, labels, model-unit inputs) of the first N_SAMPLES evaluation images.

    The build holds its evaluation inputs in model units (feed.py); the examples feed pixels, so
    they are mapped back and checked to give the very same inputs again.
    """
    from edgecnn.convert.feed import to_model_units

    if ctx.input_range is None:
        raise EdgecnnError("the cmake and arduino examples feed uint8 pixels, but this model's input is not an "
                           "image (no input range); build the c target and feed the engine directly")
    x = np.asarray(ctx.eval_x[:N_SAMPLES], np.float32)
    lo, hi = ctx.input_range
    pixels = np.clip(np.round((x.astype(np.float64) - lo) / (hi - lo) * 255), 0, 255).astype(np.uint8)
    if not np.array_equal(to_model_units(pixels, ctx.input_range), x):
        if ctx.eval_y is not None:
            raise EdgecnnError("the evaluation inputs are not uint8 pixels mapped to the input range; "
                               "cannot embed them as pixels in the example")
        # No data (an int8 .tflite built on random inputs): seeded random pixels, unlabelled.
        shape = (min(N_SAMPLES, len(ctx.eval_x)), *np.shape(ctx.eval_x)[1:])
        pixels = np.random.default_rng(SAMPLE_SEED).integers(0, 256, shape, dtype=np.uint8)
        x = to_model_units(pixels, ctx.input_range)
    y = np.zeros(len(x), np.int64) if ctx.eval_y is None else np.asarray(ctx.eval_y[:N_SAMPLES])
    return pixels, y, x


def tool(name: str, why: str) -> str:
    """The path of a tool on PATH, or EdgecnnError naming it and what needs it."""
    path = shutil.which(name)
    if path is None:
        raise EdgecnnError(f"{name} is not installed; {why} (run scripts/setup.sh)")
    return path


def run(cmd: list[str], cwd: Path | None = None, timeout_s: float = 600, env: dict | None = None) -> str:
    """Run a command; its stdout, or EdgecnnError with the command and the end of its output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=env)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()[-3000:]
        raise EdgecnnError(f"`{' '.join(map(str, cmd))}` failed (exit {proc.returncode}):\n{out}")
    return proc.stdout


def parse_scores(text: str, n_outputs: int) -> np.ndarray:
    """The example's lines `sample i label l top1 t scores s0 s1 ...` -> (N, n_outputs) int8."""
    rows = []
    for line in text.splitlines():
        if line.startswith("sample ") and " scores" in line:
            vals = [int(v) for v in line.split(" scores", 1)[1].split()]
            if len(vals) != n_outputs:
                raise EdgecnnError(f"example printed {len(vals)} scores, expected {n_outputs}: {line!r}")
            rows.append(vals)
    return np.asarray(rows, dtype=np.int64).astype(np.int8).reshape(len(rows), n_outputs)


def exact(label: str, got: np.ndarray, ref: np.ndarray) -> dict:
    """A verification entry (convert.verify's format): got must equal ref, int8 (N, outputs), bit for bit."""
    from edgecnn.convert.verify import compare_int8

    if got.shape != ref.shape:
        raise EdgecnnError(f"verification failed: {label}: printed {got.shape} scores, expected {ref.shape}")
    return compare_int8(label, got, ref, tol_lsb=0)
