"""The lightweight CNN family: a 28x28x1 member (<= 15,000 params) and a 32x32x3 member (<= 20,000).

Every layer is one that TFLite converts to full-integer int8 and TFLM runs:
Conv2D, DepthwiseConv2D, BatchNormalization (folded into the convolution at
conversion), ReLU, MaxPooling2D, GlobalAveragePooling2D (MEAN), Dense, Softmax.
The design and the reasons for it are in docs/architecture.md.

Layers are grouped into named blocks (`b1`..`b5`, `head`): progressive
unfreezing trains the groups top-down, and `block_of(layer)` maps a layer to
its group.
"""

from dataclasses import dataclass

NUM_CLASSES = 10


@dataclass(frozen=True)
class Block:
    """One group of layers: a 3x3 conv ("conv") or a depthwise-separable conv ("ds")."""

    kind: str
    filters: int
    pool: bool = False


@dataclass(frozen=True)
class Family:
    """A family member: its input shape, its blocks, and the parameter cap it must respect."""

    name: str
    input_shape: tuple[int, int, int]
    blocks: tuple[Block, ...]
    max_params: int
    dropout: float


FAMILIES: dict[str, Family] = {
    "lite28": Family(
        name="lite28",
        input_shape=(28, 28, 1),
        blocks=(
            Block("conv", 16),
            Block("conv", 24, pool=True),
            Block("ds", 56),
            Block("ds", 56, pool=True),
            Block("ds", 64),
        ),
        max_params=15_000,
        dropout=0.1,
    ),
    "lite32": Family(
        name="lite32",
        input_shape=(32, 32, 3),
        blocks=(
            Block("conv", 24),
            Block("ds", 40, pool=True),
            Block("ds", 64),
            Block("ds", 64, pool=True),
            Block("ds", 96),
        ),
        max_params=20_000,
        dropout=0.1,
    ),
}

# Which family member each data set uses.
FAMILY_FOR_DATASET = {"mnist": "lite28", "fashion-mnist": "lite28", "cifar10": "lite32"}


def block_names(family: Family) -> list[str]:
    """Group names from input to output: b1..bN, then head."""
    return [f"b{i + 1}" for i in range(len(family.blocks))] + ["head"]


def block_of(layer_name: str) -> str | None:
    """The group a layer belongs to, from its name prefix (`b3_dw` -> `b3`)."""
    prefix = layer_name.split("_", 1)[0]
    if prefix == "head" or (prefix.startswith("b") and prefix[1:].isdigit()):
        return prefix
    return None


def build_trunk(family: Family):
    """The shared feature extractor as a list of Keras layers, applied in order.

    Returned as layers (not a Model) so that the dual model can call the same
    layer objects on both inputs: shared weights, one set of parameters.
    """
    import keras
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(momentum=0.9, name=name)

    out = []
    for i, blk in enumerate(family.blocks, start=1):
        p = f"b{i}"
        if blk.kind == "conv":
            out += [layers.Conv2D(blk.filters, 3, padding="same", use_bias=False, name=f"{p}_conv"),
                    bn(f"{p}_bn"), layers.ReLU(name=f"{p}_relu")]
        elif blk.kind == "ds":
            out += [layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{p}_dw"),
                    bn(f"{p}_dwbn"), layers.ReLU(name=f"{p}_dwrelu"),
                    layers.Conv2D(blk.filters, 1, use_bias=False, name=f"{p}_pw"),
                    bn(f"{p}_pwbn"), layers.ReLU(name=f"{p}_pwrelu")]
        else:
            raise ValueError(f"block kind {blk.kind!r}: expected 'conv' or 'ds'")
        if blk.pool:
            out.append(layers.MaxPooling2D(2, name=f"{p}_pool"))
    out += [layers.GlobalAveragePooling2D(name="head_gap"), layers.Dropout(family.dropout, name="head_drop")]
    del keras
    return out


def apply(layer_list, x):
    """Run a tensor through a list of layers."""
    for layer in layer_list:
        x = layer(x)
    return x


def build_model(family_name: str):
    """The deployable single-input model: trunk, Dense logits, Softmax.

    Input is float in [0, 1] (pixel / 255): with int8 scale 1/255 and zero
    point -128 the quantized input is exactly `pixel - 128`.
    """
    import keras
    from keras import layers

    family = get_family(family_name)
    inp = keras.Input(family.input_shape, name="image")
    feats = apply(build_trunk(family), inp)
    logits = layers.Dense(NUM_CLASSES, name="head_dense")(feats)
    out = layers.Softmax(name="head_softmax")(logits)
    return keras.Model(inp, out, name=family.name)


def get_family(name: str) -> Family:
    """Look up a family member by name, with an error that lists the known ones."""
    from edgecnn.errors import EdgecnnError

    try:
        return FAMILIES[name]
    except KeyError:
        raise EdgecnnError(f"unknown model family {name!r}; expected one of {sorted(FAMILIES)}") from None
