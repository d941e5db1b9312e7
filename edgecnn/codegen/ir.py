"""What a lowered op hands to the planner and the emitter: plain dataclasses.

A lowered op is one C kernel call: the kernel's name, its constant parameter
structs (their fields are integers or references to constant arrays or to
other structs), the constant arrays (weights, biases, multipliers, shifts),
the activation tensors it reads and the one it writes.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ConstRef:
    """A struct field that points at one of the op's constant arrays (by `what`)."""

    what: str


@dataclass(frozen=True)
class StructRef:
    """A struct field that points at another layer's parameter struct."""

    layer: str


@dataclass
class ConstArray:
    """A `static const` array in flash: `<prefix>_<layer>_<what>`."""

    layer: str
    what: str  # "weights", "bias", "mult", "shift"
    ctype: str  # "int8_t", "int16_t", "int32_t" or "int64_t"
    values: np.ndarray  # (N,) flattened in the layout the kernel reads

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * {"int8_t": 1, "int16_t": 2, "int32_t": 4, "int64_t": 8}[self.ctype]


@dataclass
class CStruct:
    """A `static const` parameter struct; `layer` names it: `<prefix>_<layer>_params`."""

    layer: str
    ctype: str
    fields: dict  # field name -> int | ConstRef | StructRef | None


@dataclass
class Lowered:
    """One kernel call in the layer sequence.

    kernel None means an alias (RESHAPE): the output shares the input's buffer.
    `args` are extra leading C arguments when the kernel takes no struct.
    """

    layer: str  # e.g. "l03_depthwise_conv_2d"
    ops: tuple[str, ...]  # TFLite op names covered ("DEPTHWISE_CONV_2D", ...)
    kernel: str | None
    structs: list[CStruct]  # the last one is passed to the kernel
    consts: list[ConstArray]
    inputs: list[int]  # activation tensor indices, in kernel argument order
    output: int
    macs: int = 0
    scratch_bytes: int = 0  # arena bytes the kernel needs for this call only
    args: list[str] = field(default_factory=list)
    # Facts the fusion pass reads: "conv", "depthwise", "max_pool" or "".
    role: str = ""
    # The kernel takes its inputs as one array of pointers (CONCATENATION).
    pack_inputs: bool = False
