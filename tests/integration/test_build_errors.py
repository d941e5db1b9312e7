"""Bad inputs to `edgecnn build`: one clear error each, and nothing left behind in --out
(no output directory, no temporary build directory), including when a verification fails."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgecnn.convert import tflm
from edgecnn.convert.build import BuildRequest, build
from edgecnn.errors import EdgecnnError

EDGECNN = Path(sys.executable).parent / "edgecnn"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """An untrained lite28 saved as .keras: enough to convert, quick to make."""
    import keras

    from edgecnn.model import build_model

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("models") / "lite28.keras"
    build_model("lite28").save(path)
    return path


@pytest.fixture(autouse=True)
def sample_only(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGECNN_DATA_DIR", str(tmp_path / "empty-cache"))


def assert_nothing_left(parent: Path, out_name: str = "out"):
    assert not (parent / out_name).exists()
    assert not [p.name for p in parent.iterdir() if ".building-" in p.name or ".old-" in p.name]


def test_missing_model(tmp_path):
    with pytest.raises(EdgecnnError, match=r"model file .*nope\.keras does not exist"):
        build(BuildRequest(model=tmp_path / "nope.keras", out=tmp_path / "out"))
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize("kind", ["random-bytes", "broken-zip"])
def test_corrupt_model(tmp_path, kind):
    path = tmp_path / "bad.keras"
    if kind == "random-bytes":
        path.write_bytes(os.urandom(2000))
        match = "is not a model edgecnn reads; the file may be corrupt or truncated"
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", "{not json")
        match = "could not load .*bad.keras as a Keras 3 .keras model"
    with pytest.raises(EdgecnnError, match=match):
        build(BuildRequest(model=path, out=tmp_path / "out"))
    assert_nothing_left(tmp_path)


def test_a_model_keras_will_not_load_safely_is_one_clear_error(tmp_path):
    """No Keras class list any more; a Lambda layer is refused by Keras' safe loading, in one line."""
    import keras

    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inp)
    x = keras.layers.Lambda(lambda t: keras.ops.erf(t), name="erf")(x)
    keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(x))).save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 8, 8, 1), np.uint8), y=np.array([0, 1, 2, 0]))
    with pytest.raises(EdgecnnError, match="could not load .*m.keras as a Keras 3 .keras model .*Lambda"):
        build(BuildRequest(model=tmp_path / "m.keras", data=tmp_path / "d.npz", input_range="0,1",
                           calibration_samples=4, out=tmp_path / "out"))
    assert_nothing_left(tmp_path, "out")


def test_float_model_without_data_names_data(untrained, tmp_path):
    with pytest.raises(EdgecnnError, match="float model .*pass --data PATH"):
        build(BuildRequest(model=untrained, out=tmp_path / "out"))
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize("out", ["/proc/edgecnn-build-test", "/sys/edgecnn-build-test"])
def test_unwritable_output_directory(untrained, out):
    with pytest.raises(EdgecnnError, match="cannot write the output directory"):
        build(BuildRequest(model=untrained, out=Path(out)))
    assert not Path(out).exists()


def test_output_under_a_file(untrained, tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(EdgecnnError, match="is a file, not a directory"):
        build(BuildRequest(model=untrained, out=tmp_path / "f" / "out"))


def test_failed_verification_fails_the_build_and_leaves_nothing(untrained, tmp_path, monkeypatch):
    """A header that drops the model's last byte must be caught by the round-trip check."""
    real = tflm.c_array_body
    monkeypatch.setattr(tflm, "c_array_body", lambda data: real(data[:-1]))
    with pytest.raises(EdgecnnError, match=r"verification failed: model_data.cc array == model_int8.tflite"):
        build(BuildRequest(model=untrained, dataset="mnist", input_range="0,1", out=tmp_path / "out"))
    assert_nothing_left(tmp_path)


def test_failed_rebuild_keeps_the_previous_build(untrained, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"previous": true}')
    monkeypatch.setattr(tflm, "c_array_body", lambda data: "  0x00,")
    with pytest.raises(EdgecnnError, match="verification failed"):
        build(BuildRequest(model=untrained, dataset="mnist", input_range="0,1", out=out))
    assert (out / "manifest.json").read_text() == '{"previous": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_unknown_target_is_one_line_exit_2(tmp_path):
    from edgecnn.convert.targets import target_names

    res = subprocess.run([str(EDGECNN), "build", "--target", "coreml", "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"error: unknown target 'coreml'; expected one of: {', '.join(target_names())}"]
    assert_nothing_left(tmp_path)
