"""User data sets: `add` from an image folder, its .zip / .tar.gz, and .npz; the split, the checks,
the cache (checksums, atomic writes), `load`, `get_spec`, `read_path` and `fit_images`.

The folder is real images from the shipped CIFAR-10 sample, resized to 40x40 and written as PNG
(tests/conftest.py); every expected pixel is decoded here independently with Pillow.
"""

import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn.data import ReadOptions, add, fit_images, get_spec, load, read_path, registered, remove
from edgecnn.data.cache import MANIFEST, file_digest
from edgecnn.data.userdata import stratified_split
from edgecnn.errors import EdgecnnError

from conftest import USER_SIDE, sample


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("EDGECNN_DATA_DIR", str(root))
    return root


def pil_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def folder_index(folder: Path) -> dict[bytes, tuple[str, str]]:
    """Image bytes (decoded pixels) -> (class, file), to find where each loaded image came from."""
    return {pil_pixels(p).tobytes(): (p.parent.name, p.name) for p in sorted(folder.rglob("*.png"))}


def test_add_folder_caches_split_and_loads(user_folder, cache):
    ds = add("photos", user_folder)
    n = len(list(user_folder.rglob("*.png")))
    classes = sorted(d.name for d in user_folder.iterdir())
    assert ds.class_names == tuple(classes) and ds.label == "photos"
    assert ds.x_train.shape[1:] == (USER_SIDE, USER_SIDE, 3) and ds.x_train.dtype == np.uint8
    assert len(ds.y_train) + len(ds.y_test) == n
    # Every loaded image is one of the PNGs, under its folder's label, and each PNG appears once.
    index = folder_index(user_folder)
    seen = []
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        for img, label in zip(x, y):
            cls, fname = index[img.tobytes()]
            assert classes[label] == cls
            seen.append((cls, fname))
    assert len(set(seen)) == n
    # Stratified: round(0.2 * n_c) of each class went to test.
    for k, cls in enumerate(classes):
        n_c = len(list((user_folder / cls).glob("*.png")))
        assert int((ds.y_test == k).sum()) == min(max(round(0.2 * n_c), 1), n_c - 1)
    manifest = json.loads((cache / "photos" / MANIFEST).read_text())
    assert manifest["origin"] == "user" and manifest["image_shape"] == [USER_SIDE, USER_SIDE, 3]
    assert any("stratified by class" in note for note in manifest["notes"])
    for fname, digest in manifest["cache_files"].items():
        assert file_digest(cache / "photos" / fname) == digest
    assert load("photos").x_test.tobytes() == ds.x_test.tobytes()
    spec = get_spec("photos")
    assert spec.image_shape == (USER_SIDE, USER_SIDE, 3) and spec.class_names == ds.class_names
    assert registered() == ["photos"]


def test_split_is_seeded(user_folder, cache):
    a = add("one", user_folder)
    b = add("two", user_folder, ReadOptions(split_seed=0))
    c = add("three", user_folder, ReadOptions(split_seed=1))
    assert a.x_test.tobytes() == b.x_test.tobytes()
    assert a.x_test.tobytes() != c.x_test.tobytes()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archives_read_like_the_folder(user_folder, tmp_path, cache, kind):
    archive = tmp_path / f"photos.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as z:
            for p in sorted(user_folder.rglob("*.png")):
                z.write(p, f"photos/{p.relative_to(user_folder)}")
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(user_folder, arcname="photos")
    direct = read_path(user_folder)
    packed = add("packed", archive)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(packed, key), getattr(direct, key))
    assert archive.name in packed.checksums and packed.checksums[archive.name] == file_digest(archive)


def test_train_test_folders_are_the_splits(user_folder, tmp_path, cache):
    root = tmp_path / "split"
    for cls in sorted(d.name for d in user_folder.iterdir()):
        files = sorted((user_folder / cls).glob("*.png"))
        for split, part in (("train", files[:-3]), ("test", files[-3:])):
            (root / split / cls).mkdir(parents=True)
            for f in part:
                shutil.copy(f, root / split / cls / f.name)
    ds = add("split", root)
    assert len(ds.y_test) == 3 * len(ds.class_names)
    test_pixels = {pil_pixels(p).tobytes() for p in (root / "test").rglob("*.png")}
    assert {img.tobytes() for img in ds.x_test} == test_pixels


def test_npz_with_x_y_only(tmp_path, cache):
    s = sample("mnist")
    path = tmp_path / "digits.npz"
    np.savez(path, x=s["x_calib"][..., 0], y=s["y_calib"].astype(np.int64))
    ds = add("digits", path)
    assert ds.x_train.shape[1:] == (28, 28, 1) and ds.class_names == tuple(str(i) for i in range(10))
    assert len(ds.y_train) + len(ds.y_test) == len(s["y_calib"])
    rows = {img.tobytes(): int(y) for img, y in zip(s["x_calib"], s["y_calib"])}
    assert all(rows[img.tobytes()] == y for img, y in zip(ds.x_test, ds.y_test))
    assert any("stratified" in n for n in ds.notes)


