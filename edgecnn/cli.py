"""Typer wiring: every command hands its arguments to a stage function.

No logic lives here. Stage modules are imported inside the commands so that
`edgecnn --help` never imports TensorFlow.
"""

import sys
from pathlib import Path
from typing import Optional

import typer

from edgecnn import __version__
from edgecnn.errors import EdgecnnError

app = typer.Typer(
    name="edgecnn",
    help="Lightweight CNNs from training to microcontrollers and phones.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Fetch, verify and describe data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgecnn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
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


@data_app.command("info")
def data_info(name: str = typer.Argument(..., help="mnist, fashion-mnist or cifar10.")) -> None:
    """Print counts per split and class, shape, source and checksums."""
    from edgecnn.data import info_command

    info_command(name)


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
) -> None:
    """Size, latency, accuracy and agreement of every runtime on one build, side by side."""
    from edgecnn.bench import bench_command

    bench_command(build, runs, warmup, runtime, threads, json_path, markdown, plot)


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
