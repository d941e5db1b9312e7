"""Bring uint8 images to a model's input: one resize and one channel conversion, both stated.

Used by `data add` (images of mixed sizes, `--size`/`--channels`), by `train`
and by `build --data PATH`, so every stage brings images to a shape the same way.
Resizing and the RGB -> grayscale conversion are Pillow's (per image, uint8 in,
uint8 out); grayscale -> RGB repeats the one channel, which loses nothing.
"""

import numpy as np
from PIL import Image

from edgecnn.errors import EdgecnnError

# Resize method name -> Pillow filter. Pillow widens the filter's support when it
# shrinks an image, so "bilinear" and "bicubic" also average (anti-alias) when downscaling.
RESIZE_METHODS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "area": Image.Resampling.BOX,
}
CHANNEL_CONVERSIONS = {
    (1, 3): "grayscale repeated into R, G and B",
    (3, 1): "RGB to luma L = 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2, Pillow's 'L')",
}


def describe_fit(src_hw: set[tuple[int, int]], src_channels: set[int], shape: tuple[int, int, int],
                 method: str) -> list[str]:
    """Sentences saying what `fit_images` does to images of these sizes and channel counts."""
    h, w, c = shape
    out = []
    if any(hw != (h, w) for hw in src_hw):
        sizes = ", ".join(f"{a}x{b}" for a, b in sorted(src_hw))
        out.append(f"resized from {sizes} to {h}x{w} with {method} interpolation (Pillow)")
    for sc in sorted(src_channels):
        if sc != c:
            out.append(f"{sc} -> {c} channels: {CHANNEL_CONVERSIONS[(sc, c)]}")
    return out


def check_method(method: str) -> None:
    if method not in RESIZE_METHODS:
        raise EdgecnnError(f"resize method {method!r}: expected one of {', '.join(RESIZE_METHODS)}")


def fit_image(img: np.ndarray, shape: tuple[int, int, int], method: str = "bilinear") -> np.ndarray:
    """One image (H, W) or (H, W, 1|3) uint8 -> `shape` (H', W', C') uint8."""
    check_method(method)
    h, w, c = shape
    if img.ndim == 2:
        img = img[..., None]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3):
        raise EdgecnnError(f"image of {img.dtype} {img.shape}: expected uint8 (H, W), (H, W, 1) or (H, W, 3)")
    if c not in (1, 3):
        raise EdgecnnError(f"target shape {shape}: expected 1 or 3 channels")
    if img.shape == (h, w, c):
        return img
    pil = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img, "L" if img.shape[2] == 1 else "RGB")
    if pil.size != (w, h):
        pil = pil.resize((w, h), RESIZE_METHODS[method])
    if c == 1 and pil.mode != "L":
        pil = pil.convert("L")
    arr = np.asarray(pil, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return np.repeat(arr, 3, axis=2) if c == 3 and arr.shape[2] == 1 else arr


def fit_images(x: np.ndarray, shape: tuple[int, int, int], method: str = "bilinear") -> np.ndarray:
    """Images (N, H, W[, C]) uint8 -> (N, *shape) uint8: resized with `method`, channels converted.

    Args:
        x: (N, H, W), (N, H, W, 1) or (N, H, W, 3) uint8.
        shape: (H', W', C') with C' 1 or 3.
        method: a key of RESIZE_METHODS (describe_fit states what it did).
    Returns:
        (N, H', W', C') uint8; `x` itself when it already has that shape.
    """
    check_method(method)
    if x.ndim == 3:
        x = x[..., None]
    if x.dtype != np.uint8 or x.ndim != 4:
        raise EdgecnnError(f"images of {x.dtype} {x.shape}: expected uint8 (N, H, W) or (N, H, W, C)")
    if x.shape[1:] == tuple(shape):
        return x
    out = np.empty((len(x), *shape), np.uint8)
    for i, img in enumerate(x):
        out[i] = fit_image(img, shape, method)
    return out
