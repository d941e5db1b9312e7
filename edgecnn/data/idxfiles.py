"""MNIST-style data sets: the four IDX files, verified by MD5 and cached decompressed."""

import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgecnn.data.arrays import Ingested, check_split
from edgecnn.data.cache import write_verified
from edgecnn.data.readers import GZIP_MAGIC, parse_idx
from edgecnn.data.registry import DatasetSpec, FileSpec
from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

_CHUNK = 1 << 20


def candidate_names(f: FileSpec) -> tuple[str, ...]:
    """Names the file goes by: original, gzipped, and the dotted variant some mirrors use."""
    dotted = f.name.replace("-idx", ".idx")
    return (f.name, f.name + ".gz", dotted, dotted + ".gz")


def detect(tree: Tree, spec: DatasetSpec) -> bool:
    return any(tree.find(candidate_names(f)) for f in spec.idx_files)


def _decompressed(src, what: str, on_read) -> Iterator[bytes]:
    """The bytes of a raw or gzip stream (gzip detected by content), in chunks."""
    chunk = src.read(_CHUNK)
    inflater = zlib.decompressobj(wbits=31) if chunk.startswith(GZIP_MAGIC) else None
    try:
        while chunk:
            on_read(len(chunk))
            if inflater is None:
                yield chunk
            else:
                yield inflater.decompress(chunk)
                # Concatenated gzip members are still one valid .gz file.
                while inflater.eof and inflater.unused_data:
                    rest, inflater = inflater.unused_data, zlib.decompressobj(wbits=31)
                    yield inflater.decompress(rest)
            chunk = src.read(_CHUNK)
    except zlib.error as err:
        raise EdgecnnError(f"{what}: corrupt gzip data ({err})") from None
    if inflater is not None and not inflater.eof:
        raise EdgecnnError(f"{what}: truncated gzip data; expected a complete .gz file")


def ingest(spec: DatasetSpec, tree: Tree, stage: Path, source: str, reporter: Reporter) -> Ingested:
    """Copy the four IDX files into `stage`, decompressed, each verified against its published MD5."""
    found = {f.name: tree.find(candidate_names(f)) for f in spec.idx_files}
    missing = [n for n, rel in found.items() if rel is None]
    if missing:
        raise EdgecnnError(f"{tree.path}: missing {', '.join(missing)} (raw or .gz); expected the four IDX files of "
                           f"{spec.label}: {', '.join(f.name for f in spec.idx_files)}")
    checksums = {}
    for f in spec.idx_files:
        rel = found[f.name]
        what = tree.describe(rel)
        task = reporter.task(f"verifying {f.name}", total=tree.files[rel] or None)
        with tree.open(rel) as src:
            checksums[f.name] = write_verified(stage / f.name, _decompressed(src, what, lambda n: reporter.advance(task, n)),
                                               f"md5:{f.md5}", what, source)
        reporter.finish(task, "md5 ok")
    idx_arrays(spec, stage)  # structure check: magic, header vs size, counts, labels
    return Ingested(label=spec.label, layout="idx", checksums=checksums,
                    verification="MD5 of every decompressed file equals the published MD5")


def idx_arrays(spec: DatasetSpec, folder: Path) -> dict[str, np.ndarray]:
    """The four arrays from decompressed IDX files in `folder`.

    Returns:
        x_train (N, H, W, 1), y_train (N,), x_test (M, H, W, 1), y_test (M,), all uint8.
    """
    out = {}
    for f in spec.idx_files:
        ndim = 3 if f.role.startswith("x") else 1
        # bytearray, so the arrays are writable like any other numpy array.
        arr = parse_idx(bytearray((folder / f.name).read_bytes()), f.name, ndim)
        out[f.role] = arr[..., None] if ndim == 3 else arr
    for split in ("train", "test"):
        check_split(spec, split, out[f"x_{split}"], out[f"y_{split}"], str(folder))
    return out
