"""Run every requested runtime on one build: accuracy, agreement with LiteRT int8, latency.

Stages: open and verify the build -> load the evaluation images -> per runtime:
outputs on every image (accuracy, agreement) then timed single-image calls ->
ratios -> one JSON-ready dict that `report.py` renders.
"""

import datetime
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgecnn import __version__
from edgecnn.bench.base import Runtime
from edgecnn.bench.builddir import DEFAULT_BUILD_DIR, ArtifactRefused, BuildDir, open_build
from edgecnn.bench.machine import machine_info, versions
from edgecnn.bench.results import RuntimeResult, agreement, agreement_with_ref_kernels, ratios
from edgecnn.bench.runtimes import REF_KERNELS, REFERENCE, RUNTIMES
from edgecnn.bench.timing import summarize
from edgecnn.console import console, progress
from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError


@dataclass(frozen=True)
class BenchOptions:
    """What to bench and how long: runs/warmup are single-image calls per runtime."""

    build_dir: Path = DEFAULT_BUILD_DIR
    runs: int = 1000
    warmup: int = 50
    runtimes: tuple[str, ...] = ()  # empty: every registered runtime
    threads: int = 1
    mcu_images: int = 10  # images the Cortex-M4 firmware embeds and runs under QEMU
    dataset: str | None = None  # evaluate on this data set instead of the build's
    data: Path | None = None  # evaluate on this image folder / .npz instead of the build's


def select_runtimes(names: tuple[str, ...]) -> list[str]:
    """Validate runtime names against the registry; empty means all, in registry order."""
    unknown = [n for n in names if n not in RUNTIMES]
    if unknown:
        raise EdgecnnError(f"unknown runtime {', '.join(map(repr, unknown))}; expected one of {', '.join(RUNTIMES)}")
    return [n for n in RUNTIMES if not names or n in names]


def check_options(opts: BenchOptions) -> None:
    if opts.runs < 1 or opts.warmup < 0 or opts.threads < 1 or opts.mcu_images < 1:
        raise EdgecnnError(f"--runs {opts.runs}, --warmup {opts.warmup}, --threads {opts.threads}, "
                           f"mcu_images {opts.mcu_images}: expected runs >= 1, warmup >= 0, threads >= 1, "
                           "mcu_images >= 1")


def bench(opts: BenchOptions, command: str | None = None) -> dict:
    """Benchmark a build directory; returns the JSON-ready result (see `report.py`)."""
    from edgecnn.convert.datasource import bench_feed
    from edgecnn.convert.feed import quantize

    check_options(opts)
    names = select_runtimes(opts.runtimes)
    build = open_build(opts.build_dir)
    ev = bench_feed(build.manifest, opts.dataset, opts.data)
    q = build.manifest["input"]
    inputs = {"int8": quantize(ev.x, float(q["scale"]), int(q["zero_point"])), "float": ev.x}
    console.print(f"bench {build.path} on {ev.description}; {opts.runs} runs after {opts.warmup} warm-up calls")
    results = []
    with progress() as bar:
        for name in names:
            results.append(run_one(RUNTIMES[name](), build, inputs, ev.y, opts, bar))
        ref = next((r for r in results if r.runtime == REFERENCE and r.ok), None)
        if ref is None and REFERENCE not in names:
            ref = run_one(RUNTIMES[REFERENCE](), build, inputs, ev.y, replace(opts, runs=1, warmup=0), bar)
    kernels = next((r for r in results if r.runtime == REF_KERNELS and r.ok), None)
    for r in results:
        if r.ok and r.outputs is not None and ref is not None and ref.ok:
            r.agreement = agreement(r, ref.outputs, build.manifest["output"], REFERENCE)
        if r.ok and kernels is not None:
            r.agreement.update(agreement_with_ref_kernels(r, kernels.outputs))
    return assemble(build, ev, opts, results, command)


