"""Model front ends: the one table of model formats, each detected by content and loaded.

Every front end ends in the same plain value, `ModelSource`: a float model to
quantize (a Keras model, or a float .tflite) or a full-integer int8 .tflite
used as it is. The int8 .tflite is the pivot every build target reads.

| format      | detected by                               | becomes                                   |
|-------------|-------------------------------------------|-------------------------------------------|
| keras       | zip archive holding config.json           | Keras model -> edgecnn's int8 converter   |
| h5          | HDF5 signature (legacy Keras)             | Keras model -> edgecnn's int8 converter   |
| savedmodel  | directory holding saved_model.pb          | Keras wrapper (TFSMLayer) -> converter    |
| tflite      | flatbuffer identifier "TFL3" at byte 4    | int8: as is; float: ai-edge-quantizer     |
| onnx        | ONNX protobuf (ModelProto with a graph)   | refused: onnx2tf does not co-install      |
"""

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgecnn.errors import EdgecnnError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Why .onnx is refused (pip install --dry-run onnx2tf onnx_graphsurgeon sng4onnx psutil, measured here):
ONNX_CONFLICT = ("onnx2tf 1.29.24 (the ONNX -> TensorFlow converter) pins tensorflow==2.19.0, ai-edge-litert==2.1.0, "
                 "numpy==1.26.4, onnx==1.19.1 and onnxruntime==1.23.0, which conflict with edgecnn's "
                 "tensorflow-cpu 2.21 / ai-edge-litert 2.3 stack")


@dataclass(frozen=True)
class ModelSource:
    """A loaded model, whatever its format: what the build stages need to know about it."""

    path: Path
    format: str  # key of FORMATS
    description: str  # e.g. "Keras 3 .keras archive"
    keras: Any = None  # keras.Model (float) for keras / h5 / savedmodel
    tflite: bytes | None = None  # the source .tflite bytes (int8 or float)
    tflite_kind: str | None = None  # key of tflite_kind.KINDS
    rescaling_input: bool = False  # the Keras model starts with a Rescaling layer (it takes raw pixels)

    @property
    def is_int8(self) -> bool:
        """True when the source is already the full-integer pivot (never requantized)."""
        return self.tflite_kind == "int8"

    @property
    def has_float(self) -> bool:
        """True when a float model exists (model_float.* artifacts can be made)."""
        return self.keras is not None or self.tflite_kind == "float"


@dataclass(frozen=True)
class Format:
    description: str
    detect: Callable[[Path, bytes], bool]  # (path, first 16 bytes) -> is it this format?
    load: Callable[[Path], ModelSource]


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(16)


def _is_keras(path: Path, head: bytes) -> bool:
    if not head.startswith(b"PK") or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return "config.json" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _is_onnx(path: Path, head: bytes) -> bool:
    if path.suffix.lower() == ".onnx":
        return True
    # ModelProto starts with field 1 (ir_version, varint): tag byte 0x08; check it parses with a graph.
    if not head.startswith(b"\x08"):
        return False
    try:
        import onnx

        model = onnx.load_model(str(path), load_external_data=False)
        return len(model.graph.node) > 0
    except Exception:
        return False


