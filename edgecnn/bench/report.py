"""Render a bench result (the dict from `run.bench`): Rich table, JSON, Markdown, PNG."""

import json
from pathlib import Path

from rich import box
from rich.table import Table

from edgecnn.bench.results import MEMORY_KEYS

# (Markdown header, terminal header or None, row key, format): the Markdown table has every
# column (but kB), the terminal table the ones that fit in 80 characters.
COLUMNS = (
    ("runtime", "runtime", "runtime", "{}"),
    ("artifact bytes", None, "artifact_bytes", "{:,}"),
    (None, "kB", "artifact_kb", "{:.1f}"),
    ("p50 µs", "p50 µs", "latency_us_p50", "{:.1f}"),
    ("p90 µs", None, "latency_us_p90", "{:.1f}"),
    ("p99 µs", None, "latency_us_p99", "{:.1f}"),
    ("mean µs", None, "latency_us_mean", "{:.1f}"),
    ("min µs", None, "latency_us_min", "{:.1f}"),
    ("max µs", None, "latency_us_max", "{:.1f}"),
    ("inf/s", None, "throughput_ips", "{:,.0f}"),
    ("top-1 acc", "acc", "top1_acc", "{:.2%}"),
    ("max abs diff vs LiteRT int8", "Δ ref", "max_abs_diff_vs_ref", "{}"),
    ("top-1 agreement", "agree", "top1_agreement_vs_ref", "{:.2%}"),
    ("max abs diff vs LiteRT reference kernels", "Δ refk", "max_abs_diff_vs_ref_kernels_lsb", "{} LSB"),
    ("flash bytes", None, "flash_bytes", "{:,}"),
    ("RAM bytes", None, "ram_bytes", "{:,}"),
    ("arena bytes", None, "arena_bytes", "{:,}"),
    ("weights bytes", None, "weights_bytes", "{:,}"),
    ("instructions/inference", None, "instructions_per_inference", "{:,}"),
    ("M4 cycles/inference, best", None, "cycles_per_inference_best", "{:,}"),
    ("M4 cycles/inference, estimate", None, "cycles_per_inference_estimate", "{:,}"),
    ("M4 cycles/inference, worst", None, "cycles_per_inference_worst", "{:,}"),
)
# The memory table's short terminal headers.
SHORT = {"flash_bytes": "flash B", "ram_bytes": "RAM B", "arena_bytes": "arena B", "weights_bytes": "weights B",
         "instructions_per_inference": "instr/inf", "cycles_per_inference_best": "cyc best",
         "cycles_per_inference_estimate": "cyc est", "cycles_per_inference_worst": "cyc worst"}
MEMORY_COLUMNS = (COLUMNS[0],) + tuple((h, SHORT[k], k, f) for h, _, k, f in COLUMNS if k in MEMORY_KEYS)
UNIT_TEXT = {"int8_lsb": " LSB", "probability": " prob"}
MD_COLUMNS = tuple(c for c in COLUMNS if c[0])


def cell(row: dict, key: str, fmt: str) -> str:
    """One formatted table cell; "-" when the metric does not apply."""
    value = row["artifact_bytes"] / 1000 if key == "artifact_kb" and row.get("artifact_bytes") else row.get(key)
    if value is None:
        return "-"
    if key == "max_abs_diff_vs_ref":
        unit = row.get("max_abs_diff_vs_ref_unit")
        return (f"{value:.4f}" if unit == "probability" else f"{value}") + UNIT_TEXT.get(unit, "")
    return fmt.format(value)


def rich_tables(result: dict) -> list[Table]:
    """Terminal tables: latency/accuracy per runtime that ran, memory/instructions where known, skips with why."""
    b = result["build"]
    ran = [r for r in result["runtimes"] if r["status"] == "ok"]
    main = _table(f"edgecnn bench: {b['name']} ({b['dataset_label']}); accuracy on "
                  f"{result['evaluation']['description']}", [c for c in COLUMNS if c[1]], ran)
    tables = [main]
    mem = [r for r in ran if any(r[k] is not None for _, _, k, _ in MEMORY_COLUMNS[1:])]
    if mem:
        tables.append(_table("memory and instructions", MEMORY_COLUMNS, mem))
    skipped = [r for r in result["runtimes"] if r["status"] == "skipped"]
    if skipped:
        t = Table(title="skipped", box=box.SIMPLE_HEAD, pad_edge=False)
        t.add_column("runtime", no_wrap=True)
        t.add_column("reason")
        for r in skipped:
            t.add_row(r["runtime"], r["skip_reason"])
        tables.append(t)
    return tables


