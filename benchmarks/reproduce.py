"""Reproduce the paper's table with edgecnn: build and bench the shipped models side by side.

For MNIST, Fashion-MNIST and CIFAR-10 (JPEG copy) this builds the shipped float
model (`edgecnn build`: int8 TFLite, TFLM, ONNX and, when available, the C
engine), benches every runtime (`edgecnn bench`), and writes one table next to
the paper's claims: parameters (paper 14,862), model size (paper "0.17 MB"),
top-1 accuracy float and int8 (paper 99 / 89 / 65 %), latency per runtime.

Outputs (under --out, default benchmarks/results/):
  reproduction.md, reproduction.json, reproduction_latency.png,
  <dataset>/bench.{json,md,png} for each data set that has a shipped model.

Run from the repository root:  python benchmarks/reproduce.py [--runs 1000]
A data set whose shipped model is missing gets a row saying so.
"""

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

DATASETS = ("mnist", "fashion-mnist", "cifar10")
LABELS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10 (JPEG copy)"}
# The paper's claims, as printed there.
PAPER = {"params": 14_862, "size_mb": 0.17,
         "top1_acc": {"mnist": 0.99, "fashion-mnist": 0.89, "cifar10": 0.65}}
BYTES_PER_FLOAT32 = 4
# Adam keeps two float32 moments per weight: a Keras file saved with its optimizer holds ~3x the weights.
ADAM_SLOTS = 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS,
                   help="data sets to (re)build and bench; the others' earlier results are kept")
    p.add_argument("--runs", type=int, default=1000, help="timed single-image calls per runtime")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--build-root", type=Path, default=Path("build/reproduce"),
                   help="where the build directories go (not committed)")
    p.add_argument("--models-root", type=Path, default=None,
                   help="DIR with <dataset>/model.keras to use instead of the shipped models")
    return p.parse_args(argv)


def build(model: Path, out: Path, dataset: str) -> str:
    """`edgecnn build --target all` on a shipped model (in this process); returns the equivalent command."""
    from edgecnn.convert.build import BuildRequest
    from edgecnn.convert.build import build as run_build

    cmd = shlex.join(["edgecnn", "build", "--model", str(model), "--dataset", dataset, "--out", str(out),
                      "--target", "all"])
    print("$", cmd, flush=True)
    run_build(BuildRequest(targets=("all",), model=model, dataset=dataset, out=out, command=cmd))
    return cmd


def bench_one(dataset: str, args: argparse.Namespace) -> dict:
    """Build and bench one data set's shipped model; write <out>/<dataset>/bench.{json,md,png}."""
    from edgecnn.bench import report
    from edgecnn.bench.run import BenchOptions, bench
    from edgecnn.paths import shipped_model_dir

    model = (args.models_root / dataset if args.models_root else shipped_model_dir(dataset)) / "model.keras"
    if not model.is_file():
        return {"dataset": dataset, "status": "missing", "reason": f"no model at {model} yet"}
    build_dir = args.build_root / dataset
    build(model, build_dir, dataset)
    cmd = ["edgecnn", "bench", "--build", str(build_dir), "--runs", str(args.runs), "--warmup", str(args.warmup)]
    result = bench(BenchOptions(build_dir, args.runs, args.warmup), command=shlex.join(cmd))
    out = args.out / dataset
    report.write_json(result, out / "bench.json")
    report.write_markdown(result, out / "bench.md")
    report.write_plot(result, out / "bench.png")
    manifest = json.loads((build_dir / "manifest.json").read_text())
    return {"dataset": dataset, "status": "ok", "bench": result, "manifest": manifest,
            "keras_bytes": model.stat().st_size, "model": model}


