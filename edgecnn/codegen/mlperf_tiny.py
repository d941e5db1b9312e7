"""Shape-faithful Keras stand-ins of the four MLPerf Tiny reference models.

Built from the published reference definitions (mlcommons/tiny,
benchmark/training/*/: keras_model.py of image classification and keyword
spotting, vww_model.py, the anomaly-detection keras_model.py) with seeded random
weights. Speed and memory depend on shapes, not on weights, so these stand in
for the trained models in the C engine's benchmarks. BatchNormalization layers
are left out: the converter folds them into the conv/dense biases, so the int8
graph has the same ops and shapes. Dropout is inference-time identity.

- ic: ResNet-8 (CIFAR-10 ResNetv1 from EEMBC), 32x32x3, stacks of 16/32/64
  filters, residual Add, 1x1 stride-2 shortcut convs, 8x8 average pool, FC 10;
- kws: DS-CNN small, 49x10x1 MFCC, conv 64 (10,4) stride 2, four depthwise-
  separable blocks of 64, average pool (24,5), FC 12;
- vww: MobileNetV1 alpha 0.25 at 96x96x3, 2 classes;
- ad: the dense autoencoder 640-128x4-8-128x4-640.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class StandIn:
    """One reference model: its MLPerf Tiny task, input shape and Keras layers."""

    name: str
    task: str
    input_shape: tuple[int, ...]
    layers: Callable  # (keras.layers module, input tensor) -> output tensor


def _resnet8(L, x):
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = L.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(x)
        y = L.Conv2D(filters, 3, padding="same")(y)
        if stride != 1:  # the reference's shortcut: 1x1 conv, stride 2, no BN
            x = L.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = L.Activation("relu")(L.Add()([x, y]))
    x = L.AveragePooling2D(pool_size=8)(x)
    return L.Dense(10, activation="softmax")(L.Flatten()(x))


def _ds_cnn(L, x):
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same", activation="relu")(x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
        x = L.Conv2D(64, 1, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(pool_size=(24, 5))(x)
    return L.Dense(12, activation="softmax")(L.Flatten()(x))


# MobileNetV1 alpha 0.25: (pointwise filters, depthwise stride) of its 13 blocks.
_MOBILENET_BLOCKS = ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1),
                     (128, 1), (128, 1), (256, 2), (256, 1))


def _mobilenet_v1_025(L, x):
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    for filters, stride in _MOBILENET_BLOCKS:
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu")(x)
        x = L.Conv2D(filters, 1, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(pool_size=3)(x)
    return L.Dense(2, activation="softmax")(L.Flatten()(x))


def _autoencoder(L, x):
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units, activation="relu")(x)
    return L.Dense(640)(x)


STANDINS: dict[str, StandIn] = {
    "ic": StandIn("ic", "image classification: ResNet-8, CIFAR-10", (32, 32, 3), _resnet8),
    "kws": StandIn("kws", "keyword spotting: DS-CNN small, Speech Commands", (49, 10, 1), _ds_cnn),
    "vww": StandIn("vww", "visual wake words: MobileNetV1 0.25, 96x96", (96, 96, 3), _mobilenet_v1_025),
    "ad": StandIn("ad", "anomaly detection: dense autoencoder, ToyADMOS", (640,), _autoencoder),
}


def standin(name: str) -> StandIn:
    if name not in STANDINS:
        raise EdgecnnError(f"no MLPerf Tiny stand-in {name!r}; known: {', '.join(STANDINS)}")
    return STANDINS[name]


def keras_model(s: StandIn, seed: int = 0):
    """The stand-in with seeded random weights (Keras initialisers) and small random biases."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input(s.input_shape, batch_size=1)
    model = keras.Model(inp, s.layers(layers, inp), name=s.name)
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if "bias" in w.path:  # zero after init; the folded BN of the reference gives nonzero biases
            w.assign(rng.normal(0, 0.05, w.shape).astype(np.float32))
    return model


def int8_tflite(s: StandIn, seed: int = 0, n_calib: int = 64) -> bytes:
    """Full-integer int8 .tflite by edgecnn's converter, calibrated on seeded random data.

    The calibration data are seeded random values k / 255 (k = 0 .. 255) of the input shape, in
    the model's input units (what edgecnn.convert.quantize.to_int8_tflite takes).
    """
    from edgecnn.convert.quantize import to_int8_tflite

    k = np.random.default_rng(seed).integers(0, 256, (n_calib, *s.input_shape), dtype=np.uint8)
    return to_int8_tflite(keras_model(s, seed), k.astype(np.float32) / 255.0)
