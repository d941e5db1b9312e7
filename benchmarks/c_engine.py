"""The C engine's figures against the issue's targets, measured in one run.

For the shipped MNIST, Fashion-MNIST (lite28) and CIFAR-10 (lite32) models (else
lite28/lite32 trained for a few epochs on the shipped sample, which changes no
size and no instruction count), converted by edgecnn.convert:

- arena: the engine's static arena vs TFLM's (the smallest arena the
  tflite_micro interpreter runs in, and kTensorArenaSize = that + margin);
- flash: engine_only.elf (vector table + code + weights), -Os, Cortex-M4;
- instructions per MAC on the Cortex-M4 under QEMU (-icount shift=0), plain C kernels
  (-DEC_NO_SIMD) and the SIMD ones, at -Os and -O2, and per kernel call (SIMD, -Os);
- cycles per inference (best / estimate / worst) of an ideal zero-wait-state M4 from the
  executed-block log (edgecnn.codegen.cycles), SIMD, -Os;
- agreement: the engine vs LiteRT's reference kernels on 1,000 seeded random inputs and
  the evaluation images, and built with TFLM's FULLY_CONNECTED rounding vs the TFLM
  interpreter on the random inputs (max |diff| in LSB, values differing);
- host latency: the engine at -O3 vs LiteRT int8 (default kernels, 1 thread), p50, same run.

Run from the repository root:
  nice -n 19 python benchmarks/c_engine.py [--runs 300] [--datasets mnist ...] \
      [--json benchmarks/results/c_engine.json] [--md benchmarks/results/c_engine.md]
Nothing here is asserted; the tests check correctness, this prints the figures.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = (("mnist", "lite28"), ("fashion-mnist", "lite28"), ("cifar10", "lite32"))
TARGETS = {"arena_vs_tflm": 0.8, "flash_bytes": 32 * 1024, "latency_ratio": 1.0}


def _model(dataset: str, family: str):
    from edgecnn.convert.quantize import load_keras
    from edgecnn.paths import shipped_model_dir

    shipped = shipped_model_dir(dataset) / "model.keras"
    if shipped.is_file():
        return load_keras(shipped), f"shipped {shipped}"
    import keras

    from edgecnn.model import build_model
    from edgecnn.samples import load_sample

    from edgecnn.errors import EdgecnnError

    keras.utils.set_random_seed(0)
    m = build_model(family)
    try:
        s = load_sample(dataset)
    except EdgecnnError:
        return m, f"{family} with seeded random weights (no shipped model or sample yet)"
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(s["x_calib"].astype("float32") / 255.0, s["y_calib"], epochs=5, batch_size=32, verbose=0)
    return m, f"{family} trained 5 epochs on the shipped {dataset} sample (no shipped model yet)"


def _litert_p50_us(tflite: bytes, x: np.ndarray, runs: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=tflite, num_threads=1)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    it.set_tensor(i, x)
    for _ in range(20):
        it.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
        it.get_tensor(o)
    return float(np.median(times) * 1e6)


def _agreement(gen, path: Path, work: Path, dataset: str) -> dict:
    """The build target's comparisons, recomputed: max |diff| (LSB) and values differing."""
    from edgecnn.codegen import hostrun, verify
    from edgecnn.convert.feed import to_model_units
    from edgecnn.convert.runners import to_int8
    from edgecnn.samples import evaluation_data

    ev = evaluation_data(dataset)
    q = type("Q", (), {"scale": gen.input_scale, "zero_point": gen.input_zero_point})()
    x_eval, x_rand = to_int8(to_model_units(ev.x, (0.0, 1.0)), q), verify.random_inputs(gen.input_shape, 1000, seed=0)
    k = int(np.prod(gen.output_shape))
    exe = hostrun.compile_host(gen, work / "verify" / "h", "gcc", "-O2")
    exe_fx = hostrun.compile_host(gen, work / "verify_fx" / "h", "gcc", "-O2", ("-DEC_FC_FIXED_POINT_REQUANT",))
    tflm = verify.tflm_reference(path, x_rand)
    cmps = {"c_vs_litert_ref_eval": verify.compare("litert_builtin_ref", hostrun.run_host(exe, x_eval, k).outputs,
                                                   verify.litert_reference(path, x_eval)),
            "c_vs_litert_ref_random": verify.compare("litert_builtin_ref", hostrun.run_host(exe, x_rand, k).outputs,
                                                     verify.litert_reference(path, x_rand)),
            "c_fixed_point_fc_vs_tflm_random": verify.compare("tflm", hostrun.run_host(exe_fx, x_rand, k).outputs, tflm),
            "c_vs_tflm_random": verify.compare("tflm", hostrun.run_host(exe, x_rand, k).outputs, tflm)}
    out = {key: {"max_abs_diff_lsb": c.max_abs_diff, "values_differing": c.n_values_differing, "n_inputs": c.n_inputs,
                 "top1_mismatches_not_ties": c.top1_mismatches_not_ties, "passed": c.passed} for key, c in cmps.items()}
    out["evaluation"] = ev.description
    return out


