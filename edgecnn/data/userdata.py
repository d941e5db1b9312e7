"""A user's data set as arrays: an image folder (directory, .tar.gz/.tgz/.zip) or an .npz.

One table (`USER_FORMATS`) from format to detector and reader. Either way the
result is uint8 images (N, H, W, C) with C 1 or 3, uint8 labels 0..K-1 and K
class names, brought to one shape by `ReadOptions` (transform.fit_images), and
split into train and test: the source's own split when it has one, else a
seeded split stratified by class. What was done is stated in `notes`.

Supported npz content: `x_train, y_train, x_test, y_test` or `x, y` (plus an
optional `class_names`); images uint8 (N, H, W) or (N, H, W, 1|3), labels of
an integer dtype. Float images and feature vectors are refused: every later
stage (training, int8 calibration, the firmware) feeds uint8 pixels.
"""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecnn.data.cache import file_digest
from edgecnn.data.imagefolder import ImageRule, find_layout, read_layout
from edgecnn.data.report import Reporter
from edgecnn.data.transform import check_method, describe_fit, fit_images
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

NPZ_SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")
NPZ_POOL_KEYS = ("x", "y")
NPZ_OPTIONAL_KEYS = ("class_names",)
MAX_CLASSES = 256  # labels are stored as uint8


@dataclass(frozen=True)
class ReadOptions:
    """How a user's images are brought to one shape and split.

    size: (H, W) to resize to (None: images must share one size); channels: 1, 3 or None (keep;
    for folders 3 if any image is colour); method: resize method; test_fraction, split_seed:
    the stratified split made when the source has no test split.
    """

    size: tuple[int, int] | None = None
    channels: int | None = None
    method: str = "bilinear"
    test_fraction: float = 0.2
    split_seed: int = 0

    def check(self) -> None:
        check_method(self.method)
        if self.channels not in (None, 1, 3):
            raise EdgecnnError(f"--channels {self.channels}: expected 1 or 3")
        if self.size is not None and min(self.size) < 1:
            raise EdgecnnError(f"--size {self.size[0]}x{self.size[1]}: expected positive height and width")
        if not 0.0 < self.test_fraction < 1.0:
            raise EdgecnnError(f"--test-fraction {self.test_fraction}: expected a fraction between 0 and 1")


@dataclass(frozen=True)
class UserData:
    """A user's data set read and checked, ready to cache or to use directly."""

    arrays: dict[str, np.ndarray]  # x_train, y_train, x_test, y_test
    class_names: tuple[str, ...]
    format: str  # key of USER_FORMATS
    checksums: dict[str, str]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.arrays["x_train"].shape[1:])


def parse_size(text: str | None) -> tuple[int, int] | None:
    """ "HxW" (e.g. "40x40") -> (H, W); None stays None."""
    if text is None:
        return None
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise EdgecnnError(f"--size {text!r}: expected HxW, e.g. 64x64")
    return int(parts[0]), int(parts[1])


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): round(fraction * n) of each class to test, at least 1 of any class
    with 2 or more images and never a class's last image; both shuffled with default_rng(seed)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = min(max(round(fraction * len(idx)), 1 if len(idx) > 1 else 0), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _split_arrays(x, y, opts: ReadOptions) -> tuple[dict, str]:
    i_train, i_test = stratified_split(y, opts.test_fraction, opts.split_seed)
    if len(i_test) == 0:
        raise EdgecnnError(f"{len(y)} images, at most one per class: too few to split off a test set; "
                           "expected at least 2 images of a class")
    note = (f"no test split in the source: {len(i_test)} of {len(y)} images split off for test, stratified by class "
            f"({opts.test_fraction:g} of each class, numpy default_rng({opts.split_seed}); --test-fraction, "
            "--split-seed)")
    return {"x_train": x[i_train], "y_train": y[i_train], "x_test": x[i_test], "y_test": y[i_test]}, note


