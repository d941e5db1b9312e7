"""The build target registry: every `edgecnn build --target` value, by name.

Adding a target = one module with a build function + one entry in TARGETS.

    def build_target(ctx: BuildContext) -> dict

`ctx` (below) carries what every target shares: the temporary build
directory to write into (`ctx.out_dir`, renamed to `--out` only when the
whole build succeeded), the loaded Keras model, the int8 .tflite (already
written as `model_int8.tflite`), its quantization and ops, the evaluation
images with the Keras float and LiteRT int8 outputs on them (references to
compare against), and the provenance comment for generated sources.

The function writes its files under `ctx.out_dir`, runs its checks, and
returns a dict merged (recursively) into manifest.json, e.g.
`{"verification": {"tflm_vs_litert_int8": {...}}, "tflm": {...}}`. A
failed check raises EdgecnnError (see verify.require), which aborts the
build and leaves nothing in `--out`. Files it writes are hashed into
"artifacts" automatically; a file that cannot be byte-identical across
builds is declared under `{"reproducibility": {"not_byte_identical":
{"<relative path>": "why"}}}`.

`function` is "module:function" and imported only when the target is
built, so listing targets (e.g. in `edgecnn build --help`) never imports
TensorFlow. `requires` names targets built first.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class Target:
    """One build target: what it produces, the function that builds it, what it needs first."""

    description: str
    function: str  # "package.module:function", called as function(ctx) -> dict
    requires: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "tflite": Target("model_float.tflite and model_int8.tflite (LiteRT)",
                     "edgecnn.convert.quantize:build_target"),
    "tflite-micro": Target("tflite-micro/: model_data.h/.cc, model_ops.h, model_settings.h, main.cc",
                           "edgecnn.convert.tflm:build_target"),
    "onnx": Target("model_float.onnx and model_int8.onnx (int8 QDQ)", "edgecnn.convert.onnx_export:build_target"),
    "ort": Target("model_int8.ort (onnxruntime mobile) + its reduced-operator config",
                  "edgecnn.convert.onnx_export:build_ort_target", requires=("onnx",)),
    "c": Target("c/: dependency-free C99 int8 engine (<name>_model.h/.c + kernels), verified on the host",
                "edgecnn.codegen.target:build_target"),
    "cmake": Target("cmake/<name>/: the C engine as a CMake library, an arm-none-eabi toolchain file, an example app",
                    "edgecnn.firmware.cmake:build_target", requires=("c",)),
    "arduino": Target("arduino/edgecnn_<name>/ (+ .zip): the C engine as an Arduino library with a classify sketch",
                      "edgecnn.firmware.arduino:build_target", requires=("c",)),
}
ALL = "all"


@dataclass
class BuildContext:
    """What the shared build stages hand to every target function."""

    out_dir: Path  # temporary build directory; write files here
    name: str  # build name, e.g. "mnist"
    cname: str  # C identifier from name, e.g. "fashion_mnist"
    dataset: str
    model: Any  # keras.Model, float
    model_sha256: str
    tflite_int8: bytes  # also written to out_dir / "model_int8.tflite"
    q_in: Any  # quantize.TensorQuant of the int8 input
    q_out: Any  # quantize.TensorQuant of the int8 output
    ops: list[str]  # distinct builtin ops of the int8 model, sorted
    labels: list[str]  # class names, in output order
    eval_x: Any  # (N, H, W, C) uint8 evaluation images
    eval_y: Any  # (N,) labels
    eval_description: str
    keras_out: Any  # (N, classes) float32 Keras outputs on eval_x
    int8_out: Any  # (N, classes) int8 outputs of LiteRT's default kernels (XNNPACK) on eval_x
    provenance: str  # "// ..." lines to start generated sources with
    command: str
    extra: dict = field(default_factory=dict)  # targets may leave values here for later targets


def target_names() -> list[str]:
    """Registered target names, in registry order, plus "all"."""
    return [*TARGETS, ALL]


def expand(requested: list[str]) -> list[str]:
    """The targets to build, dependencies first, each once; EdgecnnError for an unknown name."""
    names: list[str] = []

    def add(name: str) -> None:
        if name not in TARGETS:
            raise EdgecnnError(f"unknown target {name!r}; expected one of: {', '.join(target_names())}")
        for dep in TARGETS[name].requires:
            add(dep)
        if name not in names:
            names.append(name)

    for name in requested:
        for n in (TARGETS if name == ALL else [name]):
            add(n)
    if not names:
        raise EdgecnnError(f"no target given; expected one or more of: {', '.join(target_names())}")
    return names


def build_function(name: str):
    """Import and return the build function of a registered target."""
    import importlib

    module, func = TARGETS[name].function.split(":")
    return getattr(importlib.import_module(module), func)