def measure(dataset: str, family: str, runs: int, work: Path) -> dict:
    from edgecnn.codegen import cycles, generate, hostrun, qemu
    from edgecnn.convert.quantize import to_int8_tflite, tflite_io
    from edgecnn.convert.tflm import measure_arena
    from edgecnn.samples import calibration_data

    model, origin = _model(dataset, family)
    calib, _ = calibration_data(dataset, 500, seed=0)
    tflite = to_int8_tflite(model, calib.astype(np.float32) / 255.0)  # the models' input: pixels / 255
    path = work / f"{dataset}.tflite"
    path.write_bytes(tflite)
    gen = generate(path, work / dataset / "c", dataset)
    plain = generate(path, work / dataset / "c_unfused", dataset, fuse=False)
    tflm = measure_arena(tflite, tflite_io(tflite)[0])
    x = (calib[:100].astype(np.int16) - 128).astype(np.int8)  # pixel - 128: the models' int8 input
    k = int(np.prod(gen.output_shape))
    exe3 = hostrun.compile_host(gen, work / dataset / "o3" / "h", "gcc", "-O3")
    host = hostrun.run_host(exe3, x, k, repeats=runs)
    litert_us = _litert_p50_us(tflite, x[:1].reshape(gen.input_shape), runs)
    arm = {}
    for opt in ("-Os", "-O2"):
        for kernels, cflags in (("simd", ()), ("plain", ("-DEC_NO_SIMD",))):
            arm[opt, kernels] = qemu.check(gen, x, host.outputs, work / dataset / f"fw{opt}{kernels}", opt=opt,
                                           cflags=cflags)
    prof = qemu.check(gen, x[:10], host.outputs[:10], work / dataset / "fw_profile", cflags=(), profile_layers=True)
    cyc = cycles.model_cycles(gen, x[:1], host.outputs[:1], work / dataset / "fw_cycles").per_inference()
    layers = [{"call": gen.calls[i], "macs": gen.call_macs[i], "instructions": n,
               "instructions_per_mac": round(n / gen.call_macs[i], 2) if gen.call_macs[i] else None}
              for i, n in sorted(prof.layer_instructions.items())]
    tflm_total = tflm.measured_bytes + tflm.margin_bytes
    return {
        "dataset": dataset, "model": origin, "macs": gen.macs, "weights_bytes": gen.weights_bytes,
        "arena_bytes": gen.arena_bytes, "arena_bytes_unfused": plain.arena_bytes,
        "tflm_arena_bytes_measured": tflm.measured_bytes, "tflm_tensor_arena_size": tflm_total,
        "arena_vs_tflm_measured": round(gen.arena_bytes / tflm.measured_bytes, 3),
        "arena_vs_tflm_tensor_arena_size": round(gen.arena_bytes / tflm_total, 3),
        "flash_bytes_os": arm["-Os", "simd"].flash_bytes, "flash_bytes_os_plain": arm["-Os", "plain"].flash_bytes,
        "ram_bytes_os": arm["-Os", "simd"].ram_bytes, "stack_bytes_used": arm["-Os", "simd"].stack_bytes_used,
        "qemu_images_matching": {f"{o} {k}": f"{r.n_images - r.mismatches}/{r.n_images}" for (o, k), r in arm.items()},
        "m4_instructions_per_inference": {f"{o} {k}": r.instructions_per_inference for (o, k), r in arm.items()},
        "m4_instructions_per_mac": {f"{o} {k}": r.instructions_per_mac for (o, k), r in arm.items()},
        "m4_layers_simd_os": layers,
        "m4_simd_os_cycles": {k: v for k, v in cyc.items() if k.startswith("cycles_")},
        "agreement": _agreement(gen, path, work / dataset, dataset),
        "host_latency_us_p50_c_o3": host.latency_us_p50, "host_latency_us_p50_litert_int8": round(litert_us, 1),
        "latency_ratio_c_over_litert": round(host.latency_us_p50 / litert_us, 2),
    }


