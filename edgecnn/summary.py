"""Per-layer summaries of a Keras model: output shape, params, MACs, int8 activation bytes.

`edgecnn inspect` prints these; training records the totals in metrics.json.
MACs count multiply-accumulates of Conv2D, DepthwiseConv2D and Dense (the
converter's layer table, edgecnn/convert/layers.py); pooling, activations and
BatchNormalization (folded at conversion) count zero.
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int  # int8 output tensor bytes, batch 1
    short_name: str = ""  # what the table shows; "" = name (TF tensor names are long, see short_tensor_name)


def keras_rows(model) -> list[LayerRow]:
    """One row per layer of a Keras functional model (batch dimension dropped).

    MACs come from the converter's one table of supported layers; a layer outside it raises
    EdgecnnError naming it and the supported ones.
    """
    from edgecnn.convert.layers import LAYERS, check_layers, flat_layers

    check_layers(model)
    rows = []
    for layer in flat_layers(model):
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        out_shape = tuple(int(d) for d in layer.output.shape[1:])
        rows.append(LayerRow(layer.name, kind, out_shape, int(layer.count_params()),
                             int(LAYERS[kind].macs(layer)), int(np.prod(out_shape))))
    return rows


def totals(rows: list[LayerRow]) -> dict:
    """Sums over the rows, and the largest single activation (a lower bound for any arena)."""
    return {"params": sum(r.params for r in rows), "macs": sum(r.macs for r in rows),
            "activation_bytes_total": sum(r.activation_bytes for r in rows),
            "activation_bytes_max": max((r.activation_bytes for r in rows), default=0)}


def as_dicts(rows: list[LayerRow]) -> list[dict]:
    return [asdict(r) | {"output_shape": list(r.output_shape)} for r in rows]


# TFLite builtin op -> (index of the filter among the op's inputs, how MACs follow from shapes).
# Filter layouts: CONV_2D [Cout, kh, kw, Cin], DEPTHWISE_CONV_2D [1, kh, kw, Cout], FULLY_CONNECTED [out, in].
_TFLITE_MACS = {
    "CONV_2D": lambda f, out: int(np.prod(out[1:-1])) * int(np.prod(f)),
    "DEPTHWISE_CONV_2D": lambda f, out: int(np.prod(out[1:-1])) * int(np.prod(f)),
    "FULLY_CONNECTED": lambda f, out: int(np.prod(f)) * int(np.prod(out[:-1])),
}


# The part of a fused TF tensor name ("a/relu/Relu;a/bn/add;a/conv/convolution") naming the op's own layer.
_OP_WORDS = {"CONV_2D": ("convolution", "conv2d"), "DEPTHWISE_CONV_2D": ("depthwise",), "FULLY_CONNECTED": ("matmul",),
             "MAX_POOL_2D": ("maxpool",), "AVERAGE_POOL_2D": ("avgpool",), "MEAN": ("mean",), "SOFTMAX": ("softmax",),
             "ADD": ("add",), "PAD": ("pad",), "RESHAPE": ("reshape", "flatten")}
SHORT_NAME_MAX = 28


def short_tensor_name(name: str, kind: str, index: int) -> str:
    """'<op index> <layer>': the layer scope of the ';'-part whose TF op matches `kind` (else the first)."""
    parts = [p for p in name.split(";") if p]
    words = _OP_WORDS.get(kind, ())
    own = next((p for p in parts if p.rsplit("/", 1)[-1].lower().startswith(words)), parts[0] if parts else name) \
        if words else (parts[0] if parts else name)
    scopes = own.split("/")
    layer = scopes[-2] if len(scopes) >= 2 else scopes[0]
    if len(layer) > SHORT_NAME_MAX:
        layer = layer[:SHORT_NAME_MAX - 1] + "~"
    return f"{index} {layer}"


def tflite_rows(path) -> list[LayerRow]:
    """One row per operator of a .tflite model, read with the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    rows = []
    for index, op in enumerate(interp._get_ops_details()):  # the public API has no per-op view
        out = tensors[op["outputs"][0]]
        shape = tuple(int(d) for d in out["shape"])
        consts = [tensors[i] for i in op["inputs"][1:] if i >= 0] if op["op_name"] in _TFLITE_MACS else []
        params = sum(int(np.prod(t["shape"])) for t in consts)
        macs = _TFLITE_MACS[op["op_name"]](consts[0]["shape"], shape) if consts else 0
        nbytes = int(np.prod(shape)) * np.dtype(out["dtype"]).itemsize
        rows.append(LayerRow(out["name"], op["op_name"], shape[1:], params, macs, nbytes,
                             short_tensor_name(out["name"], op["op_name"], index)))
    return rows


def model_rows(path) -> list[LayerRow]:
    """Rows for a .keras or .tflite file, with a clear error for anything else."""
    from pathlib import Path

    from edgecnn.errors import EdgecnnError

    path = Path(path)
    if not path.is_file():
        raise EdgecnnError(f"model file {path}: not found; expected a .keras or .tflite file")
    if path.suffix == ".tflite":
        try:
            return tflite_rows(path)
        except ValueError as err:
            raise EdgecnnError(f"{path}: not a readable .tflite model ({err})") from None
    if path.suffix == ".keras":
        import keras

        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as err:  # Keras raises many types for a corrupt archive
            raise EdgecnnError(f"{path}: not a readable .keras model ({type(err).__name__}: {err})") from None
        return keras_rows(model)
    raise EdgecnnError(f"model file {path}: suffix {path.suffix!r}; expected .keras or .tflite")


def inspect_command(path, as_json: bool) -> None:
    """Print the per-layer table (Rich) or the same as JSON on stdout."""
    import json

    from rich.console import Console
    from rich.table import Table

    rows = model_rows(path)
    tot = totals(rows)
    if as_json:
        print(json.dumps({"model": str(path), "layers": as_dicts(rows), "totals": tot}, indent=2))
        return
    table = Table(title=f"{path}", show_footer=True, caption="act. bytes: int8 output tensor, batch 1"
                  + ("; full tensor names: --json" if any(r.short_name for r in rows) else ""))
    table.add_column("layer", footer="total", overflow="fold")
    table.add_column("kind")
    table.add_column("output shape")
    table.add_column("params", justify="right", footer=f"{tot['params']:,}")
    table.add_column("MACs", justify="right", footer=f"{tot['macs']:,}")
    table.add_column("act. bytes", justify="right", footer=f"max {tot['activation_bytes_max']:,}")
    for r in rows:
        table.add_row(r.short_name or r.name, r.kind, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.macs:,}",
                      f"{r.activation_bytes:,}")
    Console().print(table)
