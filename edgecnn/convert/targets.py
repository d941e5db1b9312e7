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
    # The ops it runs: "package.module:NAME" of a collection of builtin op names, or None for any
    # builtin op (LiteRT itself; the ONNX exports, which tf2onnx converts op by op and the build verifies).
    ops: str | None = None
    runner: str = ""  # who runs the ops, for the op-list message
    multi_io: bool = False  # builds models with several inputs or outputs (multiio.py)
    pixels: bool = False  # needs an image input with a pixel range (its example feeds uint8 pixels)


TARGETS: dict[str, Target] = {
    "tflite": Target("model_float.tflite and model_int8.tflite (LiteRT)",
                     "edgecnn.convert.quantize:build_target", multi_io=True),
    "tflite-micro": Target("tflite-micro/: model_data.h/.cc, model_ops.h, model_settings.h, main.cc",
                           "edgecnn.convert.tflm:build_target", ops="edgecnn.convert.layers:TFLM_OPS",
                           runner="TFLM's MicroMutableOpResolver", multi_io=True),
    "onnx": Target("model_float.onnx and model_int8.onnx (int8 QDQ)", "edgecnn.convert.onnx_export:build_target"),
    "ort": Target("model_int8.ort (onnxruntime mobile) + its reduced-operator config",
                  "edgecnn.convert.onnx_export:build_ort_target", requires=("onnx",)),
    "c": Target("c/: dependency-free C99 int8 engine (<name>_model.h/.c + kernels), verified on the host",
                "edgecnn.codegen.target:build_target", ops="edgecnn.codegen.ops:OPS",
                runner="the C engine (edgecnn/codegen/ops.py)", multi_io=True),
    "cmake": Target("cmake/<name>/: the C engine as a CMake library, an arm-none-eabi toolchain file, an example app",
                    "edgecnn.firmware.cmake:build_target", requires=("c",), pixels=True),
    "arduino": Target("arduino/edgecnn_<name>/ (+ .zip): the C engine as an Arduino library with a classify sketch",
                      "edgecnn.firmware.arduino:build_target", requires=("c",), pixels=True),
}
ALL = "all"


@dataclass
class BuildContext:
    """What the shared build stages hand to every target function."""

    out_dir: Path  # temporary build directory; write files here
    name: str  # build name, e.g. "mnist"
    cname: str  # C identifier from name, e.g. "fashion_mnist"
    dataset: str | None  # data set name, or None (--data PATH or random inputs)
    model: Any  # keras.Model, float; None when the source is a .tflite
    model_sha256: str
    tflite_int8: bytes  # also written to out_dir / "model_int8.tflite"
    q_in: Any  # quantize.TensorQuant of the int8 input
    q_out: Any  # quantize.TensorQuant of the int8 output
    ops: list[str]  # distinct builtin ops of the int8 model, sorted
    labels: list[str]  # class names, in output order
    eval_x: Any  # (N, ...) float32 evaluation inputs in the model's input units (feed.py)
    eval_y: Any  # (N,) labels, or None when accuracy is unknown (random inputs, unlabelled data)
    eval_description: str
    keras_out: Any  # (N, K) float32 outputs of the float model (Keras or float .tflite) on eval_x, or None
    int8_out: Any  # (N, classes) int8 outputs of LiteRT's default kernels (XNNPACK) on eval_x
    provenance: str  # "// ..." lines to start generated sources with
    command: str
    float_tflite: bytes | None = None  # the source float .tflite (float .tflite front end)
    input_range: tuple[float, float] | None = None  # pixels [0, 255] map to this; None: not an image / unknown
    extra: dict = field(default_factory=dict)  # targets may leave values here for later targets
    # Every input / output in the model's order, and their .tflite names. With several, eval_x,
    # int8_out and keras_out (None) are packed (multiio.py) and labels is empty.
    q_ins: tuple = ()
    q_outs: tuple = ()
    io_names: tuple = ((), ())

    @property
    def multi_io(self) -> bool:
        return len(self.q_ins) > 1 or len(self.q_outs) > 1


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


def supported_ops(name: str) -> set[str] | None:
    """The builtin ops a target runs (its op table's keys), or None when it runs any builtin op."""
    import importlib

    spec = TARGETS[name].ops
    if spec is None:
        return None
    module, attr = spec.split(":")
    return set(getattr(importlib.import_module(module), attr))


def gate(name: str, rows: list) -> str | None:
    """None when target `name` runs every op in rows (graphinfo.OpRow), else the op-by-op reason."""
    from edgecnn.convert.graphinfo import missing_ops

    ops = supported_ops(name)
    return None if ops is None else missing_ops(rows, ops, name, TARGETS[name].runner)