def _is_npz(path: Path) -> bool:
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _npz_load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise EdgecnnError(f"{path}: not an .npz archive (corrupt, truncated or of another format); expected "
                           "numpy.savez output with x_train, y_train, x_test, y_test or x, y")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as err:
        if "allow_pickle" in str(err) or "pickle" in str(err).lower():
            raise EdgecnnError(f"{path}: holds object (pickled) arrays; expected numeric arrays "
                               "(images uint8, labels integers, class_names strings)") from None
        raise EdgecnnError(f"{path}: unreadable .npz ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise EdgecnnError(f"{path}: corrupt or truncated .npz ({err})") from None


def _npz_keys(path: Path, keys: set[str]) -> tuple[str, ...]:
    split, pool = set(NPZ_SPLIT_KEYS), set(NPZ_POOL_KEYS)
    extra = keys - split - pool - set(NPZ_OPTIONAL_KEYS)
    if extra or not (split <= keys or pool <= keys) or (split <= keys and keys & pool):
        raise EdgecnnError(f"{path}: arrays {sorted(keys)}; expected x_train, y_train, x_test, y_test or x, y "
                           "(and optionally class_names)")
    return NPZ_SPLIT_KEYS if split <= keys else NPZ_POOL_KEYS


def _check_images(x: np.ndarray, what: str) -> np.ndarray:
    if x.dtype != np.uint8:
        kind = "float" if np.issubdtype(x.dtype, np.floating) else str(x.dtype)
        raise EdgecnnError(f"{what}: {kind} array ({x.dtype}); expected uint8 images (N, H, W) or (N, H, W, 1|3) "
                           "(for floats in [0, 1]: np.round(x * 255).astype(np.uint8))")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[3] not in (1, 3):
        what_it_is = "feature vectors" if x.ndim == 2 else f"shape {x.shape}"
        raise EdgecnnError(f"{what}: {what_it_is}; expected images (N, H, W) or (N, H, W, 1|3) uint8 "
                           "(feature-vector data sets are not supported)")
    if len(x) == 0 or min(x.shape[1:3]) < 1:
        raise EdgecnnError(f"{what}: no images (shape {x.shape}); expected at least one image")
    return x


def _check_labels(y: np.ndarray, n: int, what: str) -> np.ndarray:
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise EdgecnnError(f"{what}: {y.dtype} {y.shape}; expected integer class labels (N,)")
    if len(y) != n:
        raise EdgecnnError(f"{what}: {len(y)} labels for {n} images; expected one label per image")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= MAX_CLASSES):
        raise EdgecnnError(f"{what}: labels {int(y.min())}..{int(y.max())}; expected 0..{MAX_CLASSES - 1}")
    return y.astype(np.uint8)


def _class_names(z: dict, n_classes: int, path: Path) -> tuple[str, ...]:
    if "class_names" not in z:
        return tuple(str(i) for i in range(n_classes))
    names = z["class_names"]
    if names.ndim != 1 or names.dtype.kind not in "US" or len(set(names.tolist())) != len(names):
        raise EdgecnnError(f"{path}: class_names {names.dtype} {names.shape}; expected unique strings, one per class")
    if len(names) < n_classes:
        raise EdgecnnError(f"{path}: {len(names)} class_names for labels up to {n_classes - 1}")
    return tuple(str(s) for s in names.tolist())


def read_npz(path: Path, opts: ReadOptions, reporter: Reporter) -> UserData:
    """An .npz of images and labels (see the module docstring), checked and split."""
    z = _npz_load(path)
    keys = _npz_keys(path, set(z))
    pairs = [(keys[i], keys[i + 1]) for i in range(0, len(keys), 2)]
    xs = {kx: _check_images(z[kx], f"{path}:{kx}") for kx, _ in pairs}
    ys = {ky: _check_labels(z[ky], len(xs[kx]), f"{path}:{ky}") for kx, ky in pairs}
    shapes = {x.shape[1:] for x in xs.values()}
    if len(shapes) > 1 and opts.size is None:
        raise EdgecnnError(f"{path}: images of several shapes {sorted(shapes)}; pass --size HxW to resize them all")
    h, w, c = next(iter(shapes))
    target = (*(opts.size or (h, w)), opts.channels or c)
    notes = describe_fit({s[:2] for s in shapes}, {s[2] for s in shapes}, target, opts.method)
    xs = {k: fit_images(x, target, opts.method) for k, x in xs.items()}
    n_classes = max(int(y.max()) for y in ys.values()) + 1
    names = _class_names(z, n_classes, path)
    checksums = {path.name: file_digest(path)}
    if keys == NPZ_POOL_KEYS:
        arrays, note = _split_arrays(xs["x"], ys["y"], opts)
        notes.append(note)
    else:
        arrays = {**xs, **ys}
    return UserData(arrays, names, "npz", checksums, tuple(notes))


