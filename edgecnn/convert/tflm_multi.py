"""The tflite-micro/ export of a model with several inputs or outputs (multiio.py's packing).

model_data.h/.cc and model_ops.h are the one-input files (tflm.py); model_settings.h
names every input and output (kInput<i>Size/Scale/ZeroPoint, kOutput<i>..., in the
model's order) and main.cc fills each input and prints each output. Verification
compares TFLM with LiteRT's reference kernels output by output.
"""

import textwrap

import numpy as np

from edgecnn.convert import tflm
from edgecnn.convert.quantize import TensorQuant

SETTINGS_TEMPLATES = {"model_settings.h": "model_settings_multi.h", "main.cc": "main_multi.cc"}
COMMON = ("model_data.h", "model_data.cc", "model_ops.h")


def _constants(kind: str, i: int, q: TensorQuant, name: str) -> str:
    k = f"k{kind}{i}"
    name = "".join(c if c.isprintable() else "?" for c in name)  # one comment line
    return (f"// {kind} {i} ({name}): int8 [{', '.join(map(str, q.shape))}].\n"
            f"constexpr int {k}Size = {int(np.prod(q.shape))};\n"
            f"constexpr float {k}Scale = {tflm._c_float(q.scale)};\n"
            f"constexpr int {k}ZeroPoint = {q.zero_point};\n")


def settings_use(n_in: int, n_out: int) -> str:
    """An expression using every constant of model_settings.h once (verify.compile_checks compiles it)."""
    terms = ["kTensorArenaSize", "kNumInputs", "kNumOutputs"]
    for kind, n in (("Input", n_in), ("Output", n_out)):
        terms += [f"k{kind}{i}Size + k{kind}{i}ZeroPoint + static_cast<int>(k{kind}{i}Scale)" for i in range(n)]
    return " + ".join(terms)


def render(cname: str, tflite: bytes, ops: list[str], q_ins, q_outs, names, arena: tflm.Arena, provenance: str,
           version: str) -> dict[str, str]:
    """The five files of tflite-micro/ as {filename: text}."""
    consts = "\n".join([_constants("Input", i, q, n) for i, (q, n) in enumerate(zip(q_ins, names[0]))]
                       + [_constants("Output", i, q, n) for i, (q, n) in enumerate(zip(q_outs, names[1]))])
    fills = "".join(f"  Fill(interpreter.input({i}), kInput{i}Size, kInput{i}ZeroPoint);\n" for i in range(len(q_ins)))
    prints = "".join(f'  Print("output {i}", interpreter.output({i}), kOutput{i}Size);\n' for i in range(len(q_outs)))
    values = tflm.common_values(cname, tflite, ops, provenance) | {
        "num_inputs": str(len(q_ins)), "num_outputs": str(len(q_outs)), "io_constants": consts,
        "fill_inputs": fills, "print_outputs": prints, "arena_measured": str(arena.measured_bytes),
        "arena_margin": str(arena.margin_bytes), "arena_total": str(arena.total_bytes),
        "margin_why": textwrap.fill(tflm.MARGIN_WHY, 96, subsequent_indent="// "), "tflm_version": version}
    return tflm.substitute(cname, tflm.TEMPLATES, values, lambda name: SETTINGS_TEMPLATES.get(name, name))


def per_output(label: str, got: np.ndarray, ref: np.ndarray, q_outs, names, tol_lsb: int, fraction: float = 0.0) -> dict:
    """One compare_int8 entry per output (packed columns), keyed "output_<i>"."""
    from edgecnn.convert.multiio import columns
    from edgecnn.convert.verify import compare_int8

    out = {}
    for i, (cols, name) in enumerate(zip(columns([q.shape for q in q_outs]), names)):
        out[f"output_{i}"] = compare_int8(f"{label}, output {i} ({name})", got[:, cols], ref[:, cols], tol_lsb, fraction)
    return out


def build_target(ctx) -> dict:
    """`tflite-micro` target for several inputs or outputs: render, then verify bytes, each output, compilation."""
    from edgecnn.convert.runners import run_litert, run_tflm
    from edgecnn.convert.verify import CROSS_KERNEL_FRACTION, compile_checks, header_roundtrip, require

    version = tflm.tflm_version()
    arena = tflm.measure_arena(ctx.tflite_int8, ctx.q_in, ctx.q_ins)
    files = render(ctx.cname, ctx.tflite_int8, ctx.ops, ctx.q_ins, ctx.q_outs, ctx.io_names, arena,
                   ctx.provenance, version)
    tflm.write(ctx.out_dir, files)
    d = ctx.out_dir / "tflite-micro"
    roundtrip = require(header_roundtrip(d / "model_data.cc", f"g_{ctx.cname}_model_data", ctx.tflite_int8))
    got = run_tflm(ctx.tflite_int8, ctx.eval_x, ctx.q_in, arena.measured_bytes, ctx.q_ins, len(ctx.q_outs))
    ref = run_litert(ctx.tflite_int8, ctx.eval_x, "LiteRT int8 reference kernels", reference_kernels=True)
    # Same tolerance as the one-output target (tflm.py): the references round FULLY_CONNECTED differently.
    vs_ref = per_output("TFLM vs LiteRT int8 reference kernels", got, ref, ctx.q_outs, ctx.io_names[1], 1,
                        CROSS_KERNEL_FRACTION)
    for entry in vs_ref.values():
        require(entry)
    default = per_output("LiteRT int8 default (XNNPACK) vs reference kernels", np.asarray(ctx.int8_out), ref,
                         ctx.q_outs, ctx.io_names[1], 0)
    for entry in default.values():
        entry.update(passed=None, informative="not a check: XNNPACK requantizes in float32")
    return {
        "tflm": {"arena_bytes_measured": arena.measured_bytes, "arena_margin_bytes": arena.margin_bytes,
                 "tensor_arena_size": arena.total_bytes, "arena_margin_why": tflm.MARGIN_WHY,
                 "measured_with": f"tflite_micro {version} Python interpreter (host build), "
                                  "smallest arena that allocates and invokes",
                 "op_resolver_size": len(ctx.ops), "bytes_per_line": tflm.BYTES_PER_LINE,
                 "inputs": len(ctx.q_ins), "outputs": len(ctx.q_outs)},
        "verification": {"tflm_header_roundtrip": roundtrip,
                         **{f"tflm_vs_litert_int8_ref_{k}": v for k, v in vs_ref.items()},
                         **{f"litert_int8_default_vs_ref_{k}": v for k, v in default.items()},
                         "tflm_compile": compile_checks(d, ctx.cname, len(ctx.tflite_int8),
                                                        settings_use(len(ctx.q_ins), len(ctx.q_outs)))},
    }
