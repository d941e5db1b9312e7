"""The cmake and arduino exports built with the real tools, on the shipped MNIST model and a user model.

CMake: configure + build the example for the host (gcc, -Werror) with every kernel set and
EC_NO_FLOAT, run it, and compare its scores with the c-host engine (hostrun) on the same images;
configure + build it for a Cortex-M4 with the toolchain file. Arduino: library.properties against
the specification, the zip's layout, the sketch compiled as Arduino's builder would (src/*.c as C,
the .ino as C++) with arm-none-eabi for a Cortex-M4, and its inference function on the host.
"""

import re
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from edgecnn.codegen import generate, hostrun
from edgecnn.firmware import arduino, cmake
from edgecnn.paths import shipped_model_dir
from edgecnn.samples import calibration_data, evaluation_data

F32_1_255 = float(np.float32(1 / 255))


def _need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"not installed (scripts/setup.sh installs them): {', '.join(missing)}")


def _user_model():
    """A model the project never shipped: 20x20x3 input, 5 classes, seeded random weights."""
    import keras

    keras.utils.set_random_seed(7)
    L = keras.layers
    x = inp = keras.Input((20, 20, 3))
    x = L.Conv2D(12, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(16, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(5, activation="softmax")(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="module", params=["mnist", "user"])
def engine(request, tmp_path_factory):
    """(name, generated engine, uint8 sample images (8, H, W, C), their labels, int8 inputs of them)."""
    from edgecnn.convert.quantize import load_keras, to_int8_tflite
    from edgecnn.convert.feed import to_model_units
    from edgecnn.convert.runners import to_int8

    _need("gcc", "cmake")
    tmp = tmp_path_factory.mktemp(f"fw_{request.param}")
    if request.param == "mnist":
        calib, _ = calibration_data("mnist", 200, seed=0)
        model = load_keras(shipped_model_dir("mnist") / "model.keras")
        ev = evaluation_data("mnist", full=False)
        x, y, labels = ev.x[:8], ev.y[:8], [str(i) for i in range(10)]
    else:
        rng = np.random.default_rng(3)
        calib = rng.integers(0, 256, (64, 20, 20, 3), dtype=np.uint8)
        model = _user_model()
        x, y, labels = rng.integers(0, 256, (8, 20, 20, 3), dtype=np.uint8), np.arange(8) % 5, list("abcde")
    path = tmp / "model_int8.tflite"
    path.write_bytes(to_int8_tflite(model, to_model_units(calib, (0.0, 1.0))))
    gen = generate(path, tmp / "c", request.param, labels=labels, input_range=(0.0, 1.0))
    return request.param, gen, x, y, to_int8(to_model_units(x, (0.0, 1.0)), type("Q", (), {
        "scale": gen.input_scale, "zero_point": gen.input_zero_point})())


def _c_host(gen, x_int8, tmp):
    exe = hostrun.compile_host(gen, tmp / "ref" / "host")
    return hostrun.run_host(exe, x_int8, int(np.prod(gen.output_shape))).outputs


@pytest.mark.parametrize("options", [{}, {"KERNELS": "PORTABLE"}, {"KERNELS": "REFERENCE"},
                                     {"KERNELS": "SIMD_EMULATED", "NO_FLOAT": "ON"}, {"FC_FIXED_POINT": "ON"}])
def test_cmake_host_example_equals_c_host(engine, tmp_path, options):
    name, gen, x, y, x_int8 = engine
    lib = cmake.write(gen.out_dir, tmp_path / "cmake", name, x, y, "// test")
    opts = {f"{name.upper()}_{k}": v for k, v in options.items()}
    got = cmake.host_scores(lib, tmp_path / "build", int(np.prod(gen.output_shape)), options=opts)
    ref = _c_host(gen, x_int8, tmp_path)
    diff = np.abs(got.astype(int) - ref.astype(int))
    print(f"{name} {options}: cmake example vs c-host, {len(got)} images, max |diff| {diff.max()} LSB")
    # EC_FC_FIXED_POINT_REQUANT may round rare values differently from the default build (docs/c_engine.md).
    assert got.shape == ref.shape and (np.array_equal(got, ref) or (options.get("FC_FIXED_POINT") and diff.max() <= 1))


@pytest.mark.parametrize("float_abi", [None, "soft"])  # None: the toolchain file's default, hard float
def test_cmake_cortex_m4_build(engine, tmp_path, float_abi):
    _need("arm-none-eabi-gcc")
    name, gen, x, y, _ = engine
    lib = cmake.write(gen.out_dir, tmp_path / "cmake", name, x, y, "// test")
    elf = cmake.build_example(lib, tmp_path / "m4", cortex_m4=True, float_abi=float_abi,
                              options={f"{name.upper()}_NO_FLOAT": "ON"})
    head = subprocess.run(["arm-none-eabi-readelf", "-h", elf], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Machine:\s+ARM", head), head
    hard = float_abi is None
    assert ("hard-float ABI" in head) == hard, head  # readelf: "Flags: ..., Version5 EABI, hard-float ABI"
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", elf], capture_output=True, text=True, check=True).stdout
    assert "Tag_CPU_arch: v7E-M" in attrs, attrs  # built for the Cortex-M4, not the compiler's default core
    assert ("Tag_ABI_VFP_args: VFP registers" in attrs) == hard, attrs
    syms = subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True, check=True).stdout
    assert f"{name}_invoke" in syms and f"{name}_input_from_u8" in syms
    assert f"{name}_quantize_input" not in syms  # EC_NO_FLOAT removed the only float function
    cache = (tmp_path / "m4" / "CMakeCache.txt").read_text()
    assert f"EC_FLOAT_ABI:STRING={'hard' if hard else 'soft'}" in cache


def test_cmake_rejects_an_unknown_kernel_set(engine, tmp_path):
    name, gen, x, y, _ = engine
    lib = cmake.write(gen.out_dir, tmp_path / "cmake", name, x, y, "// test")
    proc = subprocess.run(["cmake", "-S", lib / "example", "-B", tmp_path / "b", f"-D{name.upper()}_KERNELS=FAST"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and f"{name.upper()}_KERNELS=FAST: expected SIMD" in proc.stderr


# The Arduino library specification (1.5 format): library.properties' required fields, the categories.
SPEC_REQUIRED = {"name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url", "architectures"}
SPEC_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                   "Data Storage", "Data Processing", "Other"}


def test_arduino_library(engine, tmp_path):
    _need("arm-none-eabi-gcc", "arm-none-eabi-g++", "g++")
    name, gen, x, y, x_int8 = engine
    facts = {"version": "0.1.0", "dataset": name, "arena": str(gen.arena_bytes), "weights": str(gen.weights_bytes),
             "macs": str(gen.macs)}
    lib = arduino.write(gen.out_dir, tmp_path / "arduino", name, x, y, facts, "// test")
    props = dict(line.split("=", 1) for line in (lib / "library.properties").read_text().splitlines() if "=" in line)
    assert SPEC_REQUIRED <= {k for k, v in props.items() if v.strip()}, props
    assert props["category"] in SPEC_CATEGORIES and lib.name == props["name"]
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}", props["name"])
    assert (lib / "src" / props["includes"]).is_file()
    assert arduino.check_properties(lib)["passed"]
    with zipfile.ZipFile(tmp_path / "arduino" / f"{lib.name}.zip") as z:
        names = set(z.namelist())
    for rel in ("library.properties", f"src/{name}_model.h", f"src/{name}_model.c",
                f"examples/{name}_classify/{name}_classify.ino"):
        assert f"{lib.name}/{rel}" in names, rel
    obj = arduino.compile_sketch(lib, tmp_path / "m4", "arm-none-eabi-gcc", "arm-none-eabi-g++", arduino.M4F_FLAGS)
    syms = subprocess.run(["arm-none-eabi-nm", obj], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"T _Z\d+{name}_classify", syms), syms  # the sketch's C++ function, defined
    assert re.search(rf"U {name}_invoke\b", syms), syms  # the engine called through its extern "C" API
    got = arduino.host_scores(lib, tmp_path / "host", name, int(np.prod(gen.output_shape)))
    assert np.array_equal(got, _c_host(gen, x_int8, tmp_path))


def test_arduino_properties_check_catches_a_bad_file(engine, tmp_path):
    name, gen, x, y, _ = engine
    facts = {"version": "1.0", "dataset": name, "arena": "0", "weights": "0", "macs": "0"}
    lib = arduino.write(gen.out_dir, tmp_path / "arduino", name, x, y, facts, "// test")
    text = (lib / "library.properties").read_text().replace("category=Data Processing", "category=AI")
    (lib / "library.properties").write_text(text.replace("url=", "url_="))
    problems = arduino.check_properties(lib)["problems"]
    assert any("url" in p for p in problems) and any("category" in p for p in problems)
    assert any("version" in p for p in problems)


def test_build_targets_c_cmake_arduino_on_a_context(tmp_path):
    """The registered targets as `edgecnn build --target cmake --target arduino` runs them (c first)."""
    from edgecnn.codegen import verify
    from edgecnn.convert import targets
    from edgecnn.convert.quantize import TensorQuant, load_keras, to_int8_tflite

    _need("gcc", "cmake", "g++")
    assert targets.expand(["cmake", "arduino"]) == ["c", "cmake", "arduino"]
    calib, _ = calibration_data("mnist", 200, seed=0)
    from edgecnn.convert.feed import to_model_units

    tflite = to_int8_tflite(load_keras(shipped_model_dir("mnist") / "model.keras"), to_model_units(calib, (0.0, 1.0)))
    out = tmp_path / "build"
    out.mkdir()
    (out / "model_int8.tflite").write_bytes(tflite)
    ev = evaluation_data("mnist", full=False)
    q = TensorQuant((1, 28, 28, 1), "int8", F32_1_255, -128)
    ctx = targets.BuildContext(out_dir=out, name="mnist", cname="mnist", dataset="mnist", model=None,
                               model_sha256="0" * 64, tflite_int8=tflite, q_in=q, q_out=None, ops=[],
                               labels=[str(i) for i in range(10)], eval_x=to_model_units(ev.x[:100], (0.0, 1.0)),
                               eval_y=ev.y[:100], input_range=(0.0, 1.0),
                               eval_description="100 shipped sample images", keras_out=None,
                               int8_out=verify.litert_reference(out / "model_int8.tflite", (ev.x[:100].astype(np.int16) - 128).astype(np.int8)),
                               provenance="// test", command="edgecnn build --target cmake --target arduino")
    entries = [targets.build_function(t)(ctx) for t in ("c", "cmake", "arduino")]
    v = {k: e for entry in entries for k, e in entry["verification"].items()}
    assert v["cmake_example_vs_c_host"]["passed"] and v["arduino_sketch_vs_c_host"]["passed"]
    assert v["arduino_library_properties"]["passed"]
    assert entries[1]["cmake"]["cortex_m4_build"].startswith("built ")
    assert entries[2]["arduino"]["cortex_m4_compile"].endswith("clean")
    assert (out / "cmake" / "mnist" / "CMakeLists.txt").is_file() and (out / "arduino" / "edgecnn_mnist.zip").is_file()


def test_tflm_build_files(tmp_path):
    """tflite-micro/CMakeLists.txt refuses to configure without a TFLM tree, naming TFLM_TREE; README lists the ops."""
    from edgecnn.firmware.tflm_cmake import write_build_files

    _need("cmake", "g++")
    ops = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "SOFTMAX"]
    write_build_files(tmp_path, "mnist", "// test", {"model_bytes": "1", "op_count": str(len(ops)),
                      "op_list": ", ".join(ops), "arena_total": "3", "arena_measured": "2", "arena_margin": "1",
                      "tflm_version": "x"})
    readme = (tmp_path / "README.md").read_text()
    assert all(op in readme for op in ops) and "create_tflm_tree.py" in readme
    proc = subprocess.run(["cmake", "-S", tmp_path, "-B", tmp_path / "b"], capture_output=True, text=True)
    assert proc.returncode != 0 and "TFLM_TREE=''" in proc.stderr, proc.stderr
