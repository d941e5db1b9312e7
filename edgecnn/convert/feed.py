"""Data preparation for build and bench: images or arrays -> float arrays in the model's input units.

This is the one place where pixels become model inputs. Every runtime after it
receives float32 arrays in the units the float model takes (or, for int8
runtimes, those arrays quantized with the model's input scale and zero point),
so no runtime divides by 255 on its own.

Sources, in the order `build` tries them:
- `--data PATH`: an .npz (x_train, y_train, x_test, y_test; or x, y) or an image folder
  (<class>/*.png|jpg|bmp, or train/<class>/... with test/<class>/...);
- `--dataset NAME`: a built-in data set (cache, else the shipped sample) or one registered by `data add`;
- the data set in metrics.json beside an edgecnn-trained model;
- none: an int8 .tflite is verified on seeded random inputs, accuracy unknown;
  a float model without data is an error naming --data.

Images are resized to the model's (H, W) with PIL's bilinear filter, converted to
grayscale (ITU-R 601-2 luma, PIL "L") or RGB, then scaled linearly from [0, 255]
to the input range (`--input-range`; inferred from a leading Rescaling layer,
an edgecnn metrics.json, or an int8 model's input quantization).
"""

from dataclasses import dataclass, field

import numpy as np

from edgecnn.errors import EdgecnnError

RANGES: dict[str, tuple[float, float]] = {"0,1": (0.0, 1.0), "0,255": (0.0, 255.0), "-1,1": (-1.0, 1.0)}
RESIZE_METHOD = "PIL bilinear (Image.BILINEAR), to the model's H x W"
N_RANDOM = 100
RANDOM_SEED = 0
SPLIT_SEED = 0
SPLIT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Feed:
    """Calibration and evaluation data in the model's input units, and what they are."""

    calib: np.ndarray | None  # (N, *input_shape[1:]) float32, None when nothing needs calibrating
    x: np.ndarray  # (M, *input_shape[1:]) float32 evaluation inputs
    y: np.ndarray | None  # (M,) int labels, None when accuracy is unknown
    labels: list[str]  # class names in output order
    description: str  # e.g. "MNIST shipped sample (500 test images; ...)"
    is_sample: bool
    source: str  # "dataset", "data" or "random"
    input_range: tuple[float, float] | None  # pixel [0, 255] maps to this; None for non-image data
    input_range_source: str
    notes: list[str] = field(default_factory=list)
    calib_description: str = ""  # e.g. "500 images from the MNIST training split (seed 0)"
    label: str = ""  # the data set's name as printed, e.g. "MNIST"; "" for random inputs

    def as_dict(self) -> dict:
        return {"source": self.source, "description": self.description, "is_sample": self.is_sample,
                "input_range": list(self.input_range) if self.input_range else None,
                "input_range_source": self.input_range_source, "resize": RESIZE_METHOD if self.source != "random" else None,
                "accuracy_known": self.y is not None, "n_eval": int(len(self.x)),
                "n_calibration": None if self.calib is None else int(len(self.calib)),
                "calibration": self.calib_description or None, "notes": list(self.notes)}


def parse_range(text: str | None) -> tuple[float, float] | None:
    """--input-range text -> (lo, hi); EdgecnnError for anything but the RANGES keys."""
    if text is None:
        return None
    key = text.replace(" ", "")
    if key not in RANGES:
        raise EdgecnnError(f"--input-range {text!r}: expected one of {', '.join(RANGES)}")
    return RANGES[key]


def range_from_quant(scale: float, zero_point: int) -> tuple[float, float] | None:
    """The RANGES entry an int8 input's representable interval matches (within 2%), else None."""
    lo, hi = scale * (-128 - zero_point), scale * (127 - zero_point)
    for r in RANGES.values():
        width = r[1] - r[0]
        if abs(lo - r[0]) <= 0.02 * width and abs(hi - r[1]) <= 0.02 * width:
            return r
    return None