def run_one(rt: Runtime, build: BuildDir, inputs: dict, labels: np.ndarray, opts: BenchOptions, bar) -> RuntimeResult:
    """Outputs on every evaluation image, then `opts.runs` timed calls after `opts.warmup`."""
    res = RuntimeResult(rt.name, rt.description, rt.precision, latency_source=rt.latency_source)
    reason = rt.available(build)
    if reason is not None:
        return skipped(res, reason, bar)
    xs = inputs[rt.precision]
    task = bar.add_task(rt.name, total=len(xs) + opts.runs, status="loading")
    try:
        try:
            with quiet():  # LiteRT and TFLM announce delegates and allocations from C++
                rt.load(build, opts)
        except ArtifactRefused:
            raise
        except EdgecnnError as err:  # e.g. a toolchain that is present but cannot build the engine
            bar.update(task, visible=False)
            return skipped(res, f"could not load: {err}", bar)
        res.artifact, res.artifact_bytes = rt.artifact, artifact_bytes(build, rt.artifact)
        bar.update(task, status="accuracy")
        res.outputs = rt.outputs(xs, tick=lambda: bar.advance(task))
        bar.update(task, completed=len(xs), status="latency")
        if res.outputs is not None and labels is not None:  # no labels: accuracy unknown
            res.top1_acc = round(float(np.mean(res.outputs.reshape(len(xs), -1).argmax(axis=1) == labels)), 6)
        if res.outputs is not None:
            res.n_images = int(len(xs))
        lat = rt.latencies(xs, opts.runs, opts.warmup, tick=lambda: bar.advance(task))
        if lat is not None:
            res.latency_us, res.latency = lat, summarize(lat)
        res.extra = rt.extra(build)
        bar.update(task, completed=len(xs) + opts.runs, status="done")
    finally:
        rt.close()
    return res


# Which build accuracy each runtime must reproduce: the same model file on the same images.
BUILD_ACCURACY = {"keras-float": "float_top1_acc", REFERENCE: "int8_top1_acc"}


def matches_build(manifest: dict, ev, results: list[RuntimeResult]) -> dict | None:
    """{runtime: bool} comparing top-1 with what build reported; None when build evaluated other images."""
    built = manifest.get("evaluation") or {}
    if ev.y is None or built.get("description") != ev.description or built.get("n_images") != len(ev.y):
        return None
    out = {}
    for r in results:
        if r.runtime in BUILD_ACCURACY and r.top1_acc is not None and BUILD_ACCURACY[r.runtime] in built:
            out[r.runtime] = abs(r.top1_acc - built[BUILD_ACCURACY[r.runtime]]) < 1e-6
            if not out[r.runtime]:
                console.print(f"[yellow]{r.runtime}: top-1 {r.top1_acc:.6f} differs from the "
                              f"{built[BUILD_ACCURACY[r.runtime]]:.6f} that build measured on the same images")
    return out


def skipped(res: RuntimeResult, reason: str, bar) -> RuntimeResult:
    """Mark a runtime as skipped, say why on the console, and return its row."""
    res.skip_reason = reason
    bar.console.print(f"[yellow]{res.runtime}: skipped: {reason}")
    return res


def artifact_bytes(build: BuildDir, rel: str) -> int:
    """Bytes of a file artifact, or the sum over a directory's listed artifacts (the C engine's c/)."""
    if rel in build.manifest["artifacts"]:
        return build.artifact_bytes(rel)
    return sum(build.artifact_bytes(k) for k in build.artifacts_under(rel.rstrip("/") + "/"))


def assemble(build: BuildDir, ev, opts: BenchOptions, results: list[RuntimeResult], command: str | None) -> dict:
    """The JSON-ready record of one bench run (units in the keys)."""
    m = build.manifest
    evaluation = {"description": ev.description, "is_sample": ev.is_sample, "n_images": int(len(ev.x)),
                  "accuracy": "unknown" if ev.y is None else "measured",
                  "build_evaluation": m.get("evaluation"), "matches_build": matches_build(m, ev, results)}
    return {
        "tool": {"name": "edgecnn", "version": __version__},
        "command": command or shlex.join(["edgecnn", *sys.argv[1:]]),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(),
        "build": {"dir": str(build.path), "name": m.get("name"), "dataset": m["dataset"],
                  "dataset_label": m.get("dataset_label", m["dataset"]), "source_model": m.get("source_model"),
                  "build_command": m.get("command"), "tflm": m.get("tflm"), "c_engine": m.get("c_engine")},
        "settings": {"runs": opts.runs, "warmup": opts.warmup, "threads": opts.threads,
                     "mcu_images": opts.mcu_images},
        "evaluation": evaluation,
        "runtimes": [r.row() for r in results],
        "ratios": ratios(results, m),
        "latency_us_samples": {r.runtime: np.round(r.latency_us, 2).tolist()
                               for r in results if r.latency_us is not None},
    }
