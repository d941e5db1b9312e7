"""Reader for image folders, on a directory or inside a tar/zip archive.

Two layouts: `<root>/train/<class>/*` with `<root>/test/<class>/*`, or
`<root>/<class>/*` (one pool of images, split later by the caller). Images are
.png, .jpg/.jpeg or .bmp. The layout users keep their own data in, and the
layout of the shared CIFAR-10 JPEG copy.

Every image is checked: class folders must match (the expected names, or the
train split's), none may be empty, every image must decode. What happens to
its size and channels is an `ImageRule`: the built-in sets require one exact
shape (no resizing, lossless mode changes only); user sets may be brought to
one size and channel count (see transform.py), and mixed sizes without a
size to bring them to are an error that names the sizes found.
"""

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgecnn.data.report import Reporter
from edgecnn.data.transform import describe_fit, fit_image
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

SPLITS = ("train", "test")
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
SUFFIX_TEXT = "/".join(IMAGE_SUFFIXES)
# PIL modes that convert to the wanted channel count without losing information (exact-shape rule).
_EXACT_MODES = {3: {"RGB", "P"}, 1: {"L"}}
# 8-bit PIL modes by the channel count they hold (the alpha band of LA/RGBA/PA is dropped).
_GRAY_MODES = {"1", "L", "LA"}
_COLOUR_MODES = {"RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}
# Files that file managers leave in folders (besides dot-files, which are always skipped).
_JUNK_FILES = {"thumbs.db", "desktop.ini"}
_IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageRule:
    """What every image must become.

    shape: (H, W, C) required exactly (built-in sets): other sizes and lossy mode changes are errors.
    size: (H, W) to resize every image to; None: all images must share one size.
    channels: 1 or 3; None: 3 if any image is in colour, else 1.
    method: resize method (a key of transform.RESIZE_METHODS).
    """

    shape: tuple[int, int, int] | None = None
    size: tuple[int, int] | None = None
    channels: int | None = None
    method: str = "bilinear"


@dataclass(frozen=True)
class FolderImages:
    """Images read from an image folder, grouped by class in class order, files sorted by name."""

    x_train: np.ndarray  # (N, H, W, C) uint8
    y_train: np.ndarray  # (N,) uint8
    x_test: np.ndarray  # (M, H, W, C) uint8; M == 0 when the folder has no test split
    y_test: np.ndarray  # (M,) uint8
    lossy: bool  # any JPEG among the images
    content_sha256: str  # over (path, sha256 of bytes) of every image, sorted by path
    class_names: tuple[str, ...] = ()
    has_test: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)  # conversions applied, e.g. resizing


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _depth(d: str) -> int:
    return d.count("/") if d else -1


def find_root(tree: Tree) -> str | None:
    """The shallowest folder holding both train/ and test/ ("" for the top), or None."""
    tops = [d for d in tree.dirs | {""} if _join(d, "train") in tree.dirs and _join(d, "test") in tree.dirs]
    return min(tops, key=lambda d: (_depth(d), d)) if tops else None


def find_layout(tree: Tree) -> dict[str, str]:
    """Split name -> folder holding its class folders: {"train": .., "test": ..} or {"all": root}.

    Raises EdgecnnError when the tree holds no images in class folders, or images at several depths.
    """
    root = find_root(tree)
    if root is not None:
        return {split: _join(root, split) for split in SPLITS}
    images = [PurePosixPath(r) for r in tree.files
              if PurePosixPath(r).suffix.lower() in IMAGE_SUFFIXES and not PurePosixPath(r).name.startswith(".")]
    if not images:
        raise EdgecnnError(f"{tree.path}: no images; expected <class>/*.png|jpg|jpeg|bmp "
                           "(or train/<class>/... and test/<class>/...)")
    roots = {p.parent.parent.as_posix() for p in images if p.parent.as_posix() != "."}
    loose = [p.as_posix() for p in images if p.parent.as_posix() == "."]
    if loose:
        raise EdgecnnError(f"{tree.describe(loose[0])}: image outside a class folder; expected <class>/<image> "
                           "(the folder name is the label)")
    if len(roots) > 1:
        shown = ", ".join(repr(r if r != "." else "") for r in sorted(roots)[:4])
        raise EdgecnnError(f"{tree.path}: images at several depths (class folders inside {shown}); expected "
                           "<class>/<image> at one level, or train/<class>/... and test/<class>/...")
    (root,) = roots
    return {"all": "" if root == "." else root}