def test_npz_with_splits_and_class_names(tmp_path, cache):
    s = sample("cifar10")
    path = tmp_path / "four.npz"
    np.savez(path, x_train=s["x_calib"], y_train=s["y_calib"], x_test=s["x_eval"], y_test=s["y_eval"],
             class_names=s["class_names"])
    ds = add("four", path)
    np.testing.assert_array_equal(ds.x_test, s["x_eval"])
    assert ds.class_names == tuple(str(c) for c in s["class_names"])


def test_mixed_sizes_need_size_and_resize_is_bilinear(user_folder, tmp_path, cache):
    root = tmp_path / "mixed"
    shutil.copytree(user_folder, root)
    odd = sorted(root.rglob("*.png"))[:5]
    for p in odd:
        Image.open(p).resize((32, 24)).save(p)
    with pytest.raises(EdgecnnError, match=r"images of 2 sizes \(HxW\): 40x40 \(295 images\), 24x32 \(5 images\); "
                                           r"pass --size HxW"):
        add("mixed", root)
    assert not (cache / "mixed").exists()
    ds = add("mixed", root, ReadOptions(size=(36, 36), channels=1))
    assert ds.x_train.shape[1:] == (36, 36, 1)
    assert any("bilinear" in n for n in ds.notes) and any("3 -> 1 channels" in n for n in ds.notes)
    # Independently: Pillow's bilinear resize, then its luma conversion.
    expected = {np.asarray(Image.open(p).convert("RGB").resize((36, 36), Image.Resampling.BILINEAR).convert("L"))
                .tobytes() for p in root.rglob("*.png")}
    assert {img[..., 0].tobytes() for img in ds.x_train} <= expected


def test_fit_images_gray_to_rgb_and_resize():
    x = sample("mnist")["x_calib"][:4]  # (4, 28, 28, 1)
    rgb = fit_images(x, (28, 28, 3))
    assert rgb.shape == (4, 28, 28, 3) and all(np.array_equal(rgb[..., c], x[..., 0]) for c in range(3))
    small = fit_images(x, (14, 20, 1), "nearest")
    ref = np.asarray(Image.fromarray(x[2, ..., 0]).resize((20, 14), Image.Resampling.NEAREST))
    np.testing.assert_array_equal(small[2, ..., 0], ref)
    assert fit_images(x, (28, 28, 1)) is x
    with pytest.raises(EdgecnnError, match="resize method 'cubic'"):
        fit_images(x, (10, 10, 1), "cubic")


def test_stratified_split_keeps_every_class_in_train():
    y = np.array([0] * 10 + [1] * 2 + [2])
    tr, te = stratified_split(y, 0.2, 0)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(y)))
    assert np.bincount(y[te], minlength=3).tolist() == [2, 1, 0]
    assert set(y[tr]) == {0, 1, 2}


def _bad_folder(user_folder: Path, tmp: Path, what: str) -> Path:
    root = tmp / what
    if what == "empty":
        root.mkdir()
        return root
    shutil.copytree(user_folder, root)
    first = sorted(root.rglob("*.png"))[0]
    if what == "unreadable":
        first.write_bytes(b"\x89PNG not really")
    elif what == "mixed":
        Image.open(first).resize((20, 20)).save(first)
    elif what == "empty-class":
        (root / "unicorn").mkdir()
    elif what == "not-an-image":
        (first.parent / "notes.txt").write_text("hello")
    return root


BAD_FOLDERS = {
    "empty": r"empty: no images; expected <class>/\*\.png",
    "unreadable": r"\.png: not a readable image",
    "mixed": r"images of 2 sizes .*pass --size HxW",
    "empty-class": r"unicorn: empty class folder",
    "not-an-image": r"notes\.txt: not an image",
}


@pytest.mark.parametrize("what", sorted(BAD_FOLDERS))
def test_bad_folders_leave_nothing(user_folder, tmp_path, cache, what):
    with pytest.raises(EdgecnnError, match=BAD_FOLDERS[what]):
        add("bad", _bad_folder(user_folder, tmp_path, what))
    assert not cache.exists() or list(cache.iterdir()) == []


