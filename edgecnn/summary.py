"""Per-layer (Keras) or per-op (.tflite) summaries: output shape, params, MACs, activation bytes.

`edgecnn inspect` prints these for any model format (detected by content, see
convert/frontends.py); training records the totals in metrics.json. MACs are
counted on the converted graph (convert/graphinfo.py): a Keras model is
converted to a float .tflite at batch 1 and each op's MACs are credited to the
Keras layer its tensor names carry (the layer holding a kernel when an op fuses
several, e.g. Conv2D + BatchNormalization + ReLU).
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


def _macs_by_layer(model) -> dict[str, int]:
    """Keras layer name -> MACs of the float graph's ops credited to it."""
    import re

    from edgecnn.convert.graphinfo import layer_of, op_rows
    from edgecnn.convert.quantize import to_float_tflite

    layers = {l.name: l for l in _flat(model)}
    out: dict[str, int] = {}
    for r in op_rows(to_float_tflite(model)):
        if not r.macs:
            continue
        names = [layer_of(part) for part in re.split(r";", r.output_name)]
        names = [n for n in names if n in layers] or [r.layer]
        kernel = [n for n in names if any("kernel" in w.path.split("/")[-1] for w in layers[n].weights)] if names[0] in layers else []
        who = (kernel or names)[0]
        out[who] = out.get(who, 0) + r.macs
    return out


def _flat(model) -> list:
    out = []
    for layer in model.layers:
        out += _flat(layer) if getattr(layer, "layers", None) else [layer]
    return out


def keras_rows(model) -> list[LayerRow]:
    """One row per layer of a Keras functional model (batch dimension dropped); MACs from the converted graph."""
    macs = _macs_by_layer(model)
    rows = []
    for layer in _flat(model):
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        out_shape = tuple(int(d) for d in layer.output.shape[1:])
        rows.append(LayerRow(layer.name, kind, out_shape, int(layer.count_params()),
                             int(macs.get(layer.name, 0)), int(np.prod(out_shape))))
    unassigned = sum(v for k, v in macs.items() if k not in {r.name for r in rows})
    if unassigned:
        rows.append(LayerRow("(ops not named after a layer)", "-", (), 0, unassigned, 0))
    return rows


def totals(rows: list[LayerRow]) -> dict:
    """Sums over the rows, and the largest single activation (a lower bound for any arena)."""
    return {"params": sum(r.params for r in rows), "macs": sum(r.macs for r in rows),
            "activation_bytes_total": sum(r.activation_bytes for r in rows),
            "activation_bytes_max": max((r.activation_bytes for r in rows), default=0)}


def as_dicts(rows: list[LayerRow]) -> list[dict]:
    return [asdict(r) | {"output_shape": list(r.output_shape)} for r in rows]


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


def tflite_rows(raw: bytes) -> list[LayerRow]:
    """One row per operator of a .tflite model (op, the Keras layer it came from, MACs)."""
    from edgecnn.convert.graphinfo import op_rows
    rows = []
    for r in op_rows(raw):
        nbytes = int(np.prod(r.output_shape)) * np.dtype(r.output_dtype).itemsize
        rows.append(LayerRow(f"{r.index:02d} {r.layer}", r.op, r.output_shape[1:], r.params, r.macs, nbytes))
    return rows


def model_rows(path) -> list[LayerRow]:
    """Rows for any model format edgecnn reads (frontends.FORMATS), with a clear error for anything else."""
    from pathlib import Path

    from edgecnn.convert.frontends import detect, load
    from edgecnn.convert.tflite_kind import validate

    if detect(path) == "tflite":  # any valid .tflite, also kinds `build` refuses (hybrid, float16)
        raw = Path(path).read_bytes()
        validate(raw, str(path))
        return tflite_rows(raw)
    return keras_rows(load(path).keras)


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
