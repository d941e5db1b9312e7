"""The `edgecnn data` commands (fetch, add, info, list, remove): progress and printed summaries."""

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from edgecnn.console import progress
from edgecnn.data import formats, userset
from edgecnn.data.cache import read_manifest
from edgecnn.data.loading import fetch, load
from edgecnn.data.registry import NAMES, Dataset, get_spec
from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.data.userdata import ReadOptions, parse_size
from edgecnn.errors import EdgecnnError
from edgecnn.paths import data_dir


def _summary(ds: Dataset) -> str:
    h, w, c = ds.x_train.shape[1:]
    return (f"{ds.label}: {len(ds.y_train)} train / {len(ds.y_test)} test images, {h}x{w}x{c} uint8, "
            f"{len(ds.class_names)} classes; from {ds.source}; cached in {data_dir() / ds.name}")


def _served_by(path: Path) -> set[str]:
    """Names of the data sets whose format `path` holds (for `fetch all --from PATH`)."""
    with Tree(path) as tree:
        served = {n for n in NAMES if formats.detect(get_spec(n), tree)}
    if not served:
        wanted = "; ".join(f.description for f in formats.FORMATS.values())
        raise EdgecnnError(f"{path}: holds none of the supported formats; expected {wanted}")
    return served


def fetch_command(name: str, from_: Path | None) -> None:
    """Fetch one data set or "all" with Rich progress, then print one summary line per data set.

    With "all" and --from, the path is used for the data sets whose format it holds
    (e.g. the CIFAR-10 JPEG copy) and the default sources for the others.
    """
    if name in userset.registered():
        fetch(name)  # raises: a registered set has nothing to fetch, and says how to read it again
    if name != "all" and name not in NAMES:
        raise EdgecnnError(f"unknown data set {name!r}; expected one of: {', '.join(NAMES)}, all")
    names = NAMES if name == "all" else (name,)
    served = _served_by(from_) if name == "all" and from_ is not None else set(names)
    out = Console()
    fetched, failed = [], []
    with progress() as bar:
        reporter = Reporter(bar)
        for n in names:
            try:
                fetched.append(fetch(n, from_ if n in served else None, reporter=reporter))
            except EdgecnnError as err:
                if name != "all":
                    raise
                failed.append(f"{n}: {err}")
    for ds in fetched:
        out.print(_summary(ds), highlight=False, soft_wrap=True)
    if failed:
        ok = ", ".join(ds.name for ds in fetched) or "none"
        raise EdgecnnError(f"fetched {ok}; failed {' | '.join(failed)}")


def info_command(name: str) -> None:
    """Print counts per split and class, image shape, source, checksums and how they were verified."""
    spec = get_spec(name)
    ds = load(spec.name)
    manifest = read_manifest(data_dir(), ds.name)
    out = Console()
    h, w, c = ds.x_train.shape[1:]
    out.print(f"[bold]{ds.label}[/bold] ({ds.name})", highlight=False)
    out.print(f"source: {ds.source}", highlight=False, soft_wrap=True)
    when = "added" if spec.origin == userset.ORIGIN else "fetched"
    out.print(f"cache: {data_dir() / ds.name} ({when} {manifest.get('fetched_at', '?')})", highlight=False)
    out.print(f"image shape: {h}x{w}x{c} uint8", highlight=False)
    out.print(f"train: {len(ds.y_train)} images, test: {len(ds.y_test)} images", highlight=False)
    table = Table("label", "class", "train", "test")
    train_counts = np.bincount(ds.y_train, minlength=len(ds.class_names))
    test_counts = np.bincount(ds.y_test, minlength=len(ds.class_names))
    for i, cls in enumerate(ds.class_names):
        table.add_row(str(i), cls, str(train_counts[i]), str(test_counts[i]))
    table.add_row("", "total", str(len(ds.y_train)), str(len(ds.y_test)))
    out.print(table)
    out.print("checksums:", highlight=False)
    for fname, digest in ds.checksums.items():
        out.print(f"  {fname}  {digest}", highlight=False, soft_wrap=True)
    out.print(f"verification: {manifest.get('verification', '?')}", highlight=False, soft_wrap=True)
    for note in manifest.get("notes", []):
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
    out.print(f"licence: {spec.licence}", highlight=False, soft_wrap=True)


def add_command(name: str, from_: Path, size: str | None, channels: int | None, resize: str,
                test_fraction: float, split_seed: int, replace: bool) -> None:
    """Register a user data set with progress, then print its summary and what was done to it."""
    opts = ReadOptions(parse_size(size), channels, resize, test_fraction, split_seed)
    with progress() as bar:
        ds = userset.add(name, from_, opts, replace=replace, reporter=Reporter(bar))
    out = Console()
    out.print(_summary(ds), highlight=False, soft_wrap=True)
    for note in ds.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)


def list_command() -> None:
    """One row per data set: built-in (fetched or not) and registered, read from the manifests."""
    root = data_dir()
    table = Table("name", "origin", "status", "shape", "classes", "train", "test", "label")
    for name in (*NAMES, *userset.registered(root)):
        spec = get_spec(name, root)
        try:
            m = read_manifest(root, name)
            status, label = "cached", m.get("label", spec.label)
        except EdgecnnError:
            status, label = "not fetched", spec.label
        h, w, c = spec.image_shape
        table.add_row(name, spec.origin, status, f"{h}x{w}x{c}", str(len(spec.class_names)),
                      str(spec.n_train), str(spec.n_test), label)
    Console().print(table)
    Console().print(f"cache: {root}", highlight=False)


def remove_command(name: str) -> None:
    """Delete a registered user data set from the cache."""
    Console().print(f"removed {userset.remove(name)}", highlight=False)