def _table(title: str, columns, rows: list[dict]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for _, header, key, _ in columns:
        table.add_column(header, justify="left" if key == "runtime" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(cell(row, key, fmt) for _, _, key, fmt in columns))
    return table


def ratio_lines(result: dict) -> list[str]:
    """'name: value' lines for the ratios, saying when one could not be computed."""
    return [f"{k}: {'n/a (a runtime was skipped or absent)' if v is None else f'{v:.3f}'}"
            for k, v in result["ratios"].items()]


def write_json(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")


def markdown(result: dict) -> str:
    """A self-contained Markdown report: context, the table, the ratios, how latency was measured."""
    b, m, s, ev = result["build"], result["machine"], result["settings"], result["evaluation"]
    lines = [
        f"# edgecnn bench: {b['name']} ({b['dataset_label']})", "",
        f"- command: `{result['command']}` ({result['created_utc']})",
        f"- machine: {m['cpu_model']}, {m['cpu_cores_usable']} usable cores"
        + (f" ({m['hypervisor']} VM)" if m.get("hypervisor") else "") + f", {m['os']}, Python {m['python']}"
        + (f"; load average {m['load_avg_1_5_15_min'][0]} (1 min) at the end of the run" if m.get("load_avg_1_5_15_min") else ""),
        f"- runs: {s['runs']} single-image calls after {s['warmup']} warm-up calls, {s['threads']} thread(s)",
        f"- accuracy on: {ev['description']}{_build_match(ev)}",
        "- max |Δ| vs ref: largest absolute output difference from LiteRT int8 (int8 LSB for int8 runtimes, "
        "probability for float runtimes); top-1 agree: share of images with the same predicted class; "
        "the reference-kernel column compares int8 outputs with LiteRT's BUILTIN_REF kernels (LiteRT's default "
        "XNNPACK path rounds differently)", "",
        "| " + " | ".join(c[0] for c in MD_COLUMNS) + " |",
        "|" + "|".join(":---" if c[2] == "runtime" else "---:" for c in MD_COLUMNS) + "|",
    ]
    for row in result["runtimes"]:
        if row["status"] == "skipped":
            cells = [row["runtime"], f"skipped: {row['skip_reason']}"] + [""] * (len(MD_COLUMNS) - 2)
        else:
            cells = [cell(row, key, fmt) for _, _, key, fmt in MD_COLUMNS]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "Ratios (same run, p50 latency):", ""] + [f"- {line}" for line in ratio_lines(result)]
    lines += ["", "Latency sources:", ""] + sorted({f"- {r['runtime']}: {r['latency_source'] or 'no wall-clock latency (emulator)'}"
                                                   for r in result["runtimes"] if r["status"] == "ok"})
    return "\n".join(lines) + "\n"


def _build_match(ev: dict) -> str:
    m = ev.get("matches_build")
    if not m:
        return " (build evaluated other images: no comparison)"
    return "; equal to what `edgecnn build` measured: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in m.items())


def write_markdown(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(result))


def write_plot(result: dict, path: Path) -> None:
    """Box plots of the per-call latencies, one per timed runtime, log scale (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    samples = result["latency_us_samples"]
    names = list(samples)
    fig = Figure(figsize=(8, 0.5 * len(names) + 1.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if names:
        ax.boxplot([samples[n] for n in names], vert=False, whis=(1, 99), showfliers=True,
                   flierprops={"markersize": 2, "alpha": 0.4})
        ax.set_yticks(range(1, len(names) + 1), names)
        ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("single-image latency (µs, log scale); box: p25-p75, whiskers: p1-p99")
    b, s = result["build"], result["settings"]
    ax.set_title(f"{b['name']} ({b['dataset_label']}): {s['runs']} runs, {result['machine']['cpu_model']}", fontsize=9)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
