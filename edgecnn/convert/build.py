"""`edgecnn build`: quantize once, build every requested target, verify, then publish atomically.

Everything is written to a temporary directory beside `--out` and renamed
into place only when every target and every check succeeded, so a failed
build leaves `--out` as it was.
"""

import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from edgecnn import __version__
from edgecnn.console import console
from edgecnn.convert import manifest as mf
from edgecnn.convert import report
from edgecnn.convert.layers import check_layers, count_macs, resolver_methods
from edgecnn.convert.targets import BuildContext, build_function, expand
from edgecnn.errors import EdgecnnError
from edgecnn.paths import shipped_model_dir

# Data sets recognised from the model's input shape when neither --dataset nor metrics.json says.
DATASET_FOR_SHAPE = {(28, 28, 1): "mnist", (32, 32, 3): "cifar10"}
CALIBRATION_SEED = 0


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


def resolve_dataset(requested: str | None, model_path: Path, input_shape: tuple) -> tuple[str, str | None]:
    """(data set, note): --dataset, else metrics.json beside the model, else the input shape."""
    from edgecnn.data.registry import get_spec

    if requested is not None:
        dataset, note = requested, None
    else:
        trained_on = read_metrics(model_path).get("dataset")
        if trained_on:
            dataset, note = trained_on, f"data set {trained_on!r} from {model_path.parent / 'metrics.json'}"
        elif input_shape in DATASET_FOR_SHAPE:
            dataset = DATASET_FOR_SHAPE[input_shape]
            note = (f"no --dataset and no metrics.json beside the model: assuming {dataset!r} from the "
                    f"input shape {input_shape} (pass --dataset to choose another)")
        else:
            raise EdgecnnError(f"cannot tell the data set of a model with input shape {input_shape}; "
                               f"pass --dataset (known shapes: {DATASET_FOR_SHAPE})")
    spec = get_spec(dataset)
    if tuple(spec.image_shape) != tuple(input_shape):
        raise EdgecnnError(f"model input shape {input_shape} does not match {dataset} images {spec.image_shape}")
    return dataset, note


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
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
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
    """Run a build; returns (output directory, manifest). Raises EdgecnnError, leaving --out untouched."""
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
        from edgecnn.convert.quantize import load_keras

        model = load_keras(model_path)
        check_layers(model)
        dataset, note = resolve_dataset(req.dataset, model_path, tuple(model.input_shape[1:]))
        if note:
            console.print(f"[yellow]{note}[/]")
        name = check_name(req.name or dataset)
        out = Path(req.out) if req.out is not None else Path("build") / name
        tmp = tmp or prepare_out(out)
        manifest = _build_into(tmp, req, targets, model, model_path, dataset, name)
        publish(tmp, out)
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    report.summary(out, manifest, time.monotonic() - t0)
    return out, manifest


def _build_into(tmp: Path, req: BuildRequest, targets: list[str], model, model_path: Path,
                dataset: str, name: str) -> dict:
    """The shared stages (int8 model, accuracy), then each target into tmp; returns the manifest."""
    from edgecnn.convert import runners
    from edgecnn.convert.tflm import c_identifier, provenance_comment
    from edgecnn.data.registry import get_spec
    from edgecnn.samples import evaluation_data

    command = req.command or shlex.join(["edgecnn", *sys.argv[1:]])
    tflite, calibration = _quantize(model, dataset, req.calibration_samples)
    model_bytes = model_path.read_bytes()
    (tmp / "model.keras").write_bytes(model_bytes)
    (tmp / "model_int8.tflite").write_bytes(tflite.data)
    model_sha = mf.sha256_bytes(model_bytes)

    ev = evaluation_data(dataset)
    keras_out = runners.run_keras(model, ev.x)
    int8_out = runners.run_litert(tflite.data, ev.x, "LiteRT int8")
    evaluation = report.accuracy(dataset, ev, keras_out, int8_out, req.max_int8_drop_pp)

    spec = get_spec(dataset)
    ctx = BuildContext(
        out_dir=tmp, name=name, cname=c_identifier(name), dataset=dataset, model=model,
        model_sha256=model_sha, tflite_int8=tflite.data, q_in=tflite.q_in, q_out=tflite.q_out, ops=tflite.ops,
        labels=list(spec.class_names), eval_x=ev.x, eval_y=ev.y, eval_description=ev.description,
        keras_out=keras_out, int8_out=int8_out, command=command,
        provenance=provenance_comment(f"edgecnn {__version__}", model_sha, mf.sha256_bytes(tflite.data), command))
    manifest = {
        "tool": {"name": "edgecnn", "version": __version__}, "command": command, "name": name,
        "targets": targets, "dataset": dataset,
        "dataset_label": read_metrics(model_path).get("dataset_label", spec.label),
        "source_model": {"path": str(model_path), "sha256": model_sha, "params": int(model.count_params()),
                         "macs": count_macs(model)},
        "input": tflite.q_in.as_dict(), "output": tflite.q_out.as_dict(), "ops": tflite.ops,
        "calibration": calibration, "evaluation": evaluation,
        "verification": {"int8_references": (
            "accuracy, ONNX and ORT: LiteRT int8 with its default kernels (XNNPACK), one thread; TFLM: LiteRT "
            "int8 reference kernels (TFLite's integer arithmetic, which TFLM implements)")},
    }
    manifest = _run_targets(ctx, targets, manifest)
    from edgecnn import htmlreport
    from edgecnn.htmlreport import collect

    htmlreport.write(tmp, manifest, collect.at_build(ctx, collect.device_budget(req.device_flash, req.device_ram)))
    return manifest


def _quantize(model, dataset: str, n: int):
    """The int8 model (quantize.Int8Model) and the manifest's "calibration" entry."""
    from edgecnn.convert import quantize
    from edgecnn.samples import calibration_data

    calib_x, calib_desc = calibration_data(dataset, n, seed=CALIBRATION_SEED)
    console.print(f"quantizing to int8, calibrating on {calib_desc}")
    tflite = quantize.int8_model(model, calib_x)
    resolver_methods(tflite.ops)  # an op TFLM cannot register fails here, before any target runs
    return tflite, {"samples": int(len(calib_x)), "seed": CALIBRATION_SEED, "description": calib_desc}


def _run_targets(ctx: BuildContext, targets: list[str], manifest: dict) -> dict:
    """Build each target into ctx.out_dir, merge its entries, then hash everything and write the manifest."""
    declared: dict[str, str] = {}
    for target in targets:
        console.print(f"building [bold]{target}[/]")
        entry = build_function(target)(ctx)
        declared.update(entry.pop("reproducibility", {}).get("not_byte_identical", {}))
        mf.merge(manifest, entry)
    files = mf.artifacts(ctx.out_dir)
    manifest["artifacts"] = files
    manifest["versions"] = mf.versions()
    manifest["reproducibility"] = mf.reproducibility(files, declared)
    mf.write(ctx.out_dir, manifest)
    return manifest


def read_metrics(model_path: Path) -> dict:
    """metrics.json written by `edgecnn train` beside the model, or {} when there is none."""
    path = model_path.parent / "metrics.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise EdgecnnError(f"{path} is not valid JSON ({err}); expected the metrics.json of `edgecnn train`") from None
