"""Checks shared by every format, and the .npz layout of decoded data sets in the cache."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecnn.data.registry import DatasetSpec
from edgecnn.errors import EdgecnnError

NPZ_NAME = "{name}.npz"
SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Ingested:
    """What a format reader put into the staging directory."""

    label: str  # e.g. "CIFAR-10 (JPEG copy)"
    layout: str  # "idx" (the original files) or "npz" (decoded arrays)
    checksums: dict[str, str]  # original file -> "md5:<hex>"/"sha256:<hex>"
    verification: str  # how the originals were checked, for `data info`
    notes: tuple[str, ...] = field(default_factory=tuple)


def check_split(spec: DatasetSpec, split: str, x: np.ndarray, y: np.ndarray, what: str) -> None:
    """Refuse arrays that are not one complete split of `spec`.

    Args:
        split: "train" or "test".
        x: (N, H, W, C) uint8; y: (N,) uint8.
        what: where they came from, for messages.
    """
    expected_n = spec.n_train if split == "train" else spec.n_test
    if x.shape[1:] != spec.image_shape or x.dtype != np.uint8:
        raise EdgecnnError(f"{what}: {split} images are {x.dtype} {x.shape[1:]}; "
                           f"expected uint8 {spec.image_shape} for {spec.label}")
    if len(x) != len(y):
        raise EdgecnnError(f"{what}: record count mismatch: {len(x)} {split} images but {len(y)} labels")
    if len(x) != expected_n:
        raise EdgecnnError(f"{what}: {len(x)} {split} images; {spec.label} has {expected_n} "
                           "(partial copies are not loaded as the data set)")
    if len(y) and int(y.max()) >= len(spec.class_names):
        raise EdgecnnError(f"{what}: {split} label {int(y.max())}; expected 0..{len(spec.class_names) - 1}")


def save_npz(spec: DatasetSpec, stage: Path, arrays: dict[str, np.ndarray]) -> str:
    """Check the four arrays and write them, uncompressed (fast to load), to `<stage>/<name>.npz`."""
    for split in ("train", "test"):
        check_split(spec, split, arrays[f"x_{split}"], arrays[f"y_{split}"], str(stage))
    path = stage / NPZ_NAME.format(name=spec.name)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        np.savez(f, **{k: arrays[k] for k in SPLIT_KEYS})
    os.replace(part, path)
    return path.name


def npz_arrays(spec: DatasetSpec, folder: Path) -> dict[str, np.ndarray]:
    """The four arrays from a cached .npz (the caller has verified its sha256)."""
    path = folder / NPZ_NAME.format(name=spec.name)
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in SPLIT_KEYS}
    for split in ("train", "test"):
        check_split(spec, split, out[f"x_{split}"], out[f"y_{split}"], str(path))
    return out
