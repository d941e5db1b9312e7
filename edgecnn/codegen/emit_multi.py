"""The header and entry point of an engine for a model with several inputs or outputs.

`<name>_invoke` takes one pointer per input, then one per output, in the model's
order (`input0, input1, ..., output0, output1, ...`); the header states each
tensor's name, shape, size and quantization. A one-input, one-output model keeps
emit.py's `invoke(input, output)` unchanged.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Port:
    """One model input or output as the header publishes it."""

    name: str  # the .tflite tensor name
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def _comment_safe(name: str) -> str:
    """A tensor name that cannot end a C comment or line early."""
    return "".join(c if c.isprintable() else "?" for c in name).replace("*/", "* /")


def ports(graph, indices) -> tuple[Port, ...]:
    """Ports of graph tensors (graph.inputs or graph.outputs)."""
    return tuple(Port(_comment_safe(graph.tensors[t].name), graph.tensors[t].shape, float(graph.tensors[t].scale[0]),
                      int(graph.tensors[t].zero_point[0])) for t in indices)


def _defines(N: str, kind: str, i: int, p: Port) -> str:
    k = f"{N}_{kind.upper()}{i}"
    dims = "".join(f"#define {k}_DIM{j} {d}\n" for j, d in enumerate(p.shape))
    return (f"/* {kind} {i}: {p.name!r}, int8 {list(p.shape)}. */\n{dims}#define {k}_SIZE {p.size}\n"
            f"#define {k}_SCALE {float(np.float32(p.scale))!r}f\n#define {k}_ZERO_POINT ({p.zero_point})\n")


def signature(f) -> str:
    args = [f"const int8_t *input{i}" for i in range(len(f.inputs))] + [f"int8_t *output{i}" for i in range(len(f.outputs))]
    return f"int {f.name}_invoke({', '.join(args)})"


def header(f) -> str:
    n, N = f.name, f.name.upper()
    io = "".join(_defines(N, "input", i, p) for i, p in enumerate(f.inputs))
    io += "".join(_defines(N, "output", i, p) for i, p in enumerate(f.outputs))
    bufs = "".join([f" *   input{i}: {N}_INPUT{i}_SIZE values ({f.inputs[i].name})\n" for i in range(len(f.inputs))]
                   + [f" *   output{i}: {N}_OUTPUT{i}_SIZE values ({f.outputs[i].name})\n" for i in range(len(f.outputs))])
    return (f"{f.provenance}#ifndef {N}_MODEL_H\n#define {N}_MODEL_H\n\n#include <stdint.h>\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
            f"/* {len(f.inputs)} input(s) and {len(f.outputs)} output(s), int8, in the model's order;\n"
            " * real value = SCALE * (q - ZERO_POINT). Inputs are in the model's own units. */\n"
            f"#define {N}_NUM_INPUTS {len(f.inputs)}\n#define {N}_NUM_OUTPUTS {len(f.outputs)}\n{io}\n"
            f"/* Static activation arena (caller's input and output buffers excluded). */\n"
            f"#define {N}_ARENA_BYTES {f.arena_bytes}\n/* Constant data in flash: weights, biases, multipliers, shifts. */\n"
            f"#define {N}_WEIGHTS_BYTES {f.weights_bytes}\n#define {N}_MACS {f.macs}\n\n"
            f"/* Runs the model, one pointer per tensor in the model's order:\n{bufs}"
            f" * Returns 0, or -1 if a pointer is NULL. Not reentrant (one static arena). */\n"
            f"{signature(f)};\n\n"
            f"#ifndef EC_NO_FLOAT\n/* For hosts with floats: x ({N}_INPUT<index>_SIZE values, the model's float input\n"
            f" * number index) -> int8 for that input. Returns 0, or -1 for an index out of range. */\n"
            f"int {n}_quantize_input(int index, const float *x, int8_t *input);\n#endif\n\n"
            f"#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {N}_MODEL_H */\n")


def invoke_head(f) -> str:
    names = [f"input{i}" for i in range(len(f.inputs))] + [f"output{i}" for i in range(len(f.outputs))]
    return (f"{signature(f)}\n{{\n    if ({' || '.join(f'{a} == NULL' for a in names)}) {{\n"
            "        return -1;\n    }\n")


def helpers(f) -> str:
    n, N = f.name, f.name.upper()
    k = len(f.inputs)
    table = lambda what: ", ".join(f"{N}_INPUT{i}_{what}" for i in range(k))  # noqa: E731
    return (f"#ifndef EC_NO_FLOAT\n/* The only floating point in the engine: inputs for hosts that have floats. */\n"
            f"int {n}_quantize_input(int index, const float *x, int8_t *input)\n{{\n"
            f"    static const float scales[{k}] = {{{table('SCALE')}}};\n"
            f"    static const int32_t zero_points[{k}] = {{{table('ZERO_POINT')}}};\n"
            f"    static const int32_t sizes[{k}] = {{{table('SIZE')}}};\n    int32_t i;\n"
            f"    if (index < 0 || index >= {k}) {{\n        return -1;\n    }}\n"
            "    for (i = 0; i < sizes[index]; ++i) {\n        float v = x[i] / scales[index];\n"
            "        int32_t q;\n        v = v > 512.0f ? 512.0f : (v < -512.0f ? -512.0f : v);\n"
            "        q = (int32_t)(v >= 0.0f ? v + 0.5f : v - 0.5f) + zero_points[index];\n"
            "        input[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));\n    }\n    return 0;\n}\n#endif\n")


def harness_args(f_inputs, f_outputs) -> tuple[int, int, str]:
    """(packed input bytes, packed output bytes, invoke arguments) for a harness with buffers `in` and `out`."""
    args, off = [], 0
    for p in f_inputs:
        args.append(f"in + {off}")
        off += p.size
    total_in, off = off, 0
    for p in f_outputs:
        args.append(f"out + {off}")
        off += p.size
    return total_in, off, ", ".join(args)
