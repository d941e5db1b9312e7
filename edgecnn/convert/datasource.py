"""Where build and bench data come from (--data PATH, --dataset NAME, random) and how they become a Feed.

`raw_data` reads a source into uint8 images (or float arrays already in model
units) with labels; `make_feed` brings them to the model's input (feed.py).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.convert import feed
from edgecnn.errors import EdgecnnError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class RawData:
    """A data source as read: train (calibration) and test (evaluation) parts."""

    x_train: np.ndarray  # (N, ...) uint8 pixels, or float arrays in model units
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    class_names: list[str] | None
    description: str  # what x_test is, e.g. "MNIST full test set (10000 images)"
    is_sample: bool
    train_description: str
    pixels: bool  # uint8 images that need resizing and scaling
    label: str = ""  # the data set's name as printed, e.g. "MNIST" or "photos"

    @property
    def n_classes(self) -> int | None:
        return None if self.class_names is None else len(self.class_names)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB") if im.mode not in ("L", "RGB") else im
            a = np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise EdgecnnError(f"{path}: not a readable image ({type(err).__name__}); expected PNG, JPEG or BMP") from None
    return a[..., None] if a.ndim == 2 else a


def _class_dirs(root: Path) -> list[Path]:
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise EdgecnnError(f"image folder {root} has no class folders; expected <class>/*.png|jpg|bmp "
                           "or train/<class>/... and test/<class>/...")
    return dirs


def _read_split(root: Path, classes: list[str], shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for ci, name in enumerate(classes):
        d = root / name
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if d.is_dir() else []
        if not files:
            raise EdgecnnError(f"class folder {d} holds no images (*.png, *.jpg, *.jpeg, *.bmp)")
        for p in files:
            xs.append(feed.fit_images(_read_image(p)[None], shape, str(p))[0])
            ys.append(ci)
    return np.stack(xs), np.asarray(ys, np.int64)


def read_folder(root: Path, shape: tuple) -> RawData:
    """An image folder, each image brought to the model's (H, W, C) as it is read (sizes may differ)."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = [p.name for p in _class_dirs(root / "train")]
        x_tr, y_tr = _read_split(root / "train", classes, shape)
        x_te, y_te = _read_split(root / "test", classes, shape)
        what = "its test/ split"
    else:
        classes = [p.name for p in _class_dirs(root)]
        x_tr, y_tr, x_te, y_te = feed.split(*_read_split(root, classes, shape))
        what = f"a seeded stratified {feed.SPLIT_TEST_FRACTION:.0%} split (seed {feed.SPLIT_SEED})"
    return RawData(x_tr, y_tr, x_te, y_te, classes, f"{root} ({len(y_te)} images, {what})", False,
                   f"{root} training images", True, root.name)


def read_npz(path: Path) -> RawData:
    """An .npz: x_train, y_train, x_test, y_test (or x, y, split here); uint8 = pixels, float = model units."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as err:
        raise EdgecnnError(f"{path}: not a readable .npz ({type(err).__name__}); expected numpy.savez output") from None
    if {"x_train", "x_test"} <= arrays.keys():
        x_tr, y_tr, x_te, y_te = (arrays["x_train"], arrays.get("y_train"), arrays["x_test"], arrays.get("y_test"))
        what = "its x_test"
    elif "x" in arrays:
        if arrays.get("y") is None:
            x_tr = x_te = arrays["x"]
            y_tr = y_te = None
        else:
            x_tr, y_tr, x_te, y_te = feed.split(arrays["x"], arrays["y"])
        what = "x" if arrays.get("y") is None else f"a seeded stratified {feed.SPLIT_TEST_FRACTION:.0%} split"
    else:
        raise EdgecnnError(f"{path} holds {sorted(arrays)}; expected x_train, y_train, x_test, y_test (or x, y)")
    x_tr, x_te = np.asarray(x_tr), np.asarray(x_te)
    if x_tr.dtype != x_te.dtype or x_tr.dtype.kind not in "uf":
        raise EdgecnnError(f"{path}: x arrays are {x_tr.dtype}/{x_te.dtype}; expected uint8 images or float arrays")
    classes = None
    if y_tr is not None:
        n = int(max(y_tr.max(initial=0), (y_te if y_te is not None else y_tr).max(initial=0))) + 1
        classes = [str(i) for i in range(n)]
    pixels = x_tr.dtype == np.uint8
    if pixels and x_tr.ndim == 3:
        x_tr, x_te = x_tr[..., None], x_te[..., None]
    return RawData(x_tr, y_tr, x_te, y_te, classes, f"{path} ({len(x_te)} samples, {what})", False,
                   f"{path} training samples", pixels, path.stem)


def read_dataset(name: str) -> RawData:
    """A built-in data set (cache, else the shipped sample) or one registered with `edgecnn data add`."""
    from edgecnn.data.registry import get_spec
    from edgecnn.samples import calibration_data, evaluation_data

    try:
        spec = get_spec(name)
    except EdgecnnError:
        spec = None
    if spec is None:
        from edgecnn.data import load

        ds = load(name)  # registered user data sets; raises a clear error for unknown names
        return RawData(ds.x_train, ds.y_train, ds.x_test, ds.y_test, list(ds.class_names),
                       f"{ds.label} test split ({len(ds.y_test)} images)", False, f"{ds.label} training split", True,
                       ds.label)
    ev = evaluation_data(name)
    calib, calib_desc = calibration_data(name, 10 ** 9)
    return RawData(calib, None, ev.x, ev.y, list(spec.class_names), ev.description, ev.is_sample,
                   calib_desc.split(" from the ", 1)[-1].split(" (seed")[0], True, spec.label)


def raw_data(dataset: str | None, data: Path | None, shape: tuple) -> RawData:
    """Read --data or --dataset (never both)."""
    if dataset is not None and data is not None:
        raise EdgecnnError("pass --dataset NAME or --data PATH, not both")
    if data is not None:
        data = Path(data)
        if data.is_dir():
            return read_folder(data, shape)
        if data.is_file() and data.suffix.lower() == ".npz":
            return read_npz(data)
        raise EdgecnnError(f"--data {data}: expected an image folder or an .npz file"
                           + ("" if data.exists() else " (it does not exist)"))
    return read_dataset(dataset)


def seeded_subset(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n seeded samples of x (all when n >= len(x)), in their original order."""
    if n >= len(x):
        return x
    return x[np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))]


