"""The `c` build target: generate `<out>/c/` and verify it on the host at build time.

Checks (each fails the build through verify.require):
- the engine compiles warning-free (-std=c99 -Wall -Wextra -Wpedantic -Werror) with gcc;
- its outputs on the evaluation images are within 1 LSB of LiteRT's reference kernels,
  top-1 identical except ties;
- the same on 1,000 seeded random int8 inputs (incl. all -128, all 127, alternating
  extremes) against LiteRT's reference kernels, and, built with TFLite Micro's
  fixed-point FULLY_CONNECTED rounding (-DEC_FC_FIXED_POINT_REQUANT), against TFLM.

Why two builds: LiteRT's reference FULLY_CONNECTED rounds in double precision,
TFLM's in fixed point; after SOFTMAX the two references themselves differ by up
to a few LSB on rare inputs, so no single arithmetic is within 1 LSB of both.
The default build follows LiteRT; the manifest reports how far TFLM is from it.
"""

import tempfile
from pathlib import Path

import numpy as np

from edgecnn.console import console
from edgecnn.errors import TargetCannotRun

N_RANDOM = 1000
RANDOM_SEED = 0
FIXED_POINT_FC = "EC_FC_FIXED_POINT_REQUANT"


def _entry(label: str, cmp) -> dict:
    """A manifest verification entry in the converter's format, from a verify.Comparison."""
    return {"check": label, "max_abs_diff_lsb": cmp.max_abs_diff, "tolerance_lsb": cmp.tolerance_lsb,
            "outputs_differing": cmp.n_values_differing, "n_inputs": cmp.n_inputs,
            "top1_agreement": cmp.top1_agreement, "top1_mismatches_not_ties": cmp.top1_mismatches_not_ties,
            "passed": cmp.passed}


def _informative(c_rand, c_eval, ref_rand, tflm_rand, litert_default) -> dict:
    """Comparisons reported without a pass/fail: the default build vs TFLM, and the references among themselves."""
    return {"c_vs_tflm_random": ("C engine (default build) vs TFLM", "tflm", c_rand, tflm_rand),
            "tflm_vs_litert_ref_random": ("TFLM vs LiteRT reference kernels (the two references)",
                                          "litert_builtin_ref", tflm_rand, ref_rand),
            "c_vs_litert_default_eval": ("C engine vs LiteRT default kernels", "litert_default", c_eval,
                                         litert_default)}


def _packing(ctx, gen, to_int8) -> tuple:
    """(int8 evaluation inputs, input shape for random inputs, output values per inference).

    Several inputs or outputs: packed (edgecnn/convert/multiio.py), as the host harness reads them."""
    if not gen.multi_io:
        return to_int8(ctx.eval_x, ctx.q_in), gen.input_shape, int(np.prod(gen.output_shape))
    from edgecnn.convert import multiio

    return (multiio.quantize(ctx.eval_x, ctx.q_ins), (1, sum(p.size for p in gen.inputs)),
            sum(p.size for p in gen.outputs))


def _compare(verify, gen, checks: dict) -> dict:
    """{key: (label, reference, got, ref)} -> {key: (label, Comparison)}. With several outputs, each
    output is compared on its own columns of the packed outputs: <key>_output_<i>."""
    if not gen.multi_io:
        return {key: (label, verify.compare(r, got, ref)) for key, (label, r, got, ref) in checks.items()}
    from edgecnn.convert.multiio import columns

    cols = columns([p.shape for p in gen.outputs])
    return {f"{key}_output_{i}": (f"{label}, output {i} ({p.name})", verify.compare(r, got[:, c], ref[:, c]))
            for key, (label, r, got, ref) in checks.items() for i, (p, c) in enumerate(zip(gen.outputs, cols))}


def _pixel_reference(ctx):
    """The build's own pixel -> int8 path (feed.py), which <name>_input_from_u8 must reproduce."""
    from edgecnn.convert.feed import quantize, to_model_units

    if ctx.input_range is None:
        return None
    return lambda p: quantize(to_model_units(p, ctx.input_range), ctx.q_in.scale, ctx.q_in.zero_point).reshape(-1)


