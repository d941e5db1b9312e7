"""Data sets the user registers with `edgecnn data add`, cached like the built-in ones.

A registered set lives in `<data_dir>/<name>/` as `<name>.npz` (x_train, y_train,
x_test, y_test) plus `manifest.json`, written through the same staging directory
and atomic rename as a fetch (cache.py), with the sha256 of every cached file.
Its manifest carries what a built-in spec holds (class names, image shape,
counts), so `registry.get_spec` and `loading.load` treat both alike.
"""

import datetime
import re
import shutil
from dataclasses import asdict
from pathlib import Path

from edgecnn import __version__
from edgecnn.data.arrays import save_npz
from edgecnn.data.cache import MANIFEST, commit, read_manifest, staging
from edgecnn.data.registry import NAMES, Dataset, DatasetSpec
from edgecnn.data.report import Reporter
from edgecnn.data.userdata import ReadOptions, UserData, read_user_data
from edgecnn.errors import EdgecnnError
from edgecnn.paths import data_dir as default_data_dir

ORIGIN = "user"
# A name is a cache directory, a file name and (via `edgecnn build`) a C identifier prefix.
NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,47}")
RESERVED = ("all",)
LICENCE = "the user's own data (registered with `edgecnn data add`); no licence recorded"


def _root(data_dir) -> Path:
    return Path(data_dir) if data_dir is not None else default_data_dir()


def registered(data_dir=None) -> list[str]:
    """Names of the user data sets in the cache, sorted."""
    root = _root(data_dir)
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and not d.name.startswith(".") and (d / MANIFEST).is_file():
            try:
                if read_manifest(root, d.name).get("origin") == ORIGIN:
                    out.append(d.name)
            except EdgecnnError:
                continue
    return out


def unknown_name(name: str, data_dir=None) -> EdgecnnError:
    mine = registered(data_dir)
    listed = f" (registered: {', '.join(mine)})" if mine else " (none registered)"
    return EdgecnnError(f"unknown data set {name!r}; expected one of: {', '.join(NAMES)}, "
                        f"or a data set registered with `edgecnn data add NAME --from PATH`{listed}")


def spec_of(name: str, label: str, class_names, image_shape, n_train: int, n_test: int) -> DatasetSpec:
    return DatasetSpec(name=name, label=label, class_names=tuple(class_names), image_shape=tuple(image_shape),
                       n_train=int(n_train), n_test=int(n_test), formats=(), licence=LICENCE,
                       hint="run `edgecnn data add {name} --from PATH --replace` to read it again", origin=ORIGIN)


def user_spec(name: str, data_dir=None) -> DatasetSpec:
    """The spec of a registered user data set, from its manifest; unknown_name when there is none."""
    root = _root(data_dir)
    if not NAME_RE.fullmatch(name) or not (root / name / MANIFEST).is_file():
        raise unknown_name(name, root)
    m = read_manifest(root, name)
    if m.get("origin") != ORIGIN:
        raise unknown_name(name, root)
    try:
        return spec_of(name, m["label"], m["class_names"], m["image_shape"], m["n_train"], m["n_test"])
    except (KeyError, TypeError) as err:
        raise EdgecnnError(f"{root / name / MANIFEST}: incomplete manifest (missing {err}); "
                           f"run `edgecnn data add {name} --from PATH --replace`") from None


def check_new_name(name: str, data_dir=None, replace: bool = False) -> None:
    """Refuse names that clash with a built-in set, are not a valid name, or exist (unless replace)."""
    if name in NAMES or name in RESERVED:
        raise EdgecnnError(f"data set name {name!r} is taken by a built-in data set; choose another name "
                           f"(built-in: {', '.join(NAMES)}, {', '.join(RESERVED)})")
    if not NAME_RE.fullmatch(name):
        raise EdgecnnError(f"data set name {name!r}: expected a lowercase letter, then up to 47 lowercase "
                           "letters, digits, '-' or '_' (it names a cache folder and C symbols)")
    root = _root(data_dir)
    if (root / name).exists():
        if name not in registered(root):
            raise EdgecnnError(f"{root / name} exists and is not a registered data set; remove it or choose another name")
        if not replace:
            raise EdgecnnError(f"data set {name!r} is already registered; pass --replace to read it again, "
                               f"or `edgecnn data remove {name}`")


def _manifest(name: str, path: Path, data: UserData, opts: ReadOptions) -> dict:
    a = data.arrays
    return {"origin": ORIGIN, "name": name, "label": name, "layout": "npz", "format": data.format,
            "source": f"{path} (edgecnn data add)", "checksums": data.checksums,
            "verification": "user data: no published checksums; every image decoded and checked (classes, "
                            "shape, dtype, labels); sha256 of the source recorded",
            "notes": list(data.notes), "class_names": list(data.class_names), "image_shape": list(data.image_shape),
            "n_train": int(len(a["y_train"])), "n_test": int(len(a["y_test"])), "read_options": asdict(opts),
            "edgecnn_version": __version__,
            "fetched_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def add(name: str, path: Path, opts: ReadOptions = ReadOptions(), data_dir=None, replace: bool = False,
        reporter: Reporter | None = None) -> Dataset:
    """Register the data set at `path` under `name`: read, check, split, cache atomically, load back.

    Raises EdgecnnError (nothing is left in the cache) on a bad name or bad data.
    """
    from edgecnn.data.loading import load

    root = _root(data_dir)
    check_new_name(name, root, replace)
    path = Path(path).expanduser().resolve()
    data = read_user_data(path, opts, reporter)
    a = data.arrays
    spec = spec_of(name, name, data.class_names, data.image_shape, len(a["y_train"]), len(a["y_test"]))
    with staging(root, name) as stage:
        save_npz(spec, stage, a)
        commit(stage, _manifest(name, path, data, opts), root, name)
    return load(name, root)


def remove(name: str, data_dir=None) -> Path:
    """Delete a registered user data set from the cache (built-in sets are refused)."""
    root = _root(data_dir)
    if name in NAMES:
        raise EdgecnnError(f"{name!r} is a built-in data set; `data remove` deletes only sets added with `data add`")
    user_spec(name, root)
    shutil.rmtree(root / name)
    return root / name


def read_path(path: Path, opts: ReadOptions = ReadOptions(), reporter: Reporter | None = None) -> Dataset:
    """A data set read directly from an image folder, archive or .npz, with the checks of `data add`.

    Nothing is cached. The Dataset's name is derived from the file name (a valid data set name),
    its label is the path's name, and `notes` say how it was split and converted.
    """
    path = Path(path).expanduser().resolve()
    data = read_user_data(path, opts, reporter)
    stem = path.name.split(".")[0].lower()
    name = re.sub(r"[^a-z0-9_-]", "_", stem)
    name = name if NAME_RE.fullmatch(name) else f"data_{name}"[:48]
    return Dataset(name=name, label=path.name, class_names=data.class_names,
                   source=f"{path} (read directly, not registered)", checksums=data.checksums,
                   notes=data.notes, **data.arrays)