def _load_with_suffix(path: Path, suffix: str, what: str):
    """keras.models.load_model, via a temporary copy when the name lacks the suffix Keras dispatches on."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        src = path
        if path.suffix.lower() not in (suffix, ".hdf5" if suffix == ".h5" else suffix):
            src = Path(tmp) / f"model{suffix}"
            shutil.copyfile(path, src)
        try:
            return keras.models.load_model(src, compile=False)
        except Exception as err:  # Keras raises many types for a damaged or foreign file
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EdgecnnError(f"could not load {path} as a {what} ({msg[:200]})") from None


def _keras_source(path: Path, fmt: str, model) -> ModelSource:
    check_keras_io(model, path)
    first = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"][:1] if len(model.inputs) == 1 else []
    rescaling = bool(first) and type(first[0]).__name__ == "Rescaling"
    return ModelSource(path, fmt, FORMATS[fmt].description, keras=model, rescaling_input=rescaling)


def check_keras_io(model, path: Path) -> None:
    """Every input of fixed shape (batch aside); EdgecnnError otherwise. Several inputs/outputs are fine."""
    for t in model.inputs:
        shape = tuple(t.shape[1:])
        if any(d is None for d in shape):
            raise EdgecnnError(f"model {path} has input shape {(None, *shape)}; expected fixed sizes besides the "
                               "batch (build the model with keras.Input(shape=(H, W, C)) or a fixed vector length)")


def _load_keras(path: Path) -> ModelSource:
    return _keras_source(path, "keras", _load_with_suffix(path, ".keras", "Keras 3 .keras model"))


# Read every attribute and dataset of an HDF5 file in a child process first: on some corrupt files
# libhdf5 itself loops forever (seen in fuzzing: H5HG__cache_heap_deserialize) or crashes, which no
# Python exception handler can catch.
_H5_PROBE = ("import sys, h5py\n"
             "with h5py.File(sys.argv[1], 'r') as f:\n"
             "    def visit(name, obj):\n"
             "        dict(obj.attrs)\n"
             "        obj[()] if isinstance(obj, h5py.Dataset) else None\n"
             "    dict(f.attrs)\n"
             "    f.visititems(visit)\n")
H5_PROBE_BASE_S = 10  # plus 2 s per MB: a valid file of that size reads in well under a second here


def _probe_h5(path: Path) -> None:
    """EdgecnnError unless h5py reads the whole file in a child process within the time limit."""
    import subprocess
    import sys

    limit = H5_PROBE_BASE_S + 2 * path.stat().st_size / 1e6
    try:
        res = subprocess.run([sys.executable, "-c", _H5_PROBE, str(path)], capture_output=True, text=True,
                             timeout=limit)
    except subprocess.TimeoutExpired:
        raise EdgecnnError(f"{path}: the HDF5 library did not finish reading the file in {limit:.0f} s; "
                           "the .h5 file is corrupt") from None
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
        raise EdgecnnError(f"{path}: not a readable HDF5 file ({tail[:200]}); the .h5 file may be truncated "
                           "or corrupt")


def _load_h5(path: Path) -> ModelSource:
    _probe_h5(path)
    return _keras_source(path, "h5", _load_with_suffix(path, ".h5", "legacy Keras HDF5 (.h5) model"))


def _load_savedmodel(path: Path) -> ModelSource:
    """A SavedModel's serving signature wrapped as a one-input, one-output Keras model."""
    import keras
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        sig = loaded.signatures["serving_default"]
    except Exception as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EdgecnnError(f"could not load the SavedModel {path} ({msg[:200]}); expected a "
                           "serving_default signature") from None
    specs = list(sig.structured_input_signature[1].values())
    outs = list(sig.structured_outputs)
    if len(specs) != 1 or len(outs) != 1:
        raise EdgecnnError(f"SavedModel {path} has {len(specs)} inputs and {len(outs)} outputs; edgecnn builds "
                           "SavedModels with one input and one output (for several, save the model as .keras, "
                           "or convert it to a full-integer int8 .tflite)")
    shape = tuple(specs[0].shape[1:])
    if any(d is None for d in shape) or specs[0].dtype != tf.float32:
        raise EdgecnnError(f"SavedModel {path} input {specs[0].name}: {specs[0].dtype.name} {specs[0].shape}; "
                           "expected float32 with fixed sizes besides the batch")
    inp = keras.Input(shape=shape)
    out = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")(inp)
    model = keras.Model(inp, out[outs[0]] if isinstance(out, dict) else out)
    return ModelSource(path, "savedmodel", FORMATS["savedmodel"].description, keras=model)


def _load_tflite(path: Path) -> ModelSource:
    from edgecnn.convert.tflite_kind import KINDS, check_buildable

    raw = path.read_bytes()
    kind = check_buildable(raw, str(path))
    return ModelSource(path, "tflite", KINDS[kind].description, tflite=raw, tflite_kind=kind)


def _load_onnx(path: Path) -> ModelSource:
    raise EdgecnnError(f"{path} is an ONNX model, which edgecnn cannot convert here: {ONNX_CONFLICT}. "
                       "Export the model to .keras, SavedModel or .tflite instead (e.g. an int8 .tflite)")


FORMATS: dict[str, Format] = {
    "keras": Format("Keras 3 .keras archive", _is_keras, _load_keras),
    "h5": Format("legacy Keras HDF5 (.h5) model", lambda p, h: h.startswith(HDF5_MAGIC), _load_h5),
    "tflite": Format("TFLite flatbuffer (.tflite)", lambda p, h: h[4:8] == b"TFL3", _load_tflite),
    "onnx": Format("ONNX model (.onnx)", _is_onnx, _load_onnx),
    "savedmodel": Format("TensorFlow SavedModel directory", lambda p, h: False, _load_savedmodel),
}


def detect(path: Path) -> str:
    """The key of FORMATS for a model path, by content; EdgecnnError naming what was found."""
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise EdgecnnError(f"{path} is a directory without saved_model.pb; expected a model file "
                           f"({', '.join(f.description for f in FORMATS.values())})")
    if not path.is_file():
        raise EdgecnnError(f"model file {path} does not exist; expected one of: "
                           f"{', '.join(f.description for f in FORMATS.values())}")
    try:
        head = _head(path)
    except OSError as err:
        raise EdgecnnError(f"cannot read model file {path} ({err.strerror or err})") from None
    for name, fmt in FORMATS.items():
        if fmt.detect(path, head):
            return name
    kind = "empty" if not head else f"starts with bytes {head[:8].hex()}"
    raise EdgecnnError(f"model file {path} ({kind}) is not a model edgecnn reads; the file may be corrupt or "
                       f"truncated. Expected one of: {', '.join(f.description for f in FORMATS.values())}")


def load(path: Path) -> ModelSource:
    """Detect the format of path by content and load it into a ModelSource."""
    path = Path(path)
    return FORMATS[detect(path)].load(path)
