"""`edgecnn build`: quantize once, build every requested target, verify, then publish atomically.

Everything is written to a temporary directory beside `--out` and renamed
into place only when every target and every check succeeded, so a failed
build leaves `--out` as it was.
"""

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from edgecnn import __version__
from edgecnn.console import console
from edgecnn.convert import manifest as mf
from edgecnn.convert import report
from edgecnn.convert.multiio import check_target
from edgecnn.convert.targets import TARGETS, BuildContext, build_function, expand, gate
from edgecnn.errors import EdgecnnError, TargetCannotRun
from edgecnn.paths import shipped_model_dir

CALIBRATION_SEED = 0
# Artifacts made from the float model: skipped (one line, recorded) when the source is an int8 .tflite.
FLOAT_ARTIFACTS_WHY = ("the source is a full-integer int8 .tflite; there is no float model to export "
                       "(the int8 artifacts are built and verified from it)")


@dataclass(frozen=True)
class BuildRequest:
    """The `edgecnn build` arguments; None means "the default" (see resolve_* below)."""

    targets: tuple[str, ...] = ("tflite-micro",)
    model: Path | None = None
    dataset: str | None = None
    calibration_samples: int = 500
    name: str | None = None
    out: Path | None = None
    max_int8_drop_pp: float = 0.5
    command: str | None = None
    data: Path | None = None  # --data PATH: image folder or .npz for calibration and evaluation
    input_range: str | None = None  # --input-range "0,1" | "0,255" | "-1,1"
    device_flash: int | None = None  # bytes, for the report's flash bar
    device_ram: int | None = None


def resolve_model_path(model: Path | None) -> Path:
    """--model, else the shipped MNIST model; a clear error when the shipped one is not installed."""
    if model is not None:
        return Path(model)
    path = shipped_model_dir("mnist") / "model.keras"
    if not path.is_file():
        raise EdgecnnError(f"the shipped MNIST model is not installed (expected {path}); "
                           "pass --model PATH to a .keras model, or train one with `edgecnn train`")
    return path


def check_name(name: str) -> str:
    """A build name usable as a directory name and (after c_identifier) in C symbols."""
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise EdgecnnError(f"build name {name!r}: expected letters, digits, '-', '_' or '.', not starting with '.'")
    return name


def prepare_out(out: Path) -> Path:
    """Check --out can be (re)placed and return a fresh temporary directory beside it."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / mf.MANIFEST).is_file())):
        raise EdgecnnError(f"output directory {out} exists and is not an edgecnn build directory "
                           "(no manifest.json); refusing to overwrite it, choose another --out")
    existing = next(p for p in (out.parent, *out.parent.parents) if p.exists())
    if not existing.is_dir():
        raise EdgecnnError(f"cannot write the output directory {out}: {existing} is a file, not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Absolute: tools that targets run from other directories (cmake -B elsewhere) get usable paths.
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent.resolve()))
    except OSError as err:
        raise EdgecnnError(f"cannot write the output directory {out}: {out.parent} is not writable "
                           f"({err.strerror or err})") from None


def publish(tmp: Path, out: Path) -> None:
    """Move the finished build into place, replacing a previous build of the same name."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build(req: BuildRequest) -> tuple[Path, dict]:
    """Run a build; returns (output directory, manifest). Raises EdgecnnError, leaving --out untouched.

    A target that cannot run one of the model's ops is not built; the others are, and are
    published; then EdgecnnError names the failed targets and their ops (exit 2). When no
    requested target could be built, nothing is published.
    """
    t0 = time.monotonic()
    targets = expand(list(req.targets))
    if req.calibration_samples < 1:
        raise EdgecnnError(f"--calibration-samples {req.calibration_samples}: expected at least 1")
    if req.name is not None:
        check_name(req.name)
    from edgecnn.htmlreport.collect import device_budget

    device_budget(req.device_flash, req.device_ram)  # a bad budget fails before any work
    model_path = resolve_model_path(req.model)
    # With --out given, an unwritable directory fails before TensorFlow loads.
    tmp = prepare_out(Path(req.out)) if req.out is not None else None
    try:
        from edgecnn.convert import frontends

        src = frontends.load(model_path)
        console.print(f"model: {model_path} ({src.description})")
        metrics = read_metrics(model_path) if model_path.is_file() else {}
        fd = _feed(src, req, metrics)
        if fd.x is None:  # several inputs or outputs: the data options did not apply (fd.notes says so)
            req, metrics = replace(req, dataset=None, data=None, input_range=None), {}
        for note in fd.notes:
            console.print(f"[yellow]{note}[/]")
        name = check_name(req.name or req.dataset or metrics.get("dataset") or _stem(model_path))
        out = Path(req.out) if req.out is not None else Path("build") / name
        tmp = tmp or prepare_out(out)
        manifest = _build_into(tmp, out, req, targets, src, fd, metrics, name)
        built = [t for t in targets if t not in manifest["failed_targets"]]
        if built:
            publish(tmp, out)
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    failed = manifest["failed_targets"]
    if built:
        report.summary(out, manifest, time.monotonic() - t0)
    if failed:
        where = f"; the other targets are in {out}" if built else "; nothing was written"
        raise EdgecnnError(f"{len(failed)} target(s) not built ({'; '.join(failed.values())}){where}")
    return out, manifest