def summary_row(item: dict) -> dict:
    """One data set's numbers for the side-by-side table (units in the keys)."""
    ds = item["dataset"]
    row = {"dataset": ds, "dataset_label": LABELS[ds], "paper_top1_acc": PAPER["top1_acc"][ds],
           "paper_params": PAPER["params"], "paper_size_mb": PAPER["size_mb"], "status": item["status"]}
    if item["status"] != "ok":
        return {**row, "reason": item["reason"]}
    m, b = item["manifest"], item["bench"]
    runtimes = {r["runtime"]: r for r in b["runtimes"]}
    params = m["source_model"]["params"]
    row.update({
        "dataset_label": m.get("dataset_label", LABELS[ds]),
        "params": params,
        "keras_file_bytes": item["keras_bytes"],
        **{f"keras_{k}": v for k, v in keras_breakdown(item["model"]).items()},
        "float32_weights_bytes": params * BYTES_PER_FLOAT32,
        "int8_tflite_bytes": m["artifacts"]["model_int8.tflite"]["bytes"],
        "c_weights_bytes": (m.get("c_engine") or {}).get("weights_bytes"),
        "c_arena_bytes": (m.get("c_engine") or {}).get("arena_bytes"),
        "tflm_arena_bytes": (m.get("tflm") or {}).get("arena_bytes_measured"),
        "float_top1_acc": runtimes["keras-float"]["top1_acc"],
        "int8_top1_acc": runtimes["litert-int8"]["top1_acc"],
        "evaluation": b["evaluation"]["description"],
        "latency_us_p50": {n: r["latency_us_p50"] for n, r in runtimes.items() if r["latency_us_p50"] is not None},
        "skipped": {n: r["skip_reason"] for n, r in runtimes.items() if r["status"] == "skipped"},
        "cortex_m4": {k: runtimes.get("c-cortex-m4", {}).get(k)
                      for k in ("flash_bytes", "ram_bytes", "instructions_per_inference")},
        "ratios": b["ratios"],
        "benched_utc": b["created_utc"], "bench_command": b["command"], "build_command": m["command"],
        "load_avg_1_5_15_min": b["machine"].get("load_avg_1_5_15_min"),
    })
    return row


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _num(v) -> str:
    return "-" if v is None else f"{v:,}"


def keras_breakdown(path: Path) -> dict:
    """Float32 values stored in a .keras file: the model's variables and the optimizer's (Adam moments...)."""
    import io
    import zipfile

    import h5py

    counts = {"layers": 0, "optimizer": 0}
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in counts:
                counts[name.split("/")[0]] += int(obj.size)
        f.visititems(visit)
    return {"model_values": counts["layers"], "optimizer_values": counts["optimizer"],
            "array_bytes": BYTES_PER_FLOAT32 * (counts["layers"] + counts["optimizer"])}


def markdown(rows: list[dict], machine: dict, date: str, command: str) -> str:
    """Accuracy, size and latency tables next to the paper, and the size explanation."""
    vm = f" ({machine['hypervisor']} VM)" if machine.get("hypervisor") else ""
    lines = [f"# edgecnn vs the paper ({date})", "",
             f"Machine: {machine['cpu_model']}, {machine['cpu_cores_usable']} usable cores{vm}, {machine['os']}; "
             f"load average {machine['load_avg_1_5_15_min']} (1/5/15 min) at the end. "
             f"Command: `{command}`.", ""]
    return "\n".join(lines + accuracy_lines(rows) + size_table(rows) + latency_lines(rows) + size_lines()) + "\n"


def accuracy_lines(rows: list[dict]) -> list[str]:
    out = ["Top-1 accuracy:", "", "| data set | paper | ours, float (Keras) | ours, int8 (LiteRT) | evaluated on "
           "| benched (UTC), load avg 1 min |", "|:---|---:|---:|---:|:---|:---|"]
    for r in rows:
        paper = f"{100 * r['paper_top1_acc']:.0f}%"
        if r["status"] != "ok":
            out.append(f"| {r['dataset_label']} | {paper} | not reproduced: {r['reason']} | | | |")
        else:
            load = (r.get("load_avg_1_5_15_min") or ["?"])[0]
            out.append(f"| {r['dataset_label']} | {paper} | {_pct(r['float_top1_acc'])} | "
                       f"{_pct(r['int8_top1_acc'])} | {r['evaluation']} | {r['benched_utc']}, {load} |")
    return out


def size_table(rows: list[dict]) -> list[str]:
    ok = [r for r in rows if r["status"] == "ok"]
    p = PAPER["params"]
    out = ["", "Parameters and sizes (bytes):", "",
           "| | paper | " + " | ".join(r["dataset_label"] for r in ok) + " |", "|:---|---:|" + "---:|" * len(ok)]

    def line(label, paper, values):
        out.append(f"| {label} | {paper} | " + " | ".join(values) + " |")

    line("parameters", f"{p:,}", [_num(r["params"]) for r in ok])
    line("float model file (.keras)", f"\"{PAPER['size_mb']} MB\"", [_num(r["keras_file_bytes"]) for r in ok])
    line("float32 arrays in it: model + optimizer state", f"{p * 4 * (1 + ADAM_SLOTS):,} if Adam (x3)",
         [f"{_num(r['keras_array_bytes'])} ({_num(r['keras_model_values'])} + {_num(r['keras_optimizer_values'])} values)"
          for r in ok])
    line("float32 weights alone (params x 4)", f"{p * 4:,}", [_num(r["float32_weights_bytes"]) for r in ok])
    line("int8 .tflite", "-", [_num(r["int8_tflite_bytes"]) for r in ok])
    line("C engine weights (const, flash)", "-", [_num(r["c_weights_bytes"]) for r in ok])
    line("C engine arena (RAM) / TFLM arena", "-", [f"{_num(r['c_arena_bytes'])} / {_num(r['tflm_arena_bytes'])}" for r in ok])
    line("Cortex-M4 engine flash / RAM (QEMU ELF)", "-",
         [f"{_num(r['cortex_m4']['flash_bytes'])} / {_num(r['cortex_m4']['ram_bytes'])}" for r in ok])
    return out


