"""The supported on-disk formats: one table from format name to detector and ingester.

`ingest` looks at a directory or archive, finds which of the data set's formats
it holds, verifies and writes the cache files into a staging directory.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from edgecnn.data import cifar, idxfiles
from edgecnn.data.arrays import Ingested, npz_arrays
from edgecnn.data.cache import ChecksumMismatch, file_digest
from edgecnn.data.registry import DatasetSpec
from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class Format:
    description: str
    detect: Callable[[Tree, DatasetSpec], bool]
    ingest: Callable[[DatasetSpec, Tree, Path, str, Reporter], Ingested]


FORMATS: dict[str, Format] = {
    "idx": Format("IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-..., raw or .gz)",
                  idxfiles.detect, idxfiles.ingest),
    "cifar-binary": Format("CIFAR-10 binary version (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)",
                           cifar.detect_binary, cifar.ingest_binary),
    "cifar-python": Format("CIFAR-10 python version (data_batch_1 ... data_batch_5, test_batch)",
                           cifar.detect_python, cifar.ingest_python),
    "image-folder": Format("image folder (train/<class>/*.png|jpg and test/<class>/*.png|jpg)",
                           cifar.detect_folder, cifar.ingest_folder),
}

# How each cache layout is read back (formats.ingest wrote it).
LAYOUTS: dict[str, Callable[[DatasetSpec, Path], dict[str, np.ndarray]]] = {
    "idx": idxfiles.idx_arrays,
    "npz": npz_arrays,
}


def detect(spec: DatasetSpec, tree: Tree) -> str | None:
    """The first of the data set's formats that the tree holds, or None."""
    return next((f for f in spec.formats if FORMATS[f].detect(tree, spec)), None)


def _verify_known_file(spec: DatasetSpec, path: Path, source: str, reporter: Reporter) -> dict[str, str]:
    """Check an archive whose name has a published checksum (e.g. cifar-10-binary.tar.gz)."""
    expected = spec.known_files.get(path.name) if path.is_file() else None
    if expected is None:
        return {}
    task = reporter.task(f"verifying {path.name}", total=path.stat().st_size)
    actual = file_digest(path, expected.split(":", 1)[0], lambda n: reporter.advance(task, n))
    if actual != expected:
        raise ChecksumMismatch(str(path), expected, actual, source)
    reporter.finish(task, "checksum ok")
    return {path.name: actual}


def ingest(spec: DatasetSpec, path: Path, source: str, stage: Path, reporter: Reporter) -> Ingested:
    """Verify the data set found at `path` and write its cache files into `stage`."""
    known = _verify_known_file(spec, Path(path), source, reporter)
    with Tree(path) as tree:
        fmt = detect(spec, tree)
        if fmt is None:
            wanted = "; ".join(FORMATS[f].description for f in spec.formats)
            raise EdgecnnError(f"{path}: holds none of the formats of {spec.name}; expected {wanted}")
        result = FORMATS[fmt].ingest(spec, tree, stage, source, reporter)
    if known:
        (name, digest), = known.items()
        result = replace(result, checksums={**known, **result.checksums},
                         verification=f"{name} {digest.split(':')[0].upper()} equals its recorded checksum; "
                         + result.verification)
    return result
