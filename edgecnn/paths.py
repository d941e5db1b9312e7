"""Where edgecnn keeps things: the data cache, the shipped assets, the templates.

Everything read at run time lives inside the package directory, so a wheel
installed anywhere finds it: assets/ (models, samples), codegen/kernels and
the harnesses, and firmware_export/ (TFLM templates, the Cortex-M4 QEMU
project). In the repository, edgecnn/firmware_export is a symlink to the
top-level firmware_export/, the one copy people read and edit; building a
wheel or an sdist copies the files it points to.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
FIRMWARE_DIR = PACKAGE_DIR / "firmware_export"


def data_dir() -> Path:
    """The data set cache: $EDGECNN_DATA_DIR, else ~/.cache/edgecnn/datasets."""
    env = os.environ.get("EDGECNN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "edgecnn" / "datasets"


def shipped_model_dir(dataset: str) -> Path:
    """Directory of the shipped model for a data set (model.keras, metrics.json, sample.npz)."""
    return ASSETS_DIR / "models" / dataset