def _class_files(tree: Tree, split_dir: str, class_names: tuple[str, ...] | None) -> tuple[tuple[str, ...], list]:
    """(class names, image paths per class in class order, each sorted); clear errors on bad layout.

    class_names None: the class folders found, sorted by name.
    """
    found = sorted(PurePosixPath(d).name for d in tree.dirs
                   if str(PurePosixPath(d).parent) == (split_dir or ".") and not PurePosixPath(d).name.startswith("."))
    class_names = tuple(found) if class_names is None else class_names
    missing = [c for c in class_names if c not in found]
    extra = [c for c in found if c not in class_names]
    if missing or extra:
        raise EdgecnnError(f"{tree.describe(split_dir)}: class folders {found}; expected exactly {list(class_names)}"
                           + (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else ""))
    if len(class_names) > 256:
        raise EdgecnnError(f"{tree.describe(split_dir)}: {len(class_names)} class folders; at most 256 are supported")
    per_class: dict[str, list[str]] = {c: [] for c in class_names}
    for rel in tree.files:
        p = PurePosixPath(rel)
        if (str(p.parent.parent) != (split_dir or ".") or p.parent.name not in per_class or p.name.startswith(".")
                or p.name.lower() in _JUNK_FILES):
            continue
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise EdgecnnError(f"{tree.describe(rel)}: not an image; expected only {SUFFIX_TEXT} files in class folders")
        per_class[p.parent.name].append(rel)
    for c, files in per_class.items():
        if not files:
            raise EdgecnnError(f"{tree.describe(_join(split_dir, c))}: empty class folder; "
                               f"expected at least one {SUFFIX_TEXT} image")
    return class_names, [sorted(per_class[c]) for c in class_names]


def _open(data: bytes, what: str):
    """A lazily decoded PIL image: size and mode come from the header."""
    try:
        return Image.open(io.BytesIO(data))
    except _IMAGE_ERRORS as err:
        raise EdgecnnError(f"{what}: not a readable image ({err})") from None


def _channels_of(mode: str, what: str) -> int:
    if mode in _GRAY_MODES:
        return 1
    if mode in _COLOUR_MODES:
        return 3
    raise EdgecnnError(f"{what}: image mode {mode} (16-bit or float pixels); expected 8-bit grayscale or colour")


