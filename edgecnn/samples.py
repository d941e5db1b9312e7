"""The small per-data-set samples shipped as package data.

Each `assets/samples/<dataset>.npz` holds a seeded calibration subset of the
training split and an evaluation subset of the test split, so that
`edgecnn build` and `edgecnn bench` work on a fresh install before any data
set is fetched. Whoever uses a sample instead of the full test set says so.
"""

import json
from dataclasses import dataclass

import numpy as np

from edgecnn.errors import DatasetNotFetched, EdgecnnError
from edgecnn.paths import ASSETS_DIR

SAMPLE_SIZES = {"mnist": (500, 500), "fashion-mnist": (500, 500), "cifar10": (300, 300)}


@dataclass(frozen=True)
class EvalData:
    """Images and labels to measure accuracy on, and a phrase saying what they are."""

    x: np.ndarray  # (N, H, W, C) uint8
    y: np.ndarray  # (N,) uint8
    description: str  # e.g. "MNIST full test set (10000 images)"
    is_sample: bool


def sample_path(dataset: str):
    return ASSETS_DIR / "samples" / f"{dataset}.npz"


def load_sample(dataset: str) -> dict:
    """The shipped sample: x_calib, y_calib, x_eval, y_eval, class_names, meta (dict)."""
    path = sample_path(dataset)
    if not path.exists():
        raise EdgecnnError(f"no shipped sample for data set {dataset!r}; expected one of {sorted(SAMPLE_SIZES)}")
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    out["meta"] = json.loads(str(out["meta"]))
    out["class_names"] = [str(c) for c in out["class_names"]]
    return out


def make_sample(ds, seed: int = 0) -> dict:
    """Draw the seeded calibration/evaluation subsets from a loaded Dataset."""
    n_calib, n_eval = SAMPLE_SIZES[ds.name]
    rng = np.random.default_rng(seed)
    i_cal = np.sort(rng.choice(len(ds.x_train), n_calib, replace=False))
    i_ev = np.sort(rng.choice(len(ds.x_test), n_eval, replace=False))
    meta = {"dataset": ds.name, "label": ds.label, "source": ds.source, "seed": seed,
            "calib_indices_of": "train", "eval_indices_of": "test",
            "calib_indices": i_cal.tolist(), "eval_indices": i_ev.tolist()}
    return {"x_calib": ds.x_train[i_cal], "y_calib": ds.y_train[i_cal],
            "x_eval": ds.x_test[i_ev], "y_eval": ds.y_test[i_ev],
            "class_names": np.array(ds.class_names), "meta": json.dumps(meta)}


def evaluation_data(dataset: str, full: bool = True) -> EvalData:
    """The full test set when it is in the cache (and `full`), else the shipped sample."""
    if full:
        from edgecnn.data import load

        try:
            ds = load(dataset)
            return EvalData(ds.x_test, ds.y_test, f"{ds.label} full test set ({len(ds.y_test)} images)", False)
        except DatasetNotFetched:
            pass
    s = load_sample(dataset)
    label = s["meta"]["label"]
    return EvalData(s["x_eval"], s["y_eval"],
                    f"{label} shipped sample ({len(s['y_eval'])} test images; full test set not fetched)", True)


def calibration_data(dataset: str, n: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """N seeded training images for int8 calibration: the cached training split, else the sample."""
    from edgecnn.data import load

    try:
        ds = load(dataset)
        x, what = ds.x_train, f"{ds.label} training split"
    except DatasetNotFetched:
        s = load_sample(dataset)
        x, what = s["x_calib"], f"{s['meta']['label']} shipped sample"
    if n > len(x):
        n = len(x)
    idx = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
    return x[idx], f"{n} images from the {what} (seed {seed})"