def build_target(ctx) -> dict:
    """Write ctx.out_dir/c/ (engine + kernels), compile it, compare it; returns manifest entries."""
    from edgecnn.codegen import generate, hostrun, verify
    from edgecnn.convert.runners import to_int8
    from edgecnn.convert.verify import require

    tflite = ctx.out_dir / "model_int8.tflite"
    gen = generate(tflite, ctx.out_dir / "c", ctx.cname, labels=ctx.labels, command=ctx.command,
                   input_range=ctx.input_range, input_reference=_pixel_reference(ctx))
    ctx.extra["c_generate"] = gen  # for the exports that package this engine (edgecnn/firmware/)
    console.print(f"C engine: arena {gen.arena_bytes} B, weights {gen.weights_bytes} B, {len(gen.calls)} kernel calls")
    x_eval, in_shape, k = _packing(ctx, gen, to_int8)
    x_rand = verify.random_inputs(in_shape, N_RANDOM, RANDOM_SEED)
    with tempfile.TemporaryDirectory(prefix="edgecnn-c-") as tmp:
        exe = hostrun.compile_host(gen, Path(tmp) / "host", "gcc", "-O2")
        exe_fx = hostrun.compile_host(gen, Path(tmp) / "fixed" / "host", "gcc", "-O2", (f"-D{FIXED_POINT_FC}",))
        c_eval = hostrun.run_host(exe, x_eval, k).outputs
        c_rand = hostrun.run_host(exe, x_rand, k).outputs
        c_rand_fx = hostrun.run_host(exe_fx, x_rand, k).outputs
    console.print(f"C engine: comparing {len(x_eval)} evaluation and {N_RANDOM} random inputs with LiteRT "
                  "reference kernels and TFLM")
    ref_rand = verify.litert_reference(tflite, x_rand)
    try:
        tflm_rand, tflm_note = verify.tflm_reference(tflite, x_rand), None
    except TargetCannotRun as err:  # TFLM is a second reference here, not the thing built
        tflm_rand, tflm_note = None, f"not compared: {err}"
        console.print(f"[yellow]C engine: {tflm_note}; LiteRT's reference kernels remain the reference[/]")
    required = {
        "c_vs_litert_ref_eval": (f"C engine vs LiteRT reference kernels on {ctx.eval_description}",
                                 "litert_builtin_ref", c_eval, verify.litert_reference(tflite, x_eval)),
        "c_vs_litert_ref_random": (f"C engine vs LiteRT reference kernels on {N_RANDOM} random inputs",
                                   "litert_builtin_ref", c_rand, ref_rand),
        "c_fixed_point_fc_vs_tflm_random": (f"C engine built with -D{FIXED_POINT_FC} vs the TFLM interpreter on "
                                            f"{N_RANDOM} random inputs", "tflm", c_rand_fx, tflm_rand),
    }
    informative = _informative(c_rand, c_eval, ref_rand, tflm_rand, np.asarray(ctx.int8_out))
    if tflm_rand is None:
        required = {k: v for k, v in required.items() if v[1] != "tflm"}
        informative = {k: v for k, v in informative.items() if v[2] is not None and v[3] is not None}
    checks = _compare(verify, gen, required)
    for _, c in checks.values():
        console.print(c.line())
    verification = {key: require(_entry(label, c)) for key, (label, c) in checks.items()}
    info = _compare(verify, gen, informative)
    verification |= {key: {**_entry(f"{label} (informative)", c), "passed": None} for key, (label, c) in info.items()}
    if tflm_note:
        verification["c_vs_tflm"] = {"check": f"C engine vs the TFLM interpreter: {tflm_note}", "passed": None}
    acc = None if ctx.eval_y is None else float((c_eval.astype(np.int32).argmax(1) == np.asarray(ctx.eval_y)).mean())
    return {
        "c_engine": {
            "dir": "c", "prefix": gen.name, "files": sorted(p.name for p in gen.files),
            "arena_bytes": gen.arena_bytes, "weights_bytes": gen.weights_bytes, "macs": gen.macs,
            "kernel_calls": list(gen.calls), "fused_blocks": gen.fused, "top1_acc": acc,
            "calls_not_word_aligned": [i.index for i in gen.call_infos if not i.word_aligned],
            "host_compile": "gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -O2: clean",
            "arena_note": "static arena only; the caller's input and output buffers are not in it",
        },
        "verification": verification,
    }
