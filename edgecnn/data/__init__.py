"""Data sets: fetch from verified sources into a cache, register your own, load from the cache.

    from edgecnn.data import load, get_spec, read_path
    ds = load("mnist")          # ds.x_train: (60000, 28, 28, 1) uint8
    ds = load("myset")          # a set registered with `edgecnn data add myset --from PATH`
    get_spec("myset").image_shape, get_spec("myset").class_names
    ds = read_path("photos.zip")  # an image folder / archive / .npz, read directly (not cached)

`load` reads the cache only and raises DatasetNotFetched when a built-in data
set is not there; `edgecnn data fetch NAME` (or `fetch`) puts it there.
`fit_images` brings images to a model's input shape (resize, grayscale <-> RGB).
"""

from edgecnn.data.commands import add_command, fetch_command, info_command, list_command, remove_command
from edgecnn.data.loading import fetch, load
from edgecnn.data.registry import NAMES, Dataset, DatasetSpec, get_spec
from edgecnn.data.transform import RESIZE_METHODS, fit_images
from edgecnn.data.userdata import ReadOptions
from edgecnn.data.userset import add, read_path, registered, remove

__all__ = ["Dataset", "DatasetSpec", "NAMES", "RESIZE_METHODS", "ReadOptions", "add", "fetch", "fit_images",
           "get_spec", "load", "read_path", "registered", "remove",
           "fetch_command", "add_command", "info_command", "list_command", "remove_command"]
