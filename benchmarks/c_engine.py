"""The C engine's figures against the issue's targets, measured in one run.

For the MNIST (lite28) and CIFAR-10 (lite32) models (the shipped ones when
present, else lite28/lite32 trained for a few epochs on the shipped sample,
which changes no size and no instruction count), converted by edgecnn.convert:

- arena: the engine's static arena vs TFLM's (the smallest arena the
  tflite_micro interpreter runs in, and kTensorArenaSize = that + margin);
- flash: engine_only.elf (vector table + code + weights), -Os, Cortex-M4;
- instructions per MAC on the Cortex-M4 under QEMU (-icount shift=0), plain C kernels
  (-DEC_NO_SIMD) and the SMLAD ones, at -Os and -O2;
- host latency: the engine at -O3 vs LiteRT int8 (default kernels, 1 thread), p50.

Run from the repository root:  python benchmarks/c_engine.py [--runs 300] [--json out.json]
Nothing here is asserted; the tests check correctness, this prints the figures.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = (("mnist", "lite28"), ("cifar10", "lite32"))
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


def measure(dataset: str, family: str, runs: int, work: Path) -> dict:
    from edgecnn.codegen import generate, hostrun, qemu
    from edgecnn.convert.quantize import to_int8_tflite, tflite_io
    from edgecnn.convert.tflm import measure_arena
    from edgecnn.samples import calibration_data

    model, origin = _model(dataset, family)
    calib, _ = calibration_data(dataset, 500, seed=0)
    tflite = to_int8_tflite(model, calib)
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
        for kernels, cflags in (("smlad", ()), ("plain", ("-DEC_NO_SIMD",))):
            arm[opt, kernels] = qemu.check(gen, x, host.outputs, work / dataset / f"fw{opt}{kernels}", opt=opt,
                                           cflags=cflags)
    tflm_total = tflm.measured_bytes + tflm.margin_bytes
    return {
        "dataset": dataset, "model": origin, "macs": gen.macs, "weights_bytes": gen.weights_bytes,
        "arena_bytes": gen.arena_bytes, "arena_bytes_unfused": plain.arena_bytes,
        "tflm_arena_bytes_measured": tflm.measured_bytes, "tflm_tensor_arena_size": tflm_total,
        "arena_vs_tflm_measured": round(gen.arena_bytes / tflm.measured_bytes, 3),
        "arena_vs_tflm_tensor_arena_size": round(gen.arena_bytes / tflm_total, 3),
        "flash_bytes_os": arm["-Os", "smlad"].flash_bytes, "flash_bytes_os_plain": arm["-Os", "plain"].flash_bytes,
        "ram_bytes_os": arm["-Os", "smlad"].ram_bytes, "stack_bytes_used": arm["-Os", "smlad"].stack_bytes_used,
        "qemu_images_matching": {f"{o} {k}": f"{r.n_images - r.mismatches}/{r.n_images}" for (o, k), r in arm.items()},
        "m4_instructions_per_inference": {f"{o} {k}": r.instructions_per_inference for (o, k), r in arm.items()},
        "m4_instructions_per_mac": {f"{o} {k}": r.instructions_per_mac for (o, k), r in arm.items()},
        "host_latency_us_p50_c_o3": host.latency_us_p50, "host_latency_us_p50_litert_int8": round(litert_us, 1),
        "latency_ratio_c_over_litert": round(host.latency_us_p50 / litert_us, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300, help="timed invocations per runtime (p50 reported)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgecnn-bench-c-") as tmp:
        for dataset, family in MODELS:
            rows.append(measure(dataset, family, args.runs, Path(tmp)))
    for r in rows:
        print(f"\n## {r['dataset']}: {r['model']}  ({r['macs']:,} MACs, {r['weights_bytes']:,} B weights)")
        print(f"arena: engine {r['arena_bytes']:,} B (unfused {r['arena_bytes_unfused']:,} B) vs TFLM measured "
              f"{r['tflm_arena_bytes_measured']:,} B -> {r['arena_vs_tflm_measured']} ; vs kTensorArenaSize "
              f"{r['tflm_tensor_arena_size']:,} B -> {r['arena_vs_tflm_tensor_arena_size']} "
              f"(target <= {TARGETS['arena_vs_tflm']}, stretch 0.6)")
        print(f"flash (-Os, Cortex-M4, engine_only.elf): {r['flash_bytes_os']:,} B with SMLAD kernels, "
              f"{r['flash_bytes_os_plain']:,} B plain C (target <= {TARGETS['flash_bytes']:,} B for MNIST); "
              f"RAM {r['ram_bytes_os']:,} B incl. {r['stack_bytes_used']} B stack")
        print(f"QEMU outputs equal to the host's: {r['qemu_images_matching']}")
        for key, per_mac in r["m4_instructions_per_mac"].items():
            print(f"Cortex-M4 {key:10s}: {r['m4_instructions_per_inference'][key]:>11,} instructions per inference, "
                  f"{per_mac} per MAC" + (" (SMLAD target <= 2)" if "smlad" in key else ""))
        print(f"host latency p50: C -O3 {r['host_latency_us_p50_c_o3']:.1f} us vs LiteRT int8 "
              f"{r['host_latency_us_p50_litert_int8']:.1f} us -> ratio {r['latency_ratio_c_over_litert']} "
              f"(goal <= {TARGETS['latency_ratio']})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
