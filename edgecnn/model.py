"""The lightweight CNN family: a 28x28x1 member (<= 15,000 params), a 32x32x3 member (<= 20,000),
and members scaled to a user's data set (`scaled_family`).

Every layer is one that TFLite converts to full-integer int8 and TFLM runs:
Conv2D, DepthwiseConv2D, BatchNormalization (folded into the convolution at
conversion), ReLU, MaxPooling2D, GlobalAveragePooling2D (MEAN), Dense, Softmax.
The design and the reasons for it are in docs/architecture.md.

Layers are grouped into named blocks (`b1`..`b5`, `head`): progressive
unfreezing trains the groups top-down, and `block_of(layer)` maps a layer to
its group.

Scaled members keep lite28's block pattern (conv, conv+pool, ds, ds+pool, ds)
and bring any input of 16..128 pixels a side to lite28's working resolution:
a stride-2 stem above 40 pixels, plus one extra pooled ds stage above 80.
Their width is lite28's times a multiplier, the class count is the data set's.
"""

import math
from dataclasses import dataclass, replace

NUM_CLASSES = 10  # the built-in data sets' class count (lite28, lite32)


@dataclass(frozen=True)
class Block:
    """One group of layers: a 3x3 conv ("conv") or a depthwise-separable conv ("ds")."""

    kind: str
    filters: int
    pool: bool = False
    stride: int = 1  # > 1: a strided first convolution of the block (the stem of a large input)
    residual: bool = False  # add the block's input to its output (before the pool): same width, stride 1


@dataclass(frozen=True)
class Family:
    """A family member: its input shape, its blocks, and the parameter cap it must respect."""

    name: str
    input_shape: tuple[int, int, int]
    blocks: tuple[Block, ...]
    max_params: int
    dropout: float
    num_classes: int = NUM_CLASSES


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
    # Candidate for issue #13 (not shipped): lite28's layers and parameter count, with an identity
    # skip around b4 (56 -> 56, a free ADD) and no dropout: the shipped Fashion-MNIST run fit its
    # training originals to only 92.8% (stage 2, dropout on), so it is capacity-bound, not overfitting.
    "lite28r": Family(
        name="lite28r",
        input_shape=(28, 28, 1),
        blocks=(
            Block("conv", 16),
            Block("conv", 24, pool=True),
            Block("ds", 56),
            Block("ds", 56, pool=True, residual=True),
            Block("ds", 64),
        ),
        max_params=15_000,
        dropout=0.0,
    ),
}

# Which family member each data set uses.
FAMILY_FOR_DATASET = {"mnist": "lite28", "fashion-mnist": "lite28", "cifar10": "lite32"}

# Scaled members: lite28's widths times a multiplier, rounded to a multiple of WIDTH_STEP.
BASE_WIDTHS = (16, 24, 56, 64)  # stem conv, second conv, ds stages, last ds stage
WIDTH_STEP = 4
MIN_WIDTH = 8
INPUT_SIDES = (16, 128)  # smallest and largest height/width a scaled member takes
# Largest input side handled with 0, 1, 2 downsamplings ahead of lite28's two pools.
DOWNSAMPLE_SIDES = (40, 80, 128)


def downsamplings(input_shape: tuple[int, int, int]) -> int:
    """Stride-2 steps ahead of the body: 0 up to 40 pixels a side, 1 up to 80, 2 up to 128."""
    side = max(input_shape[:2])
    return next(i for i, s in enumerate(DOWNSAMPLE_SIDES) if side <= s)


def _width(base: int, multiplier: float) -> int:
    return max(MIN_WIDTH, WIDTH_STEP * round(base * multiplier / WIDTH_STEP))


def scaled_family(input_shape: tuple[int, int, int], num_classes: int, multiplier: float,
                  downsample: int | None = None, max_params: int = 15_000) -> Family:
    """A family member for `input_shape` (H, W, C) and `num_classes`, widths lite28's x `multiplier`.

    downsample: stride-2 steps ahead of the body (None: `downsamplings(input_shape)`); 1 makes the
    stem strided, each further step adds a pooled ds stage.
    """
    from edgecnn.errors import EdgecnnError

    h, w, c = input_shape
    lo, hi = INPUT_SIDES
    if not (lo <= h <= hi and lo <= w <= hi) or c not in (1, 3):
        raise EdgecnnError(f"input {h}x{w}x{c}: the model family takes {lo}..{hi} pixels a side and 1 or 3 "
                           f"channels; resize the data set (`edgecnn data add NAME --from PATH --size HxW`)")
    if num_classes < 2:
        raise EdgecnnError(f"{num_classes} class: expected at least 2")
    d = downsamplings(input_shape) if downsample is None else downsample
    if min(h, w) // 2 ** (d + 2) < 1:
        raise EdgecnnError(f"input {h}x{w}: too small for {d} downsampling steps and two pools")
    w0, w1, w2, w3 = (_width(b, multiplier) for b in BASE_WIDTHS)
    blocks = [Block("conv", w0, stride=2 if d >= 1 else 1), Block("conv", w1, pool=True)]
    blocks += [Block("ds", w1, pool=True) for _ in range(d - 1)]  # extra pooled stages beyond the stem
    blocks += [Block("ds", w2), Block("ds", w2, pool=True), Block("ds", w3)]
    name = f"lite-{h}x{w}x{c}-k{num_classes}-d{d}-w{w0}-{w1}-{w2}-{w3}"
    return Family(name, (h, w, c), tuple(blocks), max_params, dropout=0.1, num_classes=num_classes)


