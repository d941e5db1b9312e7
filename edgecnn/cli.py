"""Typer wiring: every command hands its arguments to a stage function.

No logic lives here. Stage modules are imported inside the commands so that
`edgecnn --help` never imports TensorFlow.
"""

import sys
from pathlib import Path
from typing import Optional

import typer

from edgecnn.errors import EdgecnnError

app = typer.Typer(
    name="edgecnn",
    help="Lightweight CNNs from training to microcontrollers and phones.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Fetch, register, verify and describe data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        from edgecnn.about import version_text

        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the versions of edgecnn and its runtimes and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
) -> None:
    """edgecnn: train, quantize, export and benchmark ~15k-parameter CNNs."""


@data_app.command("fetch")
def data_fetch(
    name: str = typer.Argument(..., help="mnist, fashion-mnist, cifar10 or all."),
    from_: Optional[Path] = typer.Option(None, "--from", help="A directory or archive holding the data set in a supported format."),
) -> None:
    """Fetch a data set into the cache and verify every file's checksum."""
    from edgecnn.data import fetch_command

    fetch_command(name, from_)


@data_app.command("add")
def data_add(
    name: str = typer.Argument(..., help="Name for the data set (lowercase letters, digits, '-', '_'; not a built-in name)."),
    from_: Path = typer.Option(..., "--from", help="Image folder (<class>/*.png|jpg|jpeg|bmp, or train/<class>/... and test/<class>/...), its .tar.gz/.tgz/.zip, or an .npz (x_train, y_train, x_test, y_test, or x, y)."),
    size: Optional[str] = typer.Option(None, "--size", help="Resize every image to HxW (e.g. 64x64); needed when sizes differ."),
    channels: Optional[int] = typer.Option(None, "--channels", help="1 (grayscale) or 3 (RGB); default: 3 if any image is in colour, else 1."),
    resize: str = typer.Option("bilinear", "--resize", help="Resize method: bilinear, bicubic, nearest, area."),
    test_fraction: float = typer.Option(0.2, "--test-fraction", help="Share of each class split off for test when the source has no test split."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of that stratified split (and of the shuffle)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a data set registered under the same name."),
) -> None:
    """Register your own data set: read and check every image, split, cache with checksums."""
    from edgecnn.data import add_command

    add_command(name, from_, size, channels, resize, test_fraction, split_seed, replace)


@data_app.command("info")
def data_info(name: str = typer.Argument(..., help="mnist, fashion-mnist, cifar10 or a registered name.")) -> None:
    """Print counts per split and class, shape, source and checksums."""
    from edgecnn.data import info_command

    info_command(name)


@data_app.command("list")
def data_list() -> None:
    """List the built-in and registered data sets and whether each is in the cache."""
    from edgecnn.data import list_command

    list_command()


@data_app.command("remove")
def data_remove(name: str = typer.Argument(..., help="A data set registered with `data add`.")) -> None:
    """Delete a registered data set from the cache."""
    from edgecnn.data import remove_command

    remove_command(name)


def _build_targets_help() -> str:
    from edgecnn.convert.targets import TARGETS

    listed = "; ".join(f"{name}: {t.description}" for name, t in TARGETS.items())
    return f"What to build (repeatable; default: tflite-micro). {listed}; all: every target."


@app.command("build")
def build_cmd(
    target: list[str] = typer.Option(["tflite-micro"], "--target", help=_build_targets_help()),
    model: Optional[Path] = typer.Option(None, "--model", help="A .keras, .h5, SavedModel directory or .tflite (int8 or float), detected by content; default: the shipped MNIST model."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Data set (built-in or registered with `data add`) for calibration and accuracy; default: the one the model was trained on."),
    data: Optional[Path] = typer.Option(None, "--data", help="Image folder (<class>/*.png|jpg|bmp, or train/ and test/) or .npz for calibration and accuracy; images are resized (bilinear) and converted to the model's channels."),
    input_range: Optional[str] = typer.Option(None, "--input-range", help="Pixel range the model expects: 0,1 | 0,255 | -1,1; default: inferred (Rescaling layer, metrics.json, int8 input quantization)."),
    calibration_samples: int = typer.Option(500, "--calibration-samples", help="Seeded training images for int8 calibration."),
    name: Optional[str] = typer.Option(None, "--name", help="Build name, used in C symbols (g_<name>_model_data); default: the data set."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory; default: build/<name>."),
    max_int8_drop: float = typer.Option(0.5, "--max-int8-drop", help="Warn when int8 top-1 falls more than this many percentage points below float."),
    device_flash: Optional[int] = typer.Option(None, "--device-flash", help="Flash budget in bytes, drawn in report.html."),
    device_ram: Optional[int] = typer.Option(None, "--device-ram", help="RAM budget in bytes, drawn in report.html."),
) -> None:
    """Quantize to int8 and export TFLite / TFLM / ONNX / ORT artifacts, each verified against real runtimes."""
    from edgecnn.convert.build import BuildRequest, build

    build(BuildRequest(tuple(target), model, dataset, calibration_samples, name, out, max_int8_drop,
                       data=data, input_range=input_range, device_flash=device_flash, device_ram=device_ram))


def _bench_runtimes_help() -> str:
    from edgecnn.bench.runtimes import RUNTIMES

    return "Runtime to bench (repeatable; default: all): " + ", ".join(RUNTIMES) + "."


@app.command("bench")
def bench(
    build: Path = typer.Option(Path("build/mnist"), "--build", help="Build directory written by `edgecnn build`."),
    runs: int = typer.Option(1000, "--runs", help="Timed single-image calls per runtime."),
    warmup: int = typer.Option(50, "--warmup", help="Untimed calls before timing."),
    runtime: Optional[list[str]] = typer.Option(None, "--runtime", help=_bench_runtimes_help()),
    threads: int = typer.Option(1, "--threads", help="Threads per runtime (LiteRT, onnxruntime, TensorFlow)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON (units in the keys)."),
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Write the results as a Markdown report."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG of the latency distributions."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Evaluate on this data set (built-in or registered); default: the build's."),
    data: Optional[Path] = typer.Option(None, "--data", help="Evaluate on this image folder or .npz; default: the build's data."),
    device_flash: Optional[int] = typer.Option(None, "--device-flash", help="Flash budget in bytes, drawn in report.html."),
    device_ram: Optional[int] = typer.Option(None, "--device-ram", help="RAM budget in bytes, drawn in report.html."),
) -> None:
    """Size, latency, accuracy and agreement of every runtime on one build, side by side; updates report.html."""
    from edgecnn.bench import bench_command

    bench_command(build, runs, warmup, runtime, threads, json_path, markdown, plot, dataset=dataset, data=data,
                  device=(device_flash, device_ram))


@app.command("train")
def train(
    dataset: str = typer.Option("mnist", "--dataset", help="mnist, fashion-mnist, cifar10 or a data set registered with `edgecnn data add`."),
    method: str = typer.Option("two-stage", "--method", help="two-stage (the paper), baseline, augment-only, two-stage-no-unfreeze."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Total epoch budget (both stages); default: the data set's recipe."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, shuffling and augmentation."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Train on this many (seeded) training images."),
    out: Path = typer.Option(Path("runs/train"), "--out", help="Directory for model.keras, metrics.json, curves.png, confusion.png."),
    max_params: Optional[int] = typer.Option(None, "--max-params", help="Parameter cap for the family member (default 15,000 for a registered set; a built-in set keeps its shipped model unless a budget is given)."),
    max_arena: Optional[int] = typer.Option(None, "--max-arena", help="RAM budget: largest C-engine activation arena in bytes (measured on the untrained int8 model before training)."),
    max_macs: Optional[int] = typer.Option(None, "--max-macs", help="Time budget: most multiply-accumulates per inference (C engine count)."),
    hflip: bool = typer.Option(False, "--hflip", help="Also mirror images left-right in the augmented view (only where a mirror image keeps its label)."),
    family: Optional[str] = typer.Option(None, "--family", help="Train this family member (lite28, lite28r, lite32) instead of the data set's shipped one."),
) -> None:
    """Train the lightweight CNN (default: the paper's two-stage recipe)."""
    from edgecnn.train import TrainConfig, train as run

    run(TrainConfig(dataset=dataset, method=method, epochs=epochs, seed=seed, limit=limit, out=out,
                    max_params=max_params, max_arena=max_arena, max_macs=max_macs, hflip=hflip,
                    family=family))


@app.command("inspect")
def inspect(
    model: Path = typer.Argument(..., help="A .keras, .h5, SavedModel directory or .tflite model (detected by content), "
                                 "or a build directory (with --layers)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    layers: bool = typer.Option(False, "--layers", help="Build directory: per-layer quantization error, runtime "
                                "disagreement, MACs, weights, arena offset and live bytes."),
    images: int = typer.Option(100, "--images", help="With --layers: evaluation images to run."),
    cortex_m4: bool = typer.Option(False, "--cortex-m4", help="With --layers: count each layer's Cortex-M4 "
                                   "instructions under QEMU."),
) -> None:
    """Per-layer table: output shape, params, MACs, int8 activation bytes, totals."""
    if layers:
        from edgecnn.insight.command import layers_command

        return layers_command(model, as_json, images, cortex_m4)
    from edgecnn.summary import inspect_command

    inspect_command(model, as_json)


def main() -> None:
    """Console-script entry point: one clear line for user errors, traceback with --debug."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except EdgecnnError as err:
        if debug:
            raise
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