def _feed(src, req: BuildRequest, metrics: dict):
    """Calibration and evaluation data: datasource for one input and one output, else multiio's random feed."""
    from edgecnn.convert import datasource, multiio, pivot

    n_in, n_out = multiio.counts(src)
    if n_in > 1 or n_out > 1:
        return multiio.make_feed(src, n_in, n_out, dataset=req.dataset, data=req.data, input_range=req.input_range,
                                 calibration_samples=req.calibration_samples)
    shape, out_shape, q_in = pivot.io_shapes(src)
    return datasource.make_feed(src, shape, out_shape, q_in, dataset=req.dataset, data=req.data,
                                input_range=req.input_range, metrics=metrics,
                                calibration_samples=req.calibration_samples)


def _stem(path: Path) -> str:
    """A build name from a model path: its file or directory name without the suffix."""
    stem = Path(path).stem or "model"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).lstrip(".") or "model"


def _build_into(tmp: Path, out: Path, req: BuildRequest, targets: list[str], src, fd, metrics: dict,
                name: str) -> dict:
    """The shared stages (int8 pivot, accuracy), then each target into tmp (to become out); returns the manifest."""
    from edgecnn.convert import pivot
    from edgecnn.convert.graphinfo import total_macs
    from edgecnn.convert.provenance import PATHS_NOTE, recorded_command, recorded_path
    from edgecnn.convert.tflm import c_identifier, provenance_comment

    command = req.command or recorded_command(sys.argv[1:], out)
    pv = pivot.make(src, fd, console)
    fd = fd if fd.x is not None else replace(fd, x=pv.x)
    tflite = pv.int8
    model_bytes = _source_bytes(src)
    model_sha = mf.sha256_bytes(model_bytes)
    if src.keras is not None and src.format == "keras":
        (tmp / "model.keras").write_bytes(model_bytes)
    (tmp / "model_int8.tflite").write_bytes(tflite.data)
    evaluation = report.accuracy(req.dataset or metrics.get("dataset"), fd, pv.float_out, pv.int8_out,
                                 req.max_int8_drop_pp)
    ctx = BuildContext(
        out_dir=tmp, name=name, cname=c_identifier(name), dataset=req.dataset or metrics.get("dataset"),
        model=src.keras, model_sha256=model_sha, tflite_int8=tflite.data, q_in=tflite.q_in, q_out=tflite.q_out,
        ops=tflite.ops, labels=list(fd.labels), eval_x=fd.x, eval_y=fd.y, eval_description=fd.description,
        keras_out=pv.float_out, int8_out=pv.int8_out, command=command,
        provenance=provenance_comment(f"edgecnn {__version__}", model_sha, mf.sha256_bytes(tflite.data), command),
        float_tflite=pv.float_tflite, input_range=fd.input_range, q_ins=tflite.q_ins, q_outs=tflite.q_outs,
        io_names=tflite.names)
    manifest = {
        "tool": {"name": "edgecnn", "version": __version__}, "command": command, "name": name,
        "targets": targets, "dataset": ctx.dataset,
        "dataset_label": metrics.get("dataset_label") or fd.label or fd.description,
        "recorded_paths": PATHS_NOTE,
        "source_model": {"path": recorded_path(src.path, out), "format": src.format, "description": src.description,
                         "sha256": model_sha, "params": _params(src, pv.rows),
                         "macs": total_macs(pv.rows), "macs_from": "the int8 graph's ops (graphinfo.MACS)",
                         "quantizer": pv.quantizer},
        **_io_entries(tflite, fd), "ops": tflite.ops,
        "op_layers": [{"op": r.op, "layer": r.layer, "macs": r.macs} for r in pv.rows],
        "data": fd.as_dict() | {"path": None if req.data is None else recorded_path(req.data, out)},
        "calibration": None if fd.calib is None else {"samples": int(len(fd.calib)), "seed": CALIBRATION_SEED,
                                                      "description": fd.calib_description},
        "evaluation": evaluation, "skipped": {}, "failed_targets": {},
        "verification": {"int8_references": (
            "accuracy, ONNX and ORT: LiteRT int8 with its default kernels (XNNPACK), one thread; TFLM: LiteRT "
            "int8 reference kernels (TFLite's integer arithmetic, which TFLM implements)")},
    }
    if not src.has_float:
        manifest["skipped"]["model_float.*"] = FLOAT_ARTIFACTS_WHY
    manifest = _run_targets(ctx, targets, manifest, pv.rows)
    from edgecnn import htmlreport
    from edgecnn.htmlreport import collect

    htmlreport.write(tmp, manifest, collect.at_build(ctx, collect.device_budget(req.device_flash, req.device_ram)))
    return manifest