def make_feed(src, shape: tuple, output_shape: tuple, q_in, *, dataset: str | None, data: Path | None,
              input_range: str | None, metrics: dict, calibration_samples: int) -> feed.Feed:
    """Calibration and evaluation data for a build, in the model's input units.

    src: frontends.ModelSource; shape, output_shape: the model's (1, ...) input and output shapes;
    q_in: the int8 input quantization when the source is an int8 .tflite, else None.
    """
    requested = feed.parse_range(input_range)
    ignored = []
    if requested is not None and not feed.is_image_shape(shape):
        ignored = [f"--input-range does not apply: the model input {tuple(shape)} is not an image (1, H, W, 1|3)"]
        requested = None
    rng, why = feed.infer_range(requested, src.rescaling_input, bool(metrics.get("dataset")), q_in)
    if not feed.is_image_shape(shape):
        rng, why = None, "not an image input"
    if dataset is None and data is None:
        dataset = metrics.get("dataset")
    if dataset is None and data is None:
        if not src.is_int8:
            raise EdgecnnError(f"{src.path} is a float model ({src.description}): int8 calibration needs data; "
                               "pass --data PATH (image folder or .npz) or --dataset NAME")
        x = feed.random_inputs(shape, q_in)
        return feed.Feed(None, x, None, [f"class_{i}" for i in range(int(output_shape[-1]))],
                         f"{len(x)} seeded random int8 inputs (seed {feed.RANDOM_SEED}; no data given)",
                         False, "random", rng, why,
                         ignored + ["accuracy unknown: no data given (pass --data or --dataset)"])
    raw = raw_data(dataset, data, shape)
    if raw.n_classes is not None and raw.y_test is not None:
        feed.check_classes(raw.n_classes, output_shape, f"the data ({raw.description})")
    calib = None if src.is_int8 else seeded_subset(raw.x_train, calibration_samples)
    if raw.pixels:
        if rng is None:
            raise EdgecnnError(f"the input range of {src.path} is {why}: pass --input-range "
                               f"{' | '.join(feed.RANGES)} (the pixel range the model was trained on)")
        x = feed.to_model_units(feed.fit_images(raw.x_test, shape, raw.description), rng)
        calib = None if calib is None else feed.to_model_units(feed.fit_images(calib, shape, raw.description), rng)
    else:
        x = raw.x_test.astype(np.float32)
        calib = None if calib is None else calib.astype(np.float32)
        rng, why = None, "arrays given in model units (float .npz)"
        if tuple(x.shape[1:]) != tuple(shape[1:]):
            raise EdgecnnError(f"the data ({raw.description}) has samples of shape {tuple(x.shape[1:])}; "
                               f"the model input is {tuple(shape[1:])}")
    labels = raw.class_names or [f"class_{i}" for i in range(int(output_shape[-1]))]
    notes = ignored + ([] if raw.y_test is not None else ["accuracy unknown: the data has no labels"])
    unit = "images" if raw.pixels else "samples"
    calib_desc = "" if calib is None else f"{len(calib)} {unit} from the {raw.train_description} (seed 0)"
    return feed.Feed(calib, x, raw.y_test, labels, raw.description, raw.is_sample,
                     "data" if data is not None else "dataset", rng, why, notes, calib_desc, raw.label)


def bench_feed(manifest: dict, dataset: str | None = None, data: Path | None = None) -> feed.Feed:
    """The evaluation inputs for `bench`: the build's own data (same source, range and seed), or new ones."""
    from types import SimpleNamespace

    inp, out = manifest["input"], manifest["output"]
    shape, out_shape = tuple(inp["shape"]), tuple(out["shape"])
    q_in = SimpleNamespace(scale=float(inp["scale"]), zero_point=int(inp["zero_point"]))
    built = manifest.get("data") or {"source": "dataset"}
    rng = tuple(inp["range"]) if inp.get("range") else None
    if "range" not in inp:  # built before input ranges were recorded: every such build fed pixels / 255
        rng = feed.RANGES["0,1"]
    if dataset is None and data is None:
        if built["source"] == "random":
            x = feed.random_inputs(shape, q_in, n=int(built.get("n_eval", feed.N_RANDOM)))
            return feed.Feed(None, x, None, [], f"{len(x)} seeded random int8 inputs (seed {feed.RANDOM_SEED}, "
                             "as in the build; no data)", False, "random", rng, "build")
        if built["source"] == "data":
            data = Path(built["path"])
        else:
            dataset = manifest.get("dataset")
    src = SimpleNamespace(is_int8=True, rescaling_input=False, path=manifest.get("name"), description="build")
    range_text = None if rng is None else next((k for k, v in feed.RANGES.items() if tuple(v) == rng), None)
    fd = make_feed(src, shape, out_shape, q_in, dataset=dataset, data=data, input_range=range_text,
                   metrics={}, calibration_samples=1)
    return fd