def read_folder(path: Path, opts: ReadOptions, reporter: Reporter) -> UserData:
    """An image folder (directory or archive): class names are the folder names, sorted."""
    with Tree(path) as tree:
        layout = find_layout(tree)
        rule = ImageRule(size=opts.size, channels=opts.channels, method=opts.method)
        images = read_layout(tree, layout, None, rule, reporter)
    checksums = {"images (sha256 of sorted path + file sha256 list)": f"sha256:{images.content_sha256}"}
    if path.is_file():
        checksums = {path.name: file_digest(path), **checksums}
    notes = list(images.notes)
    if images.lossy:
        notes.append("JPEG images: decoded as stored (lossy compression)")
    if images.has_test:
        rng = np.random.default_rng(opts.split_seed)  # folders group images by class
        p_train, p_test = rng.permutation(len(images.y_train)), rng.permutation(len(images.y_test))
        arrays = {"x_train": images.x_train[p_train], "y_train": images.y_train[p_train],
                  "x_test": images.x_test[p_test], "y_test": images.y_test[p_test]}
        notes.append(f"train/ and test/ folders used as the splits; images shuffled with numpy "
                     f"default_rng({opts.split_seed}) (folders group them by class)")
    else:
        arrays, note = _split_arrays(images.x_train, images.y_train, opts)
        notes.append(note)
    return UserData(arrays, images.class_names, "image-folder", checksums, tuple(notes))


USER_FORMATS: dict[str, tuple[str, Callable[[Path], bool], Callable[[Path, ReadOptions, Reporter], UserData]]] = {
    "npz": (".npz with x_train, y_train, x_test, y_test or x, y (uint8 images, integer labels)",
            lambda p: p.suffix.lower() == ".npz" or _is_npz(p), read_npz),
    "image-folder": ("image folder <class>/*.png|jpg|jpeg|bmp or train/<class>/... with test/<class>/..., "
                     "as a directory, .tar.gz/.tgz or .zip", lambda p: p.exists(), read_folder),
}


def read_user_data(path: Path, opts: ReadOptions, reporter: Reporter | None = None) -> UserData:
    """Read, check and split the data set at `path` (the first format of USER_FORMATS that it holds)."""
    opts.check()
    path = Path(path).expanduser()
    if not path.exists():
        wanted = "; ".join(d for d, _, _ in USER_FORMATS.values())
        raise EdgecnnError(f"{path}: no such file or directory; expected {wanted}")
    fmt = next(f for f, (_, detect, _) in USER_FORMATS.items() if detect(path))
    data = USER_FORMATS[fmt][2](path, opts, reporter or Reporter())
    _check_classes(data, path)
    return data


def _check_classes(data: UserData, path: Path) -> None:
    """At least 2 classes, each with training images; labels within the class names."""
    k = len(data.class_names)
    if k < 2:
        raise EdgecnnError(f"{path}: {k} class; expected at least 2 classes")
    for split in ("train", "test"):
        y = data.arrays[f"y_{split}"]
        if len(y) and int(y.max()) >= k:
            raise EdgecnnError(f"{path}: {split} label {int(y.max())}; expected 0..{k - 1}")
    counts = np.bincount(data.arrays["y_train"], minlength=k)
    empty = [data.class_names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise EdgecnnError(f"{path}: no training images of class {', '.join(map(repr, empty[:5]))}; "
                           "expected every class in the training split")
