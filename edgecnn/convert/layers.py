"""What the converter accepts: the one table of Keras layers and the one table of int8 ops.

`LAYERS` is checked before conversion, so that a model with a layer we never
verified fails with its name and the supported list instead of deep inside
the TFLite converter. `TFLM_OPS` maps each builtin op the int8 model may
contain to the `MicroMutableOpResolver` method that registers it; an op
missing here fails the build with the op's name (model_ops.h could not
register it).
"""

from dataclasses import dataclass
from typing import Callable

from edgecnn.errors import EdgecnnError


def _conv_macs(layer) -> int:
    kh, kw = layer.kernel_size
    _, h, w, c_out = layer.output.shape
    return int(h * w * kh * kw * layer.input.shape[-1] * c_out)


def _dw_macs(layer) -> int:
    kh, kw = layer.kernel_size
    _, h, w, c_out = layer.output.shape  # c_out = c_in * depth_multiplier
    return int(h * w * kh * kw * c_out)


def _dense_macs(layer) -> int:
    return int(layer.input.shape[-1] * layer.units)


def _no_macs(layer) -> int:
    return 0


@dataclass(frozen=True)
class LayerSpec:
    """How a Keras layer class lowers to int8 TFLite, and what it costs."""

    tflite_ops: tuple[str, ...]  # builtin ops it becomes; () when folded or removed
    macs: Callable  # (layer) -> multiply-accumulates per image
    note: str = ""


LAYERS: dict[str, LayerSpec] = {
    "InputLayer": LayerSpec((), _no_macs),
    "Conv2D": LayerSpec(("CONV_2D",), _conv_macs),
    "DepthwiseConv2D": LayerSpec(("DEPTHWISE_CONV_2D",), _dw_macs),
    "BatchNormalization": LayerSpec((), _no_macs, "folded into the preceding convolution"),
    "ReLU": LayerSpec((), _no_macs, "fused into the preceding op's activation"),
    "MaxPooling2D": LayerSpec(("MAX_POOL_2D",), _no_macs),
    "AveragePooling2D": LayerSpec(("AVERAGE_POOL_2D",), _no_macs),
    "GlobalAveragePooling2D": LayerSpec(("MEAN",), _no_macs),
    "Flatten": LayerSpec(("RESHAPE",), _no_macs),
    "Dropout": LayerSpec((), _no_macs, "identity at inference"),
    "Dense": LayerSpec(("FULLY_CONNECTED",), _dense_macs),
    "Softmax": LayerSpec(("SOFTMAX",), _no_macs),
}

# Builtin op -> MicroMutableOpResolver method (TFLM's micro_mutable_op_resolver.h).
TFLM_OPS: dict[str, str] = {
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "FULLY_CONNECTED": "AddFullyConnected",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MEAN": "AddMean",
    "RESHAPE": "AddReshape",
    "SOFTMAX": "AddSoftmax",
}


def flat_layers(model) -> list:
    """Every leaf layer of a Keras model, nested models expanded, in order."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            out += flat_layers(layer)
        else:
            out.append(layer)
    return out


def check_layers(model) -> None:
    """Raise EdgecnnError naming the first layer whose class is not in LAYERS."""
    for layer in flat_layers(model):
        kind = type(layer).__name__
        if kind not in LAYERS:
            raise EdgecnnError(f"layer {layer.name!r} is a {kind}, which edgecnn build does not support; "
                               f"supported layers: {', '.join(sorted(LAYERS))}")


def count_macs(model) -> int:
    """Multiply-accumulates for one image, BatchNorm folded (what the int8 model computes)."""
    return sum(LAYERS[type(layer).__name__].macs(layer) for layer in flat_layers(model))


def resolver_methods(ops: list[str]) -> list[str]:
    """The resolver method for each op, or EdgecnnError naming ops TFLM registration lacks."""
    missing = sorted(set(ops) - set(TFLM_OPS))
    if missing:
        raise EdgecnnError(f"the int8 model contains ops {missing} that model_ops.h cannot register; "
                           f"supported ops: {', '.join(sorted(TFLM_OPS))}")
    return [TFLM_OPS[op] for op in ops]
