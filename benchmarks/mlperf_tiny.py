"""The C engine on shape-faithful stand-ins of the four MLPerf Tiny reference models.

For each stand-in (edgecnn/codegen/mlperf_tiny.py: seeded random weights, int8
calibration on seeded random data, converted by edgecnn.convert.quantize):
- MACs, instructions per inference on the Cortex-M4 (QEMU mps2-an386, -icount
  shift=0, SysTick-counted, SIMD kernels, -Os, soft float), per MAC;
- cycles per inference (best / estimate / worst) from the executed-block log
  weighted with the Cortex-M4 TRM's costs (edgecnn.codegen.cycles: an ideal
  zero-wait-state M4, not a measurement of a board);
- flash (engine_only.elf), RAM (.data + .bss + stack high-water), arena vs
  TFLM's measured arena (the smallest arena the tflite_micro interpreter runs in,
  each probe in a child process: a too-small arena crashes it on the AD stand-in);
- C vs LiteRT's reference kernels on 100 seeded random inputs (max |diff|);
- the published cycles of the best Cortex-M4 engines beside them.

Run from the repository root:
  nice -n 5 python benchmarks/mlperf_tiny.py [--models ic kws vww ad] \
      [--json benchmarks/results/mlperf_tiny.json] [--md benchmarks/results/mlperf_tiny.md]
Nothing here is asserted.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

# MLPerf Tiny v1.2/v1.3 closed division, STM32L4R5ZI (Cortex-M4 at 120 MHz): latency x clock, cycles.
PUBLISHED = {
    "ic": {"x_cube_ai_10_2": 19.9e6, "plumerai": 20.1e6, "tflm_cmsis_nn_v0_5": 84.5e6},
    "kws": {"x_cube_ai_10_2": 5.2e6, "plumerai": 5.7e6, "tflm_cmsis_nn_v0_5": 21.8e6},
    "vww": {"x_cube_ai_10_2": 10.7e6, "plumerai": 11.9e6, "tflm_cmsis_nn_v0_5": 72.1e6},
    "ad": {"x_cube_ai_10_2": 0.58e6, "plumerai": 0.49e6, "tflm_cmsis_nn_v0_5": 1.21e6},
}
PUBLISHED_SOURCE = ("MLPerf Tiny inference results v1.2 / v1.3 (mlcommons.org), STM32L4R5ZI rows, latency x 120 MHz, "
                    "as quoted in edgecnn issue #12")
# TFLM + CMSIS-NN built from source (cortex-m4+fp, release) and run in the same QEMU setup: the
# measurement committed beside this script (method in docs/c_engine.md; the build is not a test).
TFLM_PEER_RESULTS = Path(__file__).resolve().parent / "results" / "tflm_peer.json"


def tflm_peer_instructions() -> dict:
    """Model name -> TFLM + CMSIS-NN instructions per inference, from TFLM_PEER_RESULTS (empty if absent)."""
    if not TFLM_PEER_RESULTS.is_file():
        return {}
    rows = json.loads(TFLM_PEER_RESULTS.read_text())["models"]
    return {r["model"]: r["tflm_instructions_per_inference"] for r in rows}


def _tflm_runs(tflite: bytes, shape: tuple, zero_point: int, size: int) -> bool:
    """Whether the tflite_micro interpreter allocates and invokes the model in `size` bytes, probed
    in a child process: on some models (the AD stand-in) a too-small arena crashes the interpreter
    (SIGSEGV after "Failed to allocate tail memory") instead of raising, which would end the run."""
    import multiprocessing as mp

    def probe(q):
        from tflite_micro import runtime

        try:
            it = runtime.Interpreter.from_bytes(tflite, arena_size=size)
            it.set_input(np.full(shape, zero_point, np.int8), 0)
            it.invoke()
            q.put(True)
        except RuntimeError:
            q.put(False)

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=probe, args=(q,))
    child.start()
    child.join(120)
    return child.exitcode == 0 and not q.empty() and q.get()


def tflm_measured_arena(tflite: bytes) -> int:
    """The smallest arena (bytes) the tflite_micro interpreter runs the model in: the binary search of
    edgecnn.convert.tflm.measure_arena, each probe in a child process (see _tflm_runs)."""
    from edgecnn.convert.quantize import tflite_io
    from edgecnn.convert.quiet import quiet

    q = tflite_io(tflite)[0]
    lo, hi = 0, 1 << 16
    with quiet():
        while not _tflm_runs(tflite, q.shape, q.zero_point, hi):
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _tflm_runs(tflite, q.shape, q.zero_point, mid) else (mid, hi)
    return hi


def measure(name: str, work: Path, n_images: int) -> dict:
    from edgecnn.codegen import cycles, generate, hostrun, mlperf_tiny, qemu, verify

    s = mlperf_tiny.standin(name)
    tflite = mlperf_tiny.int8_tflite(s)
    path = work / f"{name}.tflite"
    path.write_bytes(tflite)
    gen = generate(path, work / name / "c", name)
    tflm_arena = tflm_measured_arena(tflite)
    x = verify.random_inputs(gen.input_shape, 100, seed=0).reshape(100, -1)
    k = int(np.prod(gen.output_shape))
    host = hostrun.run_host(hostrun.compile_host(gen, work / name / "h" / "h", "gcc", "-O2"), x, k).outputs
    ref = verify.compare("litert_builtin_ref", host, verify.litert_reference(path, x.reshape(-1, *gen.input_shape[1:])))
    rep = qemu.check(gen, x[:n_images], host[:n_images], work / name / "fw")
    cyc = cycles.model_cycles(gen, x[4:5], host[4:5], work / name / "fw_cycles").per_inference()
    row = {"model": name, "task": s.task, "macs": gen.macs, "weights_bytes": gen.weights_bytes,
           "kernel_calls": list(gen.calls), "qemu_images_matching": f"{rep.n_images - rep.mismatches}/{rep.n_images}",
           "instructions_per_inference": rep.instructions_per_inference,
           "instructions_per_mac": rep.instructions_per_mac, **cyc,
           "cycles_per_mac_estimate": round(cyc["cycles_per_inference_estimate"] / gen.macs, 3),
           "cycles_per_mac_worst": round(cyc["cycles_per_inference_worst"] / gen.macs, 3),
           "flash_bytes": rep.flash_bytes, "ram_bytes": rep.ram_bytes, "stack_bytes_used": rep.stack_bytes_used,
           "arena_bytes": gen.arena_bytes, "tflm_arena_bytes_measured": tflm_arena,
           "arena_vs_tflm_measured": round(gen.arena_bytes / tflm_arena, 3),
           "c_vs_litert_ref_random_max_abs_diff_lsb": ref.max_abs_diff,
           "published_cycles": PUBLISHED[name], "published_source": PUBLISHED_SOURCE,
           "tflm_cmsis_nn_instructions_measured": tflm_peer_instructions().get(name)}
    return row


def _millions(n) -> str:
    return "not measured" if n is None else f"{n / 1e6:.3g}M"


def _line(r: dict) -> str:
    p = r["published_cycles"]
    return (f"| {r['model']} | {r['macs']:,} | {r['instructions_per_inference']:,} ({r['instructions_per_mac']}) | "
            f"{_millions(r['tflm_cmsis_nn_instructions_measured'])} | "
            f"{r['cycles_per_inference_best'] / 1e6:.3g}M / {r['cycles_per_inference_estimate'] / 1e6:.3g}M / "
            f"{r['cycles_per_inference_worst'] / 1e6:.3g}M ({r['cycles_per_mac_estimate']}; unaligned allowance "
            f"{r['cycles_per_inference_worst_unaligned_allowance']:,}) | "
            f"{p['x_cube_ai_10_2'] / 1e6:.3g}M / {p['plumerai'] / 1e6:.3g}M / {p['tflm_cmsis_nn_v0_5'] / 1e6:.3g}M | "
            f"{r['flash_bytes']:,} | {r['ram_bytes']:,} | {r['arena_bytes']:,} / {r['tflm_arena_bytes_measured']:,} = "
            f"{r['arena_vs_tflm_measured']} | {r['c_vs_litert_ref_random_max_abs_diff_lsb']} | "
            f"{r['qemu_images_matching']} |")


HEADER = ("| model | MACs | M4 instructions / inference (per MAC) | TFLM+CMSIS-NN instructions (benchmarks/results/tflm_peer.md) | "
          "cycles best / estimate / worst (estimate per MAC; the part of worst charged for possibly unaligned loads/stores) | published cycles X-CUBE-AI / Plumerai / TFLM v0.5 | "
          "flash B | RAM B | arena / TFLM measured arena | C vs LiteRT ref, max LSB | QEMU outputs = host |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["ic", "kws", "vww", "ad"], choices=["ic", "kws", "vww", "ad"])
    ap.add_argument("--images", type=int, default=4, help="inputs run under QEMU for the instruction count")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgecnn-mlperf-") as tmp:
        rows = [measure(m, Path(tmp), args.images) for m in args.models]
    text = HEADER + "\n" + "\n".join(_line(r) for r in rows)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.md:
        cmd = "python benchmarks/mlperf_tiny.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.md.write_text(f"# MLPerf Tiny stand-ins on the Cortex-M4\n\nCommand: `{cmd.strip()}`\n\n"
                           f"Published cycles: {PUBLISHED_SOURCE}.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
