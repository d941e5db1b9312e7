"""ONNX exports: float from the Keras model, int8 QDQ from the int8 .tflite, and the ORT mobile format.

tf2onnx's `from_keras` fails under Keras 3, so the float model goes through
`from_function` on the batch-1 tf.function. The int8 model goes through
tf2onnx's TFLite front end, which keeps the exact int8 parameters. tf2onnx
names tensors from a process-wide counter (`zero_point__75`), so every
export is renamed canonically (by position in the graph) to make two builds
byte-identical.
"""

import logging
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError

OPSET = 17
ORT_CONFIG = "model_int8.required_operators.config"
# onnxruntime's ORT-format writer emits kernel records in hash-map order, and its hashes are seeded
# from memory addresses: with address randomization off (setarch -R) the output is byte-identical.
ORT_NOT_REPRODUCIBLE = ("`setarch -R` (address randomization off) is unavailable here, and onnxruntime's "
                        "ORT-format writer orders kernel records by address-seeded hashes, so the order changes "
                        "from run to run (same records); every build checks its outputs against LiteRT int8")
# With it off, the order follows the converter process's heap layout, which another installation or
# Python state (e.g. bytecode caches) changes; measured in docs/packaging.md.
ORT_SAME_INSTALLATION_ONLY = ("address randomization is off (`setarch -R`), so rebuilds on one installation give the "
                              "same bytes; but onnxruntime's ORT-format writer orders kernel records by hashes of "
                              "memory addresses, and another installation or Python state (e.g. bytecode caches) lays "
                              "out the converter's heap differently and can give another order (same records); every "
                              "build checks its outputs against LiteRT int8")


def _quiet_tf2onnx():
    import tf2onnx

    tf2onnx.logging.set_level(logging.ERROR)
    return tf2onnx


def canonicalize(model):
    """Rename nodes and intermediate tensors by position (n0_Conv, t0, ...) and drop doc strings.

    Graph inputs and outputs keep their names. Initializers are sorted by
    their new name, so the serialized bytes depend only on the graph.
    """
    g = model.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output}
    mapping: dict[str, str] = {}

    def rename(name: str) -> str:
        if name == "" or name in keep:
            return name
        return mapping.setdefault(name, f"t{len(mapping)}")

    for i, node in enumerate(g.node):
        node.name = f"n{i}_{node.op_type}"
        node.input[:] = [rename(x) for x in node.input]
        node.output[:] = [rename(x) for x in node.output]
    for t in g.initializer:
        t.name = rename(t.name)
    order = {new: i for i, new in enumerate(mapping.values())}
    inits = sorted(g.initializer, key=lambda t: order.get(t.name, -1))
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]  # shape hints only; onnxruntime re-infers them
    model.doc_string = ""
    g.doc_string = ""
    g.name = "edgecnn"
    return model


def _save_checked(model, path: Path) -> None:
    import onnx

    onnx.save(canonicalize(model), path)
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as err:
        raise EdgecnnError(f"{path.name} fails onnx.checker (full check): {str(err).splitlines()[0]}") from None


def export_float(model, path: Path) -> None:
    """Float ONNX of the Keras model at batch 1 (input "image", float32 NHWC in [0, 1])."""
    import tensorflow as tf

    from edgecnn.convert.quantize import batch1_function

    tf2onnx = _quiet_tf2onnx()
    spec = [tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image")]
    with quiet():
        proto, _ = tf2onnx.convert.from_function(batch1_function(model), input_signature=spec, opset=OPSET)
    _save_checked(proto, path)


def export_int8(tflite_path: Path, path: Path) -> None:
    """ONNX from a .tflite: int8 QDQ from the int8 one (int8 input and output), float from a float one."""
    tf2onnx = _quiet_tf2onnx()
    with quiet():  # tf2onnx's TFLite reader uses the deprecated tf.lite.Interpreter, which warns
        proto, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=OPSET)
    _save_checked(proto, path)


def no_aslr_prefix() -> list[str]:
    """`setarch <arch> -R` when this system allows turning address randomization off, else []."""
    exe = shutil.which("setarch")
    if exe is None:
        return []
    prefix = [exe, platform.machine(), "-R"]
    ok = subprocess.run([*prefix, sys.executable, "-c", ""], capture_output=True).returncode == 0
    return prefix if ok else []


