"""Where edgecnn keeps things: the data cache, the shipped assets, the templates."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
# firmware_export/ sits beside the package in the repository (editable install).
FIRMWARE_DIR = PACKAGE_DIR.parent / "firmware_export"


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
