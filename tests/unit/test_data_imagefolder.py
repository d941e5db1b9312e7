"""Image-folder reader on images from the shared CIFAR-10 JPEG copy, on a directory and inside a .tar.gz.

A module fixture copies the first few images of every class out of the shared
archive (read directly, without extracting it); corrupt variants are made from them.
"""

import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn.data import formats
from edgecnn.data.imagefolder import find_root, read_image_folder
from edgecnn.data.readers import parse_cifar_binary
from edgecnn.data.registry import CIFAR10_CLASSES, SPECS
from edgecnn.data.report import Reporter
from edgecnn.data.tree import Tree
from edgecnn.errors import EdgecnnError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
N_PER_CLASS = {"train": 4, "test": 2}
SHAPE = (32, 32, 3)


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.is_file():
        pytest.fail(f"{path} missing: the shared data sets must sit beside the repository (../shared/datasets)")
    return path


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    """train/<class>/000k.jpg (4 per class) and test/<class>/000k.jpg (2 per class), bytes as in the archive."""
    root = tmp_path_factory.mktemp("cifar_small")
    wanted = [f"{split}/{c}/{k:04d}.jpg" for split, n in N_PER_CLASS.items() for c in CIFAR10_CLASSES for k in range(n)]
    with Tree(shared_file("cifar10-jpeg.tar.gz")) as tree:
        assert len(tree.files) == 60000
        for rel, data in tree.read_many(wanted):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
    return root


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def read(path: Path, reporter=None):
    with Tree(path) as tree:
        return read_image_folder(tree, find_root(tree), CIFAR10_CLASSES, SHAPE, reporter)


def test_reads_directory(small_folder):
    imgs = read(small_folder)
    assert imgs.x_train.shape == (40, 32, 32, 3) and imgs.x_test.shape == (20, 32, 32, 3)
    assert imgs.y_train.tolist() == [c for c in range(10) for _ in range(4)]
    assert imgs.y_test.tolist() == [c for c in range(10) for _ in range(2)]
    assert imgs.lossy
    # Slot 4 * 3 + 1 is cat's second image.
    expected = np.asarray(Image.open(small_folder / "train/cat/0001.jpg").convert("RGB"))
    np.testing.assert_array_equal(imgs.x_train[13], expected)


def test_reads_targz_with_prefix_identically(small_folder, tmp_path):
    archive = tmp_path / "mine.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(small_folder, arcname="mycifar")
    a, b = read(small_folder), read(archive)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.content_sha256 != b.content_sha256  # paths differ ("mycifar/..."), so does the digest


def test_matches_exact_official_pixels(small_folder):
    """The k-th JPEG of a class is the k-th official training image of that class (README), ~5 levels off."""
    x_exact, y_exact = parse_cifar_binary(
        shared_file("cifar10-exact-partial/data_batch_1_records_0000-3999.bin").read_bytes(), "partial")
    imgs = read(small_folder)
    errs, wrong_pairing = [], []
    for c in range(10):
        official = np.nonzero(y_exact == c)[0][:4]
        for k, i in enumerate(official):
            jpeg = imgs.x_train[4 * c + k].astype(int)
            errs.append(np.abs(jpeg - x_exact[i]).mean())
            wrong_pairing.append(np.abs(jpeg - x_exact[official[(k + 1) % 4]]).mean())
    print(f"mean abs error JPEG vs exact: {np.mean(errs):.2f} (max per image {np.max(errs):.2f}); "
          f"wrongly paired: {np.mean(wrong_pairing):.2f}")
    assert np.max(errs) < 12 and np.mean(errs) < 8
    assert np.mean(wrong_pairing) > 3 * np.mean(errs)


def test_png_folder_is_not_lossy(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "png")
    for jpg in list(root.rglob("*.jpg")):
        Image.open(jpg).save(jpg.with_suffix(".png"))
        jpg.unlink()
    imgs = read(root)
    assert not imgs.lossy
    np.testing.assert_array_equal(imgs.x_train, read(small_folder).x_train)


def test_wrong_image_size(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "f")
    bad = root / "train/dog/0002.jpg"
    Image.open(bad).resize((31, 32)).save(bad)
    with pytest.raises(EdgecnnError, match=r"train/dog/0002.jpg: image is 31x32; expected 32x32"):
        read(root)


def test_grayscale_image_refused(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "f")
    bad = root / "test/ship/0001.jpg"
    Image.open(bad).convert("L").save(bad)
    with pytest.raises(EdgecnnError, match=r"test/ship/0001.jpg: image mode L; expected P or RGB"):
        read(root)


def test_empty_class_folder(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "f")
    for f in (root / "test/frog").iterdir():
        f.unlink()
    with pytest.raises(EdgecnnError, match=r"test/frog: empty class folder"):
        read(root)


def test_missing_and_unexpected_class_folders(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "f")
    (root / "train/horse").rename(root / "train/pony")
    with pytest.raises(EdgecnnError, match=r"\(missing \['horse'\]\) \(unexpected \['pony'\]\)"):
        read(root)


def test_non_image_and_corrupt_image(small_folder, tmp_path):
    root = copy_folder(small_folder, tmp_path / "f")
    (root / "train/cat/notes.txt").write_text("hello")
    with pytest.raises(EdgecnnError, match=r"train/cat/notes.txt: not an image"):
        read(root)
    (root / "train/cat/notes.txt").unlink()
    jpg = root / "train/bird/0000.jpg"
    jpg.write_bytes(jpg.read_bytes()[:40])
    with pytest.raises(EdgecnnError, match=r"train/bird/0000.jpg: not a readable image"):
        read(root)


def test_truncated_archive(small_folder, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(small_folder, arcname=".")
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(EdgecnnError, match=r"cut.tar.gz: corrupt or truncated archive"):
        read(archive)


def test_partial_folder_is_not_loaded_as_cifar10(small_folder, tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    with pytest.raises(EdgecnnError, match=r"40 train images; CIFAR-10 has 50000 \(partial copies are not loaded"):
        formats.ingest(SPECS["cifar10"], small_folder, "test", stage, Reporter())
    assert list(stage.iterdir()) == []