def decode_image(data: bytes, what: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Decode one image to exactly (H, W, C) uint8, refusing other sizes and lossy mode conversions."""
    h, w, c = shape
    im = _open(data, what)
    try:
        if im.size != (w, h):
            raise EdgecnnError(f"{what}: image is {im.size[0]}x{im.size[1]}; expected {w}x{h}")
        if im.mode not in _EXACT_MODES[c]:
            raise EdgecnnError(f"{what}: image mode {im.mode}; expected {' or '.join(sorted(_EXACT_MODES[c]))} "
                               f"({c} channel{'s' if c > 1 else ''})")
        arr = np.asarray(im.convert("RGB" if c == 3 else "L"), dtype=np.uint8)
    except _IMAGE_ERRORS as err:
        raise EdgecnnError(f"{what}: not a readable image ({err})") from None
    return arr.reshape(shape)


def decode_fit(data: bytes, what: str, shape: tuple[int, int, int], method: str) -> np.ndarray:
    """Decode one 8-bit image at its own size and bring it to `shape` (transform.fit_image)."""
    im = _open(data, what)
    try:
        src_c = _channels_of(im.mode, what)
        arr = np.asarray(im.convert("RGB" if src_c == 3 else "L"), dtype=np.uint8)
    except _IMAGE_ERRORS as err:
        raise EdgecnnError(f"{what}: not a readable image ({err})") from None
    return fit_image(arr, shape, method)


def _resolve_shape(headers: dict[str, tuple], rule: ImageRule, where: str) -> tuple[tuple[int, int, int], list[str]]:
    """The (H, W, C) every image becomes under `rule`, and notes saying what that does to them."""
    if rule.shape is not None:
        return rule.shape, []
    sizes = Counter((h, w) for (w, h), _ in headers.values())
    chans = Counter(c for _, c in headers.values())
    if rule.size is None and len(sizes) > 1:
        listing = ", ".join(f"{h}x{w} ({n} image{'s' if n > 1 else ''})" for (h, w), n in sizes.most_common(6))
        raise EdgecnnError(f"{where}: images of {len(sizes)} sizes (HxW): {listing}; pass --size HxW to resize "
                           f"them all ({rule.method}), e.g. --size {'x'.join(map(str, sizes.most_common(1)[0][0]))}")
    h, w = rule.size or next(iter(sizes))
    c = rule.channels or (3 if 3 in chans else 1)
    return (h, w, c), describe_fit(set(sizes), set(chans), (h, w, c), rule.method)


def read_layout(tree: Tree, layout: dict[str, str], class_names: tuple[str, ...] | None, rule: ImageRule,
                reporter: Reporter | None = None) -> FolderImages:
    """Read every image of `layout` (see find_layout) under `rule`.

    class_names: folder names in label order (label i = class_names[i]); None: the first
    split's folders, sorted by name, which every other split must match.
    The split "all" (no test split) is returned as x_train, with an empty x_test.
    """
    reporter = reporter or Reporter()
    files: dict[str, list] = {}
    for split, folder in layout.items():
        class_names, files[split] = _class_files(tree, folder, class_names)
    slots = {rel: (split, i) for split, per_class in files.items()
             for i, rel in enumerate(r for fs in per_class for r in fs)}
    task = reporter.task("reading images", total=len(slots))
    raw, headers = {}, {}
    for rel, data in tree.read_many(slots):
        raw[rel] = data
        if rule.shape is None:
            im = _open(data, tree.describe(rel))
            headers[rel] = (im.size, _channels_of(im.mode, tree.describe(rel)))
        reporter.advance(task)
    reporter.finish(task)
    shape, notes = _resolve_shape(headers, rule, str(tree.path))
    arrays = {}
    for split, per_class in files.items():
        labels = np.concatenate([np.full(len(f), k, np.uint8) for k, f in enumerate(per_class)])
        arrays[split] = (np.empty((len(labels), *shape), np.uint8), labels)
    task = reporter.task("decoding images", total=len(slots))
    for rel, (split, i) in slots.items():
        what = tree.describe(rel)
        arrays[split][0][i] = (decode_image(raw[rel], what, shape) if rule.shape is not None
                               else decode_fit(raw[rel], what, shape, rule.method))
        reporter.advance(task)
    reporter.finish(task)
    digests = "".join(f"{r}\0{hashlib.sha256(raw[r]).hexdigest()}\n" for r in sorted(raw))
    lossy = any(IMAGE_SUFFIXES[PurePosixPath(r).suffix.lower()] == "JPEG" for r in raw)
    train = arrays.get("train", arrays.get("all"))
    test = arrays.get("test", (np.empty((0, *shape), np.uint8), np.empty(0, np.uint8)))
    return FolderImages(*train, *test, lossy=lossy, content_sha256=hashlib.sha256(digests.encode()).hexdigest(),
                        class_names=class_names, has_test="test" in arrays, notes=tuple(notes))


def read_image_folder(tree: Tree, root: str, class_names: tuple[str, ...], shape: tuple[int, int, int],
                      reporter: Reporter | None = None) -> FolderImages:
    """Read `<root>/train/<class>/*` and `<root>/test/<class>/*`, every image exactly `shape` (H, W, C)."""
    layout = {split: _join(root, split) for split in SPLITS}
    return read_layout(tree, layout, class_names, ImageRule(shape=shape), reporter)
