"""Where the C engine's Cortex-M4 time goes: instructions and cycles per kernel call and function.

The model (an MLPerf Tiny stand-in: ic, kws, vww, ad; a shipped model: mnist, fashion-mnist,
cifar10, calibrated on its sample's images; or an int8 .tflite) is generated, its expected outputs
computed on the host, and one inference on a seeded random input traced under QEMU mps2-an386
(firmware built with -DEC_CYCLE_TRACE -DEC_PROFILE_LAYERS, -Os, soft float). Every executed block
is attributed to the kernel call it ran in and the function it starts in, and weighted with the
cycle model (edgecnn.codegen.cycles: an ideal zero-wait-state M4; best, estimate and worst as
there, aligned accesses: the unaligned allowance is in mlperf_tiny.py's and c_engine.py's worst).

Run from the repository root:
  python benchmarks/m4_profile.py vww [--min-share 0.02]
Nothing here is asserted.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

SHIPPED = ("mnist", "fashion-mnist", "cifar10")


def int8_model(name: str, work: Path) -> Path:
    from edgecnn.codegen import mlperf_tiny

    path = work / "model.tflite"
    if name.endswith(".tflite"):
        path.write_bytes(Path(name).read_bytes())
    elif name in SHIPPED:
        from edgecnn.convert.quantize import load_keras, to_int8_tflite
        from edgecnn.paths import shipped_model_dir
        from edgecnn.samples import calibration_data

        calib, _ = calibration_data(name, 500, seed=0)  # as benchmarks/c_engine.py: pixels / 255
        path.write_bytes(to_int8_tflite(load_keras(shipped_model_dir(name) / "model.keras"),
                                        calib.astype(np.float32) / 255.0))
    else:
        path.write_bytes(mlperf_tiny.int8_tflite(mlperf_tiny.standin(name)))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="ic | kws | vww | ad | mnist | fashion-mnist | cifar10 | an int8 .tflite")
    ap.add_argument("--min-share", type=float, default=0.02,
                    help="list a function under a call when it takes at least this share of the call's worst cycles")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgecnn.codegen import cycles, generate, hostrun, qemu, verify

    with tempfile.TemporaryDirectory(prefix="edgecnn-profile-") as tmp:
        work = Path(tmp)
        gen = generate(int8_model(args.model, work), work / "c", "m")
        x = verify.random_inputs(gen.input_shape, 1, seed=0).reshape(1, -1)
        host = hostrun.run_host(hostrun.compile_host(gen, work / "h" / "h"), x, int(np.prod(gen.output_shape))).outputs
        fw = qemu.build(gen, x, host, work / "fw", "-Os", ("-DEC_CYCLE_TRACE", "-DEC_PROFILE_LAYERS"))
        table = cycles.profile(fw / "firmware.elf")
    total = [sum(v[k] for v in table.values()) for k in range(4)]
    print(f"{args.model}: {gen.macs:,} MACs; one inference: {total[0]:,} instructions, cycles best / estimate / "
          f"worst {total[1]:,} / {total[2]:,} / {total[3]:,} ({total[3] / gen.macs:.3f} worst per MAC)")
    for i, call in enumerate(gen.calls):
        rows = sorted(((f, v) for (c, f), v in table.items() if c == i), key=lambda fv: -fv[1][3])
        n, w = sum(v[0] for _, v in rows), sum(v[3] for _, v in rows)
        macs = gen.call_macs[i]
        per = f" ({n / macs:.3f} instr, {w / macs:.3f} worst cycles per MAC)" if macs else ""
        print(f"call {i} {call}: {n:,} instructions, {w:,} worst cycles{per}")
        for f, v in rows:
            if w and v[3] >= args.min_share * w:
                print(f"    {f:36s} {v[0]:>11,} instr {v[2]:>11,} est {v[3]:>11,} worst")
    by_fn: dict[str, list[int]] = {}
    for (_, f), v in table.items():
        acc = by_fn.setdefault(f, [0, 0, 0, 0])
        for k in range(4):
            acc[k] += v[k]
    print("by function (all calls):")
    for f, v in sorted(by_fn.items(), key=lambda fv: -fv[1][3]):
        if v[3] >= args.min_share * total[3] / 4:
            print(f"    {f:36s} {v[0]:>11,} instr {v[2]:>11,} est {v[3]:>11,} worst")
    return 0


if __name__ == "__main__":
    sys.exit(main())
