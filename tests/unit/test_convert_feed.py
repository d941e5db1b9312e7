"""Data preparation for build and bench (convert/feed.py, convert/datasource.py): image folders and .npz
brought to the model's input, and one clear error for each bad input."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn.convert import datasource, feed
from edgecnn.errors import EdgecnnError


def _png(path: Path, size: tuple[int, int], mode: str, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, (value,) * (1 if mode == "L" else 3) if mode != "L" else value).save(path)


def test_image_folder_with_mixed_sizes_and_modes_is_brought_to_the_model_input(tmp_path):
    for c, value in (("cat", 10), ("dog", 200)):
        for i, (size, mode) in enumerate([((20, 30), "RGB"), ((8, 8), "L"), ((40, 40), "RGB"), ((16, 16), "L"),
                                          ((12, 12), "RGB")]):
            _png(tmp_path / "imgs" / c / f"{i}.png", size, mode, value)
    raw = datasource.read_folder(tmp_path / "imgs", (1, 16, 16, 1))
    assert raw.class_names == ["cat", "dog"] and raw.x_train.shape[1:] == (16, 16, 1)
    assert len(raw.y_train) + len(raw.y_test) == 10 and sorted(set(raw.y_test.tolist())) == [0, 1]  # stratified
    assert set(np.unique(raw.x_test).tolist()) <= {10, 200}  # uniform images stay uniform through resizing
    x = feed.to_model_units(raw.x_test, (-1.0, 1.0))
    assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("case,match", [
    ("empty", "has no class folders"),
    ("empty-class", "holds no images"),
    ("not-an-image", "not a readable image"),
])
def test_bad_image_folders_are_one_clear_error(tmp_path, case, match):
    root = tmp_path / "imgs"
    root.mkdir()
    if case != "empty":
        (root / "a").mkdir()
    if case == "not-an-image":
        (root / "a" / "x.png").write_bytes(b"not a png at all")
    with pytest.raises(EdgecnnError, match=match):
        datasource.read_folder(root, (1, 8, 8, 3))


def test_npz_layouts_and_errors(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.zeros((10, 640), np.float32), y=np.arange(10) % 2)
    raw = datasource.read_npz(tmp_path / "ok.npz")
    assert not raw.pixels and raw.class_names == ["0", "1"] and len(raw.y_test) == 2
    np.savez(tmp_path / "keys.npz", images=np.zeros((2, 4)))
    with pytest.raises(EdgecnnError, match="expected x_train, y_train, x_test, y_test"):
        datasource.read_npz(tmp_path / "keys.npz")
    np.savez(tmp_path / "dtype.npz", x=np.array(["a", "b"]), y=np.array([0, 1]))
    with pytest.raises(EdgecnnError, match="expected uint8 images or float arrays"):
        datasource.read_npz(tmp_path / "dtype.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(EdgecnnError, match="not a readable .npz"):
        datasource.read_npz(tmp_path / "broken.npz")


def test_data_source_arguments(tmp_path):
    with pytest.raises(EdgecnnError, match="not both"):
        datasource.raw_data("mnist", tmp_path, (1, 28, 28, 1))
    with pytest.raises(EdgecnnError, match="does not exist"):
        datasource.raw_data(None, tmp_path / "nope.npz", (1, 28, 28, 1))
    with pytest.raises(EdgecnnError, match="not an image"):
        feed.fit_images(np.zeros((1, 8, 8, 1), np.uint8), (1, 640), "imgs")


def test_random_inputs_quantize_back_exactly():
    from types import SimpleNamespace

    q = SimpleNamespace(scale=0.0123, zero_point=-7)
    x = feed.random_inputs((1, 49, 10, 1), q, n=5)
    assert x.shape == (5, 49, 10, 1)
    again = feed.random_inputs((1, 49, 10, 1), q, n=5)
    back = feed.quantize(x, q.scale, q.zero_point)
    assert np.array_equal(x, again) and back.min() >= -128 and len(np.unique(back)) > 100
    assert np.array_equal(feed.quantize(back.astype(np.float64) * 0 + x, q.scale, q.zero_point), back)


def test_input_range_does_not_apply_to_a_vector_input(tmp_path):
    from types import SimpleNamespace

    np.savez(tmp_path / "v.npz", x=np.zeros((10, 640), np.float32), y=np.arange(10) % 2)
    src = SimpleNamespace(is_int8=False, rescaling_input=False, path=tmp_path / "m.keras", description="Keras")
    fd = datasource.make_feed(src, (1, 640), (1, 2), None, dataset=None, data=tmp_path / "v.npz",
                              input_range="0,255", metrics={}, calibration_samples=4)
    assert fd.input_range is None and any("--input-range does not apply" in n for n in fd.notes)
    assert fd.calib.shape == (4, 640) and fd.calib.dtype == np.float32