def infer_range(requested, rescaling: bool, trained_by_edgecnn: bool, q_in) -> tuple[tuple | None, str]:
    """(range, why) from --input-range, else what the model makes clear, else (None, why not)."""
    if requested is not None:
        return requested, "--input-range"
    if rescaling:
        return RANGES["0,255"], "the model's first layer is Rescaling, so it takes raw pixels"
    if trained_by_edgecnn:
        return RANGES["0,1"], "edgecnn-trained model (metrics.json): pixels / 255"
    if q_in is not None:
        r = range_from_quant(q_in.scale, q_in.zero_point)
        if r is not None:
            return r, f"the int8 input quantization (scale {q_in.scale:.6g}, zero point {q_in.zero_point})"
    return None, "not stated by the model"


def to_model_units(x: np.ndarray, input_range: tuple[float, float]) -> np.ndarray:
    """uint8 pixels -> float32 in input_range: lo + pixel / 255 * (hi - lo)."""
    lo, hi = input_range
    if (lo, hi) == (0.0, 1.0):
        return x.astype(np.float32) / 255.0  # the exact arithmetic the shipped models were trained with
    return (lo + x.astype(np.float32) * np.float32((hi - lo) / 255.0)).astype(np.float32)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float inputs in model units -> int8 with the model's input quantization (round half to even)."""
    return np.clip(np.round(x.astype(np.float64) / scale) + zero_point, -128, 127).astype(np.int8)


def is_image_shape(shape: tuple) -> bool:
    """(1, H, W, C) with 1 or 3 channels."""
    return len(shape) == 4 and shape[-1] in (1, 3)


def fit_images(x: np.ndarray, shape: tuple, where: str) -> np.ndarray:
    """uint8 images (N, h, w, c) -> (N, H, W, C) uint8 of the model's input shape (1, H, W, C)."""
    from PIL import Image

    if not is_image_shape(shape):
        raise EdgecnnError(f"{where} holds images {tuple(x.shape[1:])}, but the model input {tuple(shape)} is not "
                           "an image (1, H, W, 1|3); pass arrays in the model's input shape (.npz) instead")
    _, h, w, c = shape
    if x.shape[1:] == (h, w, c):
        return x
    mode = "L" if c == 1 else "RGB"
    out = np.empty((len(x), h, w, c), np.uint8)
    for i, img in enumerate(x):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        im = im.convert(mode).resize((w, h), Image.BILINEAR)
        out[i] = np.asarray(im).reshape(h, w, c)
    return out


def random_inputs(shape: tuple, q_in, n: int = N_RANDOM, seed: int = RANDOM_SEED) -> np.ndarray:
    """(n, *shape[1:]) float32: seeded uniform int8 values, dequantized (they quantize back exactly)."""
    rng = np.random.default_rng(seed)
    q = rng.integers(-128, 128, size=(n, *shape[1:]), dtype=np.int64)
    return ((q - q_in.zero_point) * np.float64(q_in.scale)).astype(np.float32)


def check_classes(n_classes: int, output_shape: tuple, where: str) -> None:
    """A classifier's output must have one score per class of the data."""
    k = int(output_shape[-1]) if output_shape else 1
    if int(np.prod(output_shape[1:] or (1,))) != k or k != n_classes:
        raise EdgecnnError(f"{where} has {n_classes} classes, but the model's output {tuple(output_shape)} "
                           f"has {k} scores; expected one score per class (pass data with {k} classes, "
                           "or a model with that many outputs)")


def split(x: np.ndarray, y: np.ndarray, seed: int = SPLIT_SEED) -> tuple:
    """Seeded stratified split: (x_train, y_train, x_test, y_test), SPLIT_TEST_FRACTION of each class to test."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[:max(1, int(round(len(idx) * SPLIT_TEST_FRACTION)))] if len(idx) > 1 else []] = True
    return x[~test], y[~test], x[test], y[test]