def param_count(family: Family) -> int:
    """Parameters as Keras counts them (BatchNormalization's 4 per channel included), without building."""
    total, cin = 0, family.input_shape[2]
    for blk in family.blocks:
        if blk.kind == "conv":
            total += 9 * cin * blk.filters + 4 * blk.filters
        else:
            total += 9 * cin + 4 * cin + cin * blk.filters + 4 * blk.filters
        cin = blk.filters
    return total + cin * family.num_classes + family.num_classes


def multipliers(steps_per_octave: int = 8, lo: float = 0.25, hi: float = 4.0) -> list[float]:
    """Width multipliers 2^(k / steps_per_octave) from `lo` to `hi`, ascending."""
    k_lo, k_hi = (round(math.log2(v) * steps_per_octave) for v in (lo, hi))
    return [2 ** (k / steps_per_octave) for k in range(k_lo, k_hi + 1)]


def widest_within(input_shape, num_classes: int, max_params: int, downsample: int | None = None) -> list[Family]:
    """Distinct scaled members within `max_params`, narrowest first (empty when none fits)."""
    out: dict[tuple, Family] = {}
    for m in multipliers():
        fam = replace(scaled_family(input_shape, num_classes, m, downsample), max_params=max_params)
        if param_count(fam) <= max_params:
            out.setdefault(tuple(b.filters for b in fam.blocks), fam)
    return list(out.values())


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
    """The shared feature extractor as a list of Keras layers, applied in order (`apply`).

    Returned as layers (not a Model) so that the dual model can call the same
    layer objects on both inputs: shared weights, one set of parameters. A residual
    block is one item `(add_layer, [its layers])`: `apply` adds the block's input to
    the output of its layers.
    """
    from keras import layers

    def bn(name):
        return layers.BatchNormalization(momentum=0.9, name=name)

    out, cin = [], family.input_shape[2]
    for i, blk in enumerate(family.blocks, start=1):
        p = f"b{i}"
        if blk.kind == "conv":
            body = [layers.Conv2D(blk.filters, 3, strides=blk.stride, padding="same", use_bias=False, name=f"{p}_conv"),
                    bn(f"{p}_bn"), layers.ReLU(name=f"{p}_relu")]
        elif blk.kind == "ds":
            body = [layers.DepthwiseConv2D(3, strides=blk.stride, padding="same", use_bias=False, name=f"{p}_dw"),
                    bn(f"{p}_dwbn"), layers.ReLU(name=f"{p}_dwrelu"),
                    layers.Conv2D(blk.filters, 1, use_bias=False, name=f"{p}_pw"),
                    bn(f"{p}_pwbn"), layers.ReLU(name=f"{p}_pwrelu")]
        else:
            raise ValueError(f"block kind {blk.kind!r}: expected 'conv' or 'ds'")
        if blk.residual:
            if blk.stride != 1 or blk.filters != cin:
                raise ValueError(f"{family.name} {p}: a residual block keeps its input's shape "
                                 f"(got {cin} -> {blk.filters} channels, stride {blk.stride})")
            body = [(layers.Add(name=f"{p}_add"), body)]
        out += body
        if blk.pool:
            out.append(layers.MaxPooling2D(2, name=f"{p}_pool"))
        cin = blk.filters
    out += [layers.GlobalAveragePooling2D(name="head_gap"), layers.Dropout(family.dropout, name="head_drop")]
    return out


def apply(layer_list, x):
    """Run a tensor through a list of layers; an item `(add, layers)` is a residual block."""
    for item in layer_list:
        if isinstance(item, tuple):
            add, body = item
            x = add([x, apply(body, x)])
        else:
            x = item(x)
    return x


def build_model(family_name: "str | Family"):
    """The deployable single-input model: trunk, Dense logits, Softmax.

    Input is float in [0, 1] (pixel / 255): with int8 scale 1/255 and zero
    point -128 the quantized input is exactly `pixel - 128`.
    """
    import keras
    from keras import layers

    family = get_family(family_name)
    inp = keras.Input(family.input_shape, name="image")
    feats = apply(build_trunk(family), inp)
    logits = layers.Dense(family.num_classes, name="head_dense")(feats)
    out = layers.Softmax(name="head_softmax")(logits)
    return keras.Model(inp, out, name=family.name)


def get_family(name: "str | Family") -> Family:
    """Look up a family member by name (a Family is returned as it is), with an error listing the known ones."""
    from edgecnn.errors import EdgecnnError

    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[name]
    except KeyError:
        raise EdgecnnError(f"unknown model family {name!r}; expected one of {sorted(FAMILIES)}") from None