def _io_entries(tflite, fd) -> dict:
    """"input" and "output"; with several inputs or outputs, "inputs" and "outputs" (lists, model order)."""
    if tflite.multi_io:
        from edgecnn.convert.multiio import io_entries

        return {"inputs": io_entries(tflite.q_ins, tflite.names[0]),
                "outputs": io_entries(tflite.q_outs, tflite.names[1])}
    return {"input": tflite.q_in.as_dict() | {"range": list(fd.input_range) if fd.input_range else None,
                                              "range_source": fd.input_range_source},
            "output": tflite.q_out.as_dict()}


def _params(src, rows: list) -> int:
    """Trainable + other weights of the float Keras model, else the int8 graph's constant elements."""
    return int(src.keras.count_params()) if src.keras is not None else int(sum(r.params for r in rows))


def _source_bytes(src) -> bytes:
    """The bytes the source model's sha256 is taken over (a SavedModel: its saved_model.pb)."""
    path = Path(src.path)
    return (path / "saved_model.pb").read_bytes() if path.is_dir() else path.read_bytes()


def _run_targets(ctx: BuildContext, targets: list[str], manifest: dict, rows: list) -> dict:
    """Build each target whose ops it runs into ctx.out_dir, merge its entries, hash everything, write the manifest."""
    declared: dict[str, str] = {}
    failed = manifest["failed_targets"]
    for target in targets:
        reason = gate(target, rows) or (check_target(target, TARGETS[target].multi_io) if ctx.multi_io else None)
        if reason is None and TARGETS[target].pixels and ctx.input_range is None:
            reason = (f"target {target}: its example feeds uint8 pixels, but this model's input is not an image "
                      "with a pixel range (--input-range); build the c target and feed the engine directly")
        lacking = [dep for dep in TARGETS[target].requires if dep in failed]
        if lacking:
            reason = f"target {target}: needs {', '.join(lacking)}, which was not built"
        if reason:
            console.print(f"[red]not building {target}:[/] {reason}")
            failed[target] = reason
            continue
        console.print(f"building [bold]{target}[/]")
        before = _files(ctx.out_dir)
        try:
            entry = build_function(target)(ctx)
        except TargetCannotRun as err:
            for path in sorted(_files(ctx.out_dir) - before, reverse=True):  # children before their directory
                path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
            console.print(f"[red]not building {target}:[/] {err}")
            failed[target] = f"target {target}: {err}"
            continue
        declared.update(entry.pop("reproducibility", {}).get("not_byte_identical", {}))
        mf.merge(manifest, entry)
    files = mf.artifacts(ctx.out_dir)
    manifest["artifacts"] = files
    manifest["versions"] = mf.versions()
    manifest["reproducibility"] = mf.reproducibility(files, declared)
    mf.write(ctx.out_dir, manifest)
    return manifest


def _files(root: Path) -> set[Path]:
    """Every file and directory below root (to remove what a failed target wrote)."""
    return set(root.rglob("*"))


def read_metrics(model_path: Path) -> dict:
    """metrics.json written by `edgecnn train` beside the model, or {} when there is none."""
    path = model_path.parent / "metrics.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise EdgecnnError(f"{path} is not valid JSON ({err}); expected the metrics.json of `edgecnn train`") from None