def _lines(r: dict) -> list[str]:
    out = [f"## {r['dataset']}: {r['model']}  ({r['macs']:,} MACs, {r['weights_bytes']:,} B weights)",
           f"arena: engine {r['arena_bytes']:,} B (unfused {r['arena_bytes_unfused']:,} B) vs TFLM measured "
           f"{r['tflm_arena_bytes_measured']:,} B -> {r['arena_vs_tflm_measured']} ; vs kTensorArenaSize "
           f"{r['tflm_tensor_arena_size']:,} B -> {r['arena_vs_tflm_tensor_arena_size']} "
           f"(target <= {TARGETS['arena_vs_tflm']}, stretch 0.6)",
           f"flash (-Os, Cortex-M4, engine_only.elf): {r['flash_bytes_os']:,} B with SIMD kernels, "
           f"{r['flash_bytes_os_plain']:,} B plain C (target <= {TARGETS['flash_bytes']:,} B for MNIST); "
           f"RAM {r['ram_bytes_os']:,} B incl. {r['stack_bytes_used']} B stack",
           f"QEMU outputs equal to the host's: {r['qemu_images_matching']}"]
    for key, per_mac in r["m4_instructions_per_mac"].items():
        out.append(f"Cortex-M4 {key:10s}: {r['m4_instructions_per_inference'][key]:>11,} instructions per inference, "
                   f"{per_mac} per MAC" + (" (SIMD target <= 2)" if "simd" in key else ""))
    c = r["m4_simd_os_cycles"]
    out.append(f"Cortex-M4 -Os simd cycles (ideal zero-wait-state M4, edgecnn.codegen.cycles): best "
               f"{c['cycles_per_inference_best']:,} / estimate {c['cycles_per_inference_estimate']:,} / worst "
               f"{c['cycles_per_inference_worst']:,} per inference (unaligned allowance "
               f"{c['cycles_per_inference_worst_unaligned_allowance']:,}), "
               f"{c['cycles_per_inference_estimate'] / r['macs']:.2f} per MAC (estimate)")
    out.append("per kernel call (SIMD, -Os): " + "; ".join(
        f"{l['call']} {l['instructions']:,}" + (f" ({l['instructions_per_mac']}/MAC)" if l["macs"] else "")
        for l in r["m4_layers_simd_os"]))
    a = r["agreement"]
    out.append(f"agreement ({a['evaluation']} + 1,000 random inputs): " + "; ".join(
        f"{k} max {v['max_abs_diff_lsb']} LSB, {v['values_differing']} values differ"
        for k, v in a.items() if isinstance(v, dict)))
    out.append(f"host latency p50: C -O3 {r['host_latency_us_p50_c_o3']:.1f} us vs LiteRT int8 "
               f"{r['host_latency_us_p50_litert_int8']:.1f} us -> ratio {r['latency_ratio_c_over_litert']} "
               f"(goal <= {TARGETS['latency_ratio']})")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300, help="timed invocations per runtime (p50 reported)")
    ap.add_argument("--datasets", nargs="+", default=[d for d, _ in MODELS], choices=[d for d, _ in MODELS])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--md", type=Path, help="also write the printed report here (markdown)")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgecnn-bench-c-") as tmp:
        for dataset, family in MODELS:
            if dataset in args.datasets:
                rows.append(measure(dataset, family, args.runs, Path(tmp)))
    text = "\n\n".join("\n".join(_lines(r)) for r in rows)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.md:
        cmd = "python benchmarks/c_engine.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.md.write_text(f"# C engine figures\n\nCommand: `{cmd.strip()}`\n\n```\n{text}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
