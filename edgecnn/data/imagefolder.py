"""Reader for the image-folder layout `<root>/<split>/<class>/*.png|jpg`, on a directory or a tar archive.

The layout users keep their own data in, and the layout of the shared CIFAR-10
JPEG copy. Every image is checked: class folders must match the expected class
names, none may be empty, every image must decode to the expected size.
"""

import hashlib
import io
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

SPLITS = ("train", "test")
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
# PIL modes that convert to the wanted channel count without losing information.
_MODES = {3: {"RGB", "P"}, 1: {"L"}}


@dataclass(frozen=True)
class FolderImages:
    """Images read from an image folder, grouped by class in class order, files sorted by name."""

    x_train: np.ndarray  # (N, H, W, C) uint8
    y_train: np.ndarray  # (N,) uint8
    x_test: np.ndarray  # (M, H, W, C) uint8
    y_test: np.ndarray  # (M,) uint8
    lossy: bool  # any JPEG among the images
    content_sha256: str  # over (path, sha256 of bytes) of every image, sorted by path


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def find_root(tree: Tree) -> str | None:
    """The shallowest folder holding both train/ and test/ ("" for the top), or None."""
    tops = [d for d in tree.dirs | {""} if _join(d, "train") in tree.dirs and _join(d, "test") in tree.dirs]
    return min(tops, key=lambda d: (d.count("/") if d else -1, d)) if tops else None


def _class_files(tree: Tree, split_dir: str, class_names: tuple[str, ...]) -> list[list[str]]:
    """Image paths per class (in class order), each list sorted by name; clear errors on bad layout."""
    found = sorted(PurePosixPath(d).name for d in tree.dirs if str(PurePosixPath(d).parent) == split_dir)
    missing = [c for c in class_names if c not in found]
    extra = [c for c in found if c not in class_names]
    if missing or extra:
        raise EdgecnnError(f"{tree.describe(split_dir)}: class folders {found}; expected exactly {list(class_names)}"
                           + (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else ""))
    per_class: dict[str, list[str]] = {c: [] for c in class_names}
    for rel in tree.files:
        p = PurePosixPath(rel)
        if str(p.parent.parent) != split_dir or p.parent.name not in per_class or p.name.startswith("."):
            continue
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise EdgecnnError(f"{tree.describe(rel)}: not an image; expected only .png/.jpg/.jpeg files in class folders")
        per_class[p.parent.name].append(rel)
    for c, files in per_class.items():
        if not files:
            raise EdgecnnError(f"{tree.describe(_join(split_dir, c))}: empty class folder; "
                               "expected at least one .png/.jpg image")
    return [sorted(per_class[c]) for c in class_names]


def decode_image(data: bytes, what: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Decode one PNG/JPEG to (H, W, C) uint8, refusing other sizes and lossy mode conversions."""
    h, w, c = shape
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size != (w, h):
                raise EdgecnnError(f"{what}: image is {im.size[0]}x{im.size[1]}; expected {w}x{h}")
            if im.mode not in _MODES[c]:
                raise EdgecnnError(f"{what}: image mode {im.mode}; expected {' or '.join(sorted(_MODES[c]))} "
                                   f"({c} channel{'s' if c > 1 else ''})")
            arr = np.asarray(im.convert("RGB" if c == 3 else "L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise EdgecnnError(f"{what}: not a readable image ({err})") from None
    return arr.reshape(shape)


def read_image_folder(tree: Tree, root: str, class_names: tuple[str, ...], shape: tuple[int, int, int],
                      reporter: Reporter | None = None) -> FolderImages:
    """Read `<root>/train/<class>/*` and `<root>/test/<class>/*` from a directory or archive.

    Args:
        tree: the directory or archive.
        root: folder inside it holding train/ and test/ (see find_root).
        class_names: folder names in label order (label i = class_names[i]).
        shape: (H, W, C) every image must have.
    """
    reporter = reporter or Reporter()
    layout = {split: _class_files(tree, _join(root, split), class_names) for split in SPLITS}
    slots: dict[str, tuple[str, int]] = {}
    arrays = {}
    for split, per_class in layout.items():
        order = [rel for files in per_class for rel in files]
        slots.update((rel, (split, i)) for i, rel in enumerate(order))
        labels = np.concatenate([np.full(len(f), k, np.uint8) for k, f in enumerate(per_class)])
        arrays[split] = (np.empty((len(order), *shape), np.uint8), labels)
    task = reporter.task("decoding images", total=len(slots))
    digests, lossy = {}, False
    for rel, data in tree.read_many(slots):
        split, i = slots[rel]
        arrays[split][0][i] = decode_image(data, tree.describe(rel), shape)
        digests[rel] = hashlib.sha256(data).hexdigest()
        lossy |= IMAGE_SUFFIXES[PurePosixPath(rel).suffix.lower()] == "JPEG"
        reporter.advance(task)
    content = hashlib.sha256("".join(f"{r}\0{d}\n" for r, d in sorted(digests.items())).encode()).hexdigest()
    reporter.finish(task)
    return FolderImages(*arrays["train"], *arrays["test"], lossy=lossy, content_sha256=content)
