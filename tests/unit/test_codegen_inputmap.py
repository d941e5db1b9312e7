"""<name>_input_from_u8: the generated integer C, run on all 256 pixel values, equals the Python quantization."""

import shutil
import subprocess

import numpy as np
import pytest

from edgecnn.codegen import inputmap
from edgecnn.convert.feed import quantize, to_model_units

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
F32_1_255 = float(np.float32(1 / 255))
# (scale, zero point, input range): the shipped models' input (1/255, -128, [0, 1]) and others.
CASES = [(F32_1_255, -128, (0.0, 1.0)), (float(np.float32(2 / 255)), 0, (-1.0, 1.0)), (1.0, -128, (0.0, 255.0)),
         (0.0123, -5, (0.0, 1.0)), (0.004, -100, (-0.5, 1.7)), (0.02, 20, (-3.0, 3.0)), (3.0, 0, (0.0, 255.0)),
         (0.5, 3, (0.0, 1.0)), (F32_1_255 * 1.5, -37, (0.0, 1.0))]


def _run_c(m: inputmap.InputMap, tmp_path, extra=()) -> np.ndarray:
    """Compile the generated function with a main that maps 0..255 and prints the results."""
    src = tmp_path / "t.c"
    src.write_text("#include <stdint.h>\n#include <stdio.h>\n#define T_INPUT_SIZE 256\n"
                   + inputmap.header_text("t", m) + inputmap.source_text("t", m)
                   + "int main(void)\n{\n    uint8_t p[256];\n    int8_t q[256];\n    int i;\n"
                     "    for (i = 0; i < 256; ++i) {\n        p[i] = (uint8_t)i;\n    }\n"
                     "    t_input_from_u8(p, q);\n    for (i = 0; i < 256; ++i) {\n"
                     "        printf(\"%d\\n\", q[i]);\n    }\n    return 0;\n}\n")
    exe = tmp_path / "t"
    subprocess.run(["gcc", *STRICT, *extra, str(src), "-o", str(exe)], check=True, capture_output=True, text=True)
    return np.array(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split(), int)


@pytest.mark.parametrize("scale,zp,rng", CASES)
def test_c_input_from_u8_equals_the_float_path_on_every_pixel(scale, zp, rng, tmp_path):
    m = inputmap.input_map(scale, zp, rng)
    assert not m.table, "an affine integer form exists for these; the table is the fallback"
    got = _run_c(m, tmp_path)
    assert np.array_equal(got, inputmap.float_path(scale, zp, rng)(inputmap.PIXELS).astype(int))


@pytest.mark.parametrize("scale,zp,rng", [(F32_1_255, -128, (0.0, 1.0)), (0.0123, -5, (0.0, 1.0)),
                                           (float(np.float32(2 / 255)), 0, (-1.0, 1.0)), (1.0, -128, (0.0, 255.0))])
def test_equals_the_builds_python_quantization(scale, zp, rng, tmp_path):
    """Against edgecnn.convert.feed (to_model_units, then quantize): what the build feeds every runtime."""
    ref = quantize(to_model_units(inputmap.PIXELS, rng), scale, zp)
    m = inputmap.input_map(scale, zp, rng, reference=lambda p: quantize(to_model_units(p, rng), scale, zp))
    assert np.array_equal(_run_c(m, tmp_path), ref.astype(int))


def test_table_fallback_when_no_affine_form_exists(tmp_path):
    """A reference that is not affine in the pixel (here: a permutation) gets the table, still exact."""
    perm = np.random.default_rng(0).permutation(256) - 128
    m = inputmap.input_map(F32_1_255, -128, reference=lambda p: perm[p.astype(int)].astype(np.int8))
    assert len(m.table) == 256
    assert np.array_equal(_run_c(m, tmp_path), perm)


def test_integer_only_for_cortex_m(tmp_path):
    """With EC_NO_FLOAT on a soft-float Cortex-M4, the function links no float helper."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc not installed (scripts/setup.sh)")
    m = inputmap.input_map(float(np.float32(2 / 255)), 0, (-1.0, 1.0))
    src = tmp_path / "m.c"
    src.write_text("#include <stdint.h>\n#define T_INPUT_SIZE 64\n" + inputmap.header_text("t", m) + inputmap.source_text("t", m))
    obj = tmp_path / "m.o"
    subprocess.run(["arm-none-eabi-gcc", *STRICT, "-DEC_NO_FLOAT", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft",
                    "-Os", "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
    undefined = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], check=True, capture_output=True, text=True).stdout
    assert "__aeabi_f" not in undefined and "__aeabi_d" not in undefined, undefined
