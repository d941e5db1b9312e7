"""Parsers for the original file formats: IDX (raw or gzip), CIFAR-10 binary and python batches.

Each parser takes the file's bytes and a name to put in error messages, checks
the structure completely (magic number, header against size, label range) and
raises EdgecnnError on anything unexpected: a short file is never loaded partially.
"""

import gzip
import importlib
import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgecnnError

IDX_UINT8 = 0x08
GZIP_MAGIC = b"\x1f\x8b"
CIFAR_SIDE = 32
CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE * 3
CIFAR_RECORD_BYTES = 1 + CIFAR_PIXELS  # 1 label byte, then 1024 R, 1024 G, 1024 B bytes


def gunzip_if_needed(data: bytes, what: str) -> bytes:
    """The bytes themselves, or their decompression when they start with the gzip magic."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as err:
        raise EdgecnnError(f"{what}: corrupt or truncated gzip data ({err}); expected a complete .gz file") from None


def parse_idx(data: bytes, what: str, ndim: int) -> np.ndarray:
    """Parse an uncompressed IDX file of unsigned bytes.

    Args:
        data: the file's bytes.
        what: the file's name, for error messages.
        ndim: expected number of dimensions (1 for labels, 3 for images).
    Returns:
        uint8 array, (N,) for labels or (N, H, W) for images (read-only view of `data`).
    """
    expected_magic = (IDX_UINT8 << 8) | ndim
    if len(data) < 4:
        raise EdgecnnError(f"{what}: truncated IDX file ({len(data)} bytes); expected at least a 4-byte magic number")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise EdgecnnError(f"{what}: wrong magic number 0x{magic:08x}; expected 0x{expected_magic:08x} "
                           f"(IDX, unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise EdgecnnError(f"{what}: truncated IDX header ({len(data)} bytes); expected {header}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    body = len(data) - header
    shape = "x".join(str(d) for d in dims)
    if body < expected:
        raise EdgecnnError(f"{what}: truncated IDX file: header says {dims[0]} records ({shape}, {expected} bytes), "
                           f"file holds {body} bytes of data")
    if body > expected:
        raise EdgecnnError(f"{what}: record count does not match the header: header says {dims[0]} records "
                           f"({shape}, {expected} bytes), file holds {body} bytes of data")
    return np.frombuffer(data, np.uint8, count=expected, offset=header).reshape(dims)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed (detected by content, not name)."""
    data = gunzip_if_needed(Path(path).read_bytes(), Path(path).name)
    return parse_idx(data, Path(path).name, ndim)


def _check_labels(y: np.ndarray, what: str, n_classes: int) -> None:
    if len(y) and int(y.max()) >= n_classes:
        i = int(np.argmax(y >= n_classes))
        raise EdgecnnError(f"{what}: label {int(y[i])} at record {i}; expected labels 0..{n_classes - 1}")


def planar_to_nhwc(flat: np.ndarray) -> np.ndarray:
    """CIFAR's planar rows (N, 3072: 1024 R, 1024 G, 1024 B) -> (N, 32, 32, 3) contiguous uint8."""
    return np.ascontiguousarray(flat.reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE).transpose(0, 2, 3, 1))


def parse_cifar_binary(data: bytes, what: str, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Parse records of CIFAR-10's binary version (`data_batch_N.bin`, `test_batch.bin`).

    Returns:
        x: (N, 32, 32, 3) uint8; y: (N,) uint8.
    """
    if not data or len(data) % CIFAR_RECORD_BYTES:
        raise EdgecnnError(f"{what}: {len(data)} bytes is not a whole number of {CIFAR_RECORD_BYTES}-byte records "
                           "(1 label byte + 3072 pixel bytes); the file is truncated or not CIFAR-10 binary")
    records = np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD_BYTES)
    y = records[:, 0].copy()
    _check_labels(y, what, n_classes)
    return planar_to_nhwc(records[:, 1:]), y


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR python batches and nothing else: only numpy array reconstruction is allowed,
    because a pickle from an untrusted folder could otherwise run arbitrary code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            # numpy >= 2 moved numpy.core to numpy._core; the 2009 pickles name the old path.
            try:
                module = importlib.import_module(module.replace("numpy.core", "numpy._core")).__name__
            except ImportError:
                pass
        return super().find_class(module, name)


def unpickle_batch(data: bytes, what: str) -> dict:
    """A CIFAR python batch as a dict with bytes keys (b"data", b"labels", ...)."""
    try:
        obj = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as err:  # pickle raises many types on corrupt input
        raise EdgecnnError(f"{what}: not a readable CIFAR python batch ({type(err).__name__}: {err})") from None
    if not isinstance(obj, dict):
        raise EdgecnnError(f"{what}: CIFAR python batch holds a {type(obj).__name__}; expected a dict")
    return obj


def parse_cifar_python(data: bytes, what: str, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Parse one batch of CIFAR-10's python version (`data_batch_N`, `test_batch`).

    Returns:
        x: (N, 32, 32, 3) uint8; y: (N,) uint8.
    """
    batch = unpickle_batch(data, what)
    flat, labels = batch.get(b"data"), batch.get(b"labels")
    if not isinstance(flat, np.ndarray) or labels is None:
        raise EdgecnnError(f"{what}: CIFAR python batch has keys {sorted(batch)}; expected b'data' and b'labels'")
    if flat.dtype != np.uint8 or flat.ndim != 2 or flat.shape[1] != CIFAR_PIXELS:
        raise EdgecnnError(f"{what}: data is {flat.dtype} {flat.shape}; expected uint8 (N, {CIFAR_PIXELS})")
    y = np.asarray(labels)
    if y.shape != (len(flat),) or not np.issubdtype(y.dtype, np.integer):
        raise EdgecnnError(f"{what}: {y.size} labels for {len(flat)} images; expected one integer label per image")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise EdgecnnError(f"{what}: labels span {y.min()}..{y.max()}; expected 0..{n_classes - 1}")
    y = y.astype(np.uint8)
    return planar_to_nhwc(flat), y


def parse_cifar_meta(data: bytes, what: str) -> tuple[str, ...]:
    """Class names from `batches.meta.txt` (binary version): one name a line."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise EdgecnnError(f"{what}: not an ASCII list of class names") from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())
