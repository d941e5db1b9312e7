"""Data sets: fetch from verified sources into a cache, load from the cache.

    from edgecnn.data import load
    ds = load("mnist")          # ds.x_train: (60000, 28, 28, 1) uint8

`load` reads the cache only and raises DatasetNotFetched when the data set is
not there; `edgecnn data fetch NAME` (or `fetch`) puts it there.
"""

from edgecnn.data.commands import fetch_command, info_command
from edgecnn.data.loading import fetch, load
from edgecnn.data.registry import NAMES, Dataset

__all__ = ["Dataset", "NAMES", "load", "fetch", "fetch_command", "info_command"]
