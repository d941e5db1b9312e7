"""CIFAR-10's formats: the official binary and python versions, and image folders (the JPEG copy).

All three are decoded once, at fetch time, into one cached .npz.
"""

from pathlib import Path, PurePosixPath

import numpy as np

from edgecnn.data.arrays import Ingested, save_npz
from edgecnn.data.cache import ChecksumMismatch, digest_of, new_hash
from edgecnn.data.imagefolder import find_root, read_image_folder
from edgecnn.data.readers import (CIFAR_RECORD_BYTES, parse_cifar_binary, parse_cifar_meta,
                                  parse_cifar_python)
from edgecnn.data.registry import DatasetSpec
from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
SHUFFLE_SEED = 0


def detect_binary(tree: Tree, spec: DatasetSpec) -> bool:
    return any(PurePosixPath(r).suffix == ".bin" and "_batch" in r for r in tree.files)


def detect_python(tree: Tree, spec: DatasetSpec) -> bool:
    return tree.find(TRAIN_BATCHES + TEST_BATCHES) is not None


def detect_folder(tree: Tree, spec: DatasetSpec) -> bool:
    return find_root(tree) is not None


def _find_all(tree: Tree, names: tuple[str, ...], what: str) -> dict[str, str]:
    """Locate every batch file or say exactly what is there instead (e.g. the shared partial files)."""
    found = {n: tree.find([n]) for n in names}
    missing = [n for n, rel in found.items() if rel is None]
    if missing:
        present = sorted(r for r in tree.files if "_batch" in r)
        listing = ", ".join(f"{r} ({tree.files[r] / CIFAR_RECORD_BYTES:g} records)" for r in present) or "nothing"
        raise EdgecnnError(f"{tree.path}: not the full CIFAR-10 {what}: missing {', '.join(missing)}; found {listing}. "
                           f"Expected {', '.join(names)} with 10000 records each; partial files are not loaded "
                           "as the cifar10 data set")
    return found


def _check_meta(tree: Tree, spec: DatasetSpec) -> None:
    rel = tree.find(["batches.meta.txt"])
    if rel is not None:
        names = parse_cifar_meta(tree.read(rel), tree.describe(rel))
        if names != spec.class_names:
            raise EdgecnnError(f"{tree.describe(rel)}: class names {list(names)}; expected {list(spec.class_names)}")


def _read_batches(spec: DatasetSpec, tree: Tree, found: dict[str, str], parse, check, reporter: Reporter):
    """Parse every batch, checking each file's bytes with `check(name, rel, data) -> digest`."""
    task = reporter.task("reading batches", total=len(found))
    parts, checksums = {}, {}
    for name, rel in found.items():
        data = tree.read(rel)
        checksums[PurePosixPath(rel).name] = check(name, rel, data)
        parts[name] = parse(data, tree.describe(rel), len(spec.class_names))
        reporter.advance(task, status=name)
    reporter.finish(task)
    arrays = {}
    for split, names in (("train", TRAIN_BATCHES), ("test", TEST_BATCHES)):
        arrays[f"x_{split}"] = np.concatenate([parts[n][0] for n in names])
        arrays[f"y_{split}"] = np.concatenate([parts[n][1] for n in names])
    return arrays, checksums


def ingest_binary(spec: DatasetSpec, tree: Tree, stage: Path, source: str, reporter: Reporter) -> Ingested:
    """The official binary version: 1 label byte + 3072 planar pixel bytes per record."""
    names = tuple(f"{n}.bin" for n in TRAIN_BATCHES + TEST_BATCHES)
    found = _find_all(tree, names, "binary version")
    _check_meta(tree, spec)

    def record(name, rel, data):  # no per-file checksums are published for the binary batches
        h = new_hash("sha256")
        h.update(data)
        return digest_of(h)

    arrays, checksums = _read_batches(spec, tree, {n[:-4]: r for n, r in found.items()},
                                      parse_cifar_binary, record, reporter)
    save_npz(spec, stage, arrays)
    return Ingested(label=spec.label, layout="npz", checksums=checksums,
                    verification="no per-file checksums are published for the binary batches (sha256 recorded); "
                    "record layout, counts and labels checked")


def ingest_python(spec: DatasetSpec, tree: Tree, stage: Path, source: str, reporter: Reporter) -> Ingested:
    """The official python version: pickled dicts, each checked against its published MD5 first."""
    found = _find_all(tree, TRAIN_BATCHES + TEST_BATCHES, "python version")

    def verify(name, rel, data):
        expected = spec.known_files[name]
        h = new_hash(expected)
        h.update(data)
        if digest_of(h) != expected:
            raise ChecksumMismatch(tree.describe(rel), expected, digest_of(h), source)
        return expected

    arrays, checksums = _read_batches(spec, tree, found, parse_cifar_python, verify, reporter)
    save_npz(spec, stage, arrays)
    return Ingested(label=spec.label, layout="npz", checksums=checksums,
                    verification="MD5 of every batch file equals the published MD5")


def ingest_folder(spec: DatasetSpec, tree: Tree, stage: Path, source: str, reporter: Reporter) -> Ingested:
    """An image folder: decoded once; lossy (JPEG) content is labelled as such everywhere."""
    images = read_image_folder(tree, find_root(tree), spec.class_names, spec.image_shape, reporter)
    # Folders group images by class; a fixed shuffle keeps e.g. Keras' validation_split
    # (which takes the last rows) from holding a single class.
    rng = np.random.default_rng(SHUFFLE_SEED)
    p_train, p_test = rng.permutation(len(images.y_train)), rng.permutation(len(images.y_test))
    arrays = {"x_train": images.x_train[p_train], "y_train": images.y_train[p_train],
              "x_test": images.x_test[p_test], "y_test": images.y_test[p_test]}
    save_npz(spec, stage, arrays)
    label = f"{spec.label} (JPEG copy)" if images.lossy else f"{spec.label} (image folder)"
    return Ingested(label=label, layout="npz",
                    checksums={"images (sha256 of sorted path + file sha256 list)": f"sha256:{images.content_sha256}"},
                    verification="no published checksums for image folders; every image decoded and checked "
                    "(class folders, size, mode, counts)",
                    notes=(f"images shuffled with numpy default_rng({SHUFFLE_SEED}) (folders group them by class)",))