def export_ort(onnx_path: Path, out_dir: Path, prefix: list[str]) -> tuple[Path, Path]:
    """ORT format (for onnxruntime-mobile) plus its reduced-operator config, via onnxruntime's converter.

    'Fixed' optimization bakes in the optimizations for the CPU execution
    provider on ARM (phones); the config lists exactly the operators a
    minimal onnxruntime build needs (`--include_ops_by_config`).
    `prefix` runs the converter under e.g. `setarch -R` (see no_aslr_prefix).
    Returns (ort path, config path) inside out_dir.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in" / onnx_path.name
        src.parent.mkdir()
        src.write_bytes(onnx_path.read_bytes())
        dst = Path(tmp) / "out"
        cmd = [*prefix, sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", str(src.parent),
               "--output_dir", str(dst), "--optimization_style", "Fixed", "--target_platform", "arm"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        ort_file = dst / onnx_path.with_suffix(".ort").name
        config = dst / "required_operators.config"
        if res.returncode != 0 or not ort_file.is_file() or not config.is_file():
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EdgecnnError(f"onnxruntime's ORT converter failed on {onnx_path.name}: {tail[0]}")
        out_ort = out_dir / ort_file.name
        out_ort.write_bytes(ort_file.read_bytes())
        # The converter writes the absolute temp path of the model into the config; name the file instead.
        lines = [f"# - {out_ort.name}" if line.startswith("# - ") else line
                 for line in config.read_text().splitlines()]
        out_cfg = out_dir / ORT_CONFIG
        out_cfg.write_text("\n".join(lines) + "\n")
    return out_ort, out_cfg


def build_target(ctx) -> dict:
    """`onnx` target: float (when there is a float model) and int8 ONNX, each run in onnxruntime."""
    from edgecnn.console import console
    from edgecnn.convert.runners import run_onnx
    from edgecnn.convert.verify import CROSS_KERNEL_FRACTION, compare_float, compare_int8, require

    f_path, q_path = ctx.out_dir / "model_float.onnx", ctx.out_dir / "model_int8.onnx"
    export_int8(ctx.out_dir / "model_int8.tflite", q_path)
    q_out = run_onnx(q_path, ctx.eval_x, "onnxruntime int8", ctx.q_in)
    entry = {"verification": {"onnx_int8_vs_litert_int8": require(compare_int8(
        "model_int8.onnx (onnxruntime) vs LiteRT int8", q_out, ctx.int8_out, 1, CROSS_KERNEL_FRACTION))}}
    if ctx.model is None and ctx.float_tflite is None:
        why = "no float model (the source is an int8 .tflite)"
        console.print(f"[cyan]onnx: model_float.onnx skipped:[/] {why}")
        return entry | {"skipped": {"model_float.onnx": why}}
    if ctx.model is not None:
        export_float(ctx.model, f_path)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "float.tflite").write_bytes(ctx.float_tflite)
            export_int8(Path(tmp) / "float.tflite", f_path)
    f_out = run_onnx(f_path, ctx.eval_x, "onnxruntime float")
    entry["verification"]["onnx_float_vs_keras"] = require(compare_float(
        "model_float.onnx (onnxruntime) vs the float model", f_out, ctx.keras_out))
    return entry


def build_ort_target(ctx) -> dict:
    """`ort` target: model_int8.ort + reduced-operator config, run in onnxruntime against LiteRT int8."""
    from edgecnn.convert.runners import run_onnx
    from edgecnn.convert.verify import CROSS_KERNEL_FRACTION, compare_int8, require

    prefix = no_aslr_prefix()
    ort_path, cfg_path = export_ort(ctx.out_dir / "model_int8.onnx", ctx.out_dir, prefix)
    got = run_onnx(ort_path, ctx.eval_x, "onnxruntime .ort", ctx.q_in)
    entry = {
        "ort": {"model": ort_path.name, "required_operators_config": cfg_path.name,
                "optimization_style": "Fixed", "target_platform": "arm",
                "converter": "python -m onnxruntime.tools.convert_onnx_models_to_ort",
                "address_randomization_off": bool(prefix)},
        "verification": {"ort_vs_litert_int8": require(compare_int8(
            "model_int8.ort (onnxruntime) vs LiteRT int8", got, ctx.int8_out, 1, CROSS_KERNEL_FRACTION))},
    }
    why = ORT_SAME_INSTALLATION_ONLY if prefix else ORT_NOT_REPRODUCIBLE
    entry["reproducibility"] = {"not_byte_identical": {ort_path.name: why}}
    return entry