BAD_NPZ = {
    "wrong keys": (dict(images=np.zeros((4, 20, 20), np.uint8), labels=np.zeros(4, np.int64)),
                   r"arrays \['images', 'labels'\]; expected x_train, y_train, x_test, y_test or x, y"),
    "float images": (dict(x=np.zeros((4, 20, 20), np.float32), y=np.arange(4) % 2),
                     r"float array \(float32\); expected uint8 images"),
    "feature vectors": (dict(x=np.zeros((4, 640), np.uint8), y=np.arange(4) % 2),
                        r"feature vectors; expected images"),
    "float labels": (dict(x=np.zeros((4, 20, 20), np.uint8), y=np.zeros(4, np.float32)),
                     r"float32 \(4,\); expected integer class labels"),
    "label count": (dict(x=np.zeros((4, 20, 20), np.uint8), y=np.zeros(3, np.int64)),
                    r"3 labels for 4 images"),
    "one class": (dict(x=np.zeros((4, 20, 20), np.uint8), y=np.zeros(4, np.int64)), r"1 class; expected at least 2"),
    "object arrays": (dict(x=np.array([np.zeros(3), "a"], dtype=object), y=np.zeros(2, np.int64)),
                      r"object \(pickled\) arrays"),
}


@pytest.mark.parametrize("what", sorted(BAD_NPZ))
def test_bad_npz_leave_nothing(tmp_path, cache, what):
    arrays, pattern = BAD_NPZ[what]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(EdgecnnError, match=pattern):
        add("bad", path)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_truncated_npz_and_zip(user_folder, tmp_path, cache):
    path = tmp_path / "cut.npz"
    np.savez(path, x=np.zeros((4, 20, 20), np.uint8), y=np.arange(4) % 2)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(EdgecnnError, match=r"cut.npz: not an .npz archive"):
        add("cut", path)
    archive = tmp_path / "cut.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(user_folder.rglob("*.png"))[:20]:
            z.write(p, str(p.relative_to(user_folder)))
    archive.write_bytes(archive.read_bytes()[:-3000])
    with pytest.raises(EdgecnnError, match=r"cut.zip: corrupt or truncated archive"):
        add("cut", archive)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_names(user_folder, cache):
    for name, pattern in (("mnist", r"'mnist' is taken by a built-in data set"),
                          ("all", r"'all' is taken by a built-in"),
                          ("My Set", r"'My Set': expected a lowercase letter"),
                          ("9lives", r"'9lives': expected a lowercase letter")):
        with pytest.raises(EdgecnnError, match=pattern):
            add(name, user_folder)
    add("mine", user_folder)
    with pytest.raises(EdgecnnError, match=r"'mine' is already registered; pass --replace"):
        add("mine", user_folder)
    add("mine", user_folder, ReadOptions(test_fraction=0.5), replace=True)
    assert abs(len(load("mine").y_test) - 150) <= 10
    with pytest.raises(EdgecnnError, match=r"unknown data set 'nosuch'.*registered: mine"):
        get_spec("nosuch")
    with pytest.raises(EdgecnnError, match=r"unknown data set 'nosuch'"):
        load("nosuch")
    remove("mine")
    assert registered() == [] and not (cache / "mine").exists()
    with pytest.raises(EdgecnnError, match=r"'mnist' is a built-in data set"):
        remove("mnist")


def test_corrupt_cached_npz_is_refused(user_folder, cache):
    add("photos", user_folder)
    npz = cache / "photos" / "photos.npz"
    data = bytearray(npz.read_bytes())
    data[-100] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(EdgecnnError, match=r"photos.npz is corrupt"):
        load("photos")


def test_channels_inferred_and_other_formats(user_folder, tmp_path, cache):
    """Grayscale PNG, JPEG and BMP files: 1 channel when every image is gray, 3 when one is in colour."""
    root = tmp_path / "gray"
    files = sorted(user_folder.rglob("*.png"))
    for i, p in enumerate(files[:60]):
        (root / p.parent.name).mkdir(parents=True, exist_ok=True)
        suffix = (".png", ".bmp", ".jpg")[i % 3]
        Image.open(p).convert("L").save(root / p.parent.name / f"{p.stem}{suffix}")
    (root / files[0].parent.name / "Thumbs.db").write_bytes(b"\0" * 64)  # skipped, like dot-files
    (root / files[0].parent.name / ".DS_Store").write_bytes(b"\0" * 64)
    gray = read_path(root)
    assert gray.x_train.shape[1:] == (USER_SIDE, USER_SIDE, 1)
    assert len(gray.y_train) + len(gray.y_test) == 60
    bmp = sorted(root.rglob("*.bmp"))[0]
    assert any(np.array_equal(img[..., 0], np.asarray(Image.open(bmp))) for img in
               np.concatenate([gray.x_train, gray.x_test]))
    assert any("JPEG" in n for n in gray.notes)
    colour = files[0]
    shutil.copy(colour, root / colour.parent.name / "colour.png")
    mixed = read_path(root)
    assert mixed.x_train.shape[1:] == (USER_SIDE, USER_SIDE, 3)
    assert any("1 -> 3 channels: grayscale repeated" in n for n in mixed.notes)
    assert read_path(root).name == "gray"