def latency_lines(rows: list[dict]) -> list[str]:
    ok = [r for r in rows if r["status"] == "ok"]
    names = list(dict.fromkeys(n for r in ok for n in list(r["latency_us_p50"]) + list(r["skipped"])))
    out = ["", "Single-image latency, p50 µs on this machine (the paper reports none):", "",
           "| runtime | " + " | ".join(r["dataset_label"] for r in ok) + " |", "|:---|" + "---:|" * len(ok)]
    for n in names:
        cells = [f"{r['latency_us_p50'][n]:.1f}" if n in r["latency_us_p50"] else
                 (f"skipped: {r['skipped'][n]}" if n in r["skipped"] else "-") for r in ok]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    out.append("| c-cortex-m4: instructions per inference (QEMU -icount) | "
               + " | ".join(_num(r["cortex_m4"]["instructions_per_inference"]) for r in ok) + " |")
    for r in ok:
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in r["ratios"].items() if v is not None)
        out.append(f"\n{r['dataset_label']} ratios: {ratios or 'none computable'}.")
    return out


def size_lines() -> list[str]:
    """Why the paper's 0.17 MB is not the deployable size."""
    p = PAPER["params"]
    plain, adam = p * BYTES_PER_FLOAT32, p * BYTES_PER_FLOAT32 * (1 + ADAM_SLOTS)
    return ["", "About the paper's \"0.17 MB\": its 14,862 parameters as float32 take "
            f"{plain:,} bytes ({plain / 2**20:.3f} MiB). With the two Adam moments that a Keras file saved "
            f"after training also stores, that is {adam:,} bytes ({adam / 1e6:.3f} MB, {adam / 2**20:.3f} MiB), "
            "which matches \"0.17 MB\" read as MiB; our .keras files hold the same kind of optimizer state (row above). The deployable "
            "int8 model is the .tflite (weights, quantization parameters and graph) or the C engine's weights."]


def write_plot(rows: list[dict], path: Path) -> None:
    """Grouped bars: p50 latency per runtime, one group per data set (log scale)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ok = [r for r in rows if r["status"] == "ok"]
    names = list(dict.fromkeys(n for r in ok for n in r["latency_us_p50"]))
    fig = Figure(figsize=(9, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(ok))
    for i, r in enumerate(ok):
        xs = [j + i * width for j, n in enumerate(names) if n in r["latency_us_p50"]]
        ax.bar(xs, [r["latency_us_p50"][n] for n in names if n in r["latency_us_p50"]], width,
               label=r["dataset_label"])
    ax.set_xticks([j + width * (len(ok) - 1) / 2 for j in range(len(names))], names, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("single-image latency p50 (µs, log)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def dataset_row(dataset: str, args: argparse.Namespace) -> dict:
    """Build and bench a requested data set, or reuse its earlier <out>/<dataset>/summary.json.

    Trainings finish at different times: re-running one data set keeps the others' rows
    (each row records its own date, machine and command).
    """
    saved = args.out / dataset / "summary.json"
    if dataset not in args.datasets:
        if saved.is_file():
            return json.loads(saved.read_text())
        return summary_row({"dataset": dataset, "status": "missing", "reason": "not run yet"})
    row = summary_row(bench_one(dataset, args))
    if row["status"] == "ok":
        saved.write_text(json.dumps(row, indent=1) + "\n")
    return row


def main(argv: list[str]) -> int:
    from edgecnn.bench.machine import machine_info, versions

    args = parse_args(argv)
    command = shlex.join(["python", "benchmarks/reproduce.py", *argv])
    rows = [dataset_row(ds, args) for ds in DATASETS]
    machine = machine_info()
    date = datetime.date.today().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"command": command, "date": date, "machine": machine, "versions": versions(),
              "paper": PAPER, "datasets": rows}
    (args.out / "reproduction.json").write_text(json.dumps(record, indent=1) + "\n")
    (args.out / "reproduction.md").write_text(markdown(rows, machine, date, command))
    write_plot(rows, args.out / "reproduction_latency.png")
    print((args.out / "reproduction.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
