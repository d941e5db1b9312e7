"""Regenerate the shipped samples (edgecnn/assets/samples/<dataset>.npz) from the cached data sets.

    python scripts/make_samples.py mnist fashion-mnist cifar10

Seeded (seed 0): the same cache gives byte-identical arrays.
"""

import sys

import numpy as np

from edgecnn.data import load
from edgecnn.samples import make_sample, sample_path

for name in sys.argv[1:] or ["mnist", "fashion-mnist", "cifar10"]:
    path = sample_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **make_sample(load(name)))
    print(f"{path}: {path.stat().st_size} bytes")
