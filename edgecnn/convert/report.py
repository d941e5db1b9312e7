"""What `edgecnn build` prints: accuracies (with a loud warning on a large int8 drop) and a summary."""

from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.panel import Panel
from rich.table import Table

from edgecnn.console import console, progress


@contextmanager
def task(label: str, total: int):
    """A transient progress bar on a terminal; yields advance(n=1). Off a terminal (CI logs) it shows
    nothing: Rich would leave an empty line per finished transient bar."""
    if not console.is_terminal:
        yield lambda n=1: None
        return
    with progress(transient=True) as p:
        t = p.add_task(label, total=total, status="")
        yield lambda n=1: p.advance(t, n)


def accuracy(dataset: str | None, ev, float_out: np.ndarray | None, int8_out: np.ndarray, max_drop_pp: float) -> dict:
    """Float and int8 top-1 on the evaluation data; prints them and warns when int8 loses > max_drop_pp.

    ev: a Feed or EvalData (y None: accuracy unknown); float_out (None without a float model),
    int8_out: (N, K) outputs on ev.x. Returns the manifest's "evaluation" entry.
    """
    base = {"dataset": dataset, "is_sample": bool(ev.is_sample), "description": ev.description,
            "n_images": int(len(ev.x) if ev.y is None else len(ev.y))}
    if ev.y is None:
        console.print(f"[yellow]accuracy unknown: evaluated on {ev.description} without labels; "
                      "verification still compares every runtime on them[/]")
        return base | {"accuracy": "unknown", "float_top1_acc": None, "int8_top1_acc": None}
    int8_acc = float((int8_out.argmax(1) == ev.y).mean())
    if float_out is None:
        console.print(f"top-1 on {ev.description}: int8 [bold]{int8_acc:.4f}[/] (LiteRT); no float model")
        return base | {"float_top1_acc": None, "int8_top1_acc": int8_acc}
    float_acc = float((float_out.argmax(1) == ev.y).mean())
    drop_pp = round((float_acc - int8_acc) * 100, 4)
    console.print(f"top-1 on {ev.description}: float [bold]{float_acc:.4f}[/], "
                  f"int8 [bold]{int8_acc:.4f}[/] (LiteRT), drop {drop_pp:+.2f} pp")
    if ev.is_sample:
        console.print("[yellow]accuracy measured on the shipped sample only: run `edgecnn data fetch "
                      f"{dataset}` for the full test set[/]")
    if drop_pp > max_drop_pp:
        style = "red" if drop_pp > 2 * max_drop_pp else "yellow"
        console.print(Panel(
            f"int8 top-1 {int8_acc:.4f} is {drop_pp:.2f} pp below float {float_acc:.4f} "
            f"(threshold --max-int8-drop {max_drop_pp} pp).\nTry more calibration images "
            "(--calibration-samples) or quantization-aware training; the artifacts were still built.",
            title="int8 accuracy drop", border_style=style, style=style))
    return base | {"float_top1_acc": float_acc, "int8_top1_acc": int8_acc,
                   "int8_drop_pp": drop_pp, "max_int8_drop_pp": max_drop_pp,
                   "int8_drop_exceeds_threshold": bool(drop_pp > max_drop_pp)}


def _check_row(entry: dict) -> str:
    if "max_abs_diff_lsb" in entry:
        bound = f" (<= {entry['tolerance_lsb']})" if entry.get("passed") is not None else ""
        if "outputs_beyond_tolerance" in entry:
            bound = (f" ({entry['outputs_beyond_tolerance']} beyond {entry['tolerance_lsb']} LSB, "
                     f"<= {entry['allowed_fraction_beyond_tolerance']:.1%} allowed)")
        differ = (f", {entry['outputs_differing']} of {entry['n_outputs']} outputs differ"
                  if "n_outputs" in entry else "")
        return f"max diff {entry['max_abs_diff_lsb']} LSB{bound}{differ}, top-1 agreement {entry['top1_agreement']:.4f}"
    if "max_abs_diff" in entry:
        return f"max diff {entry['max_abs_diff']:.2e} (<= {entry['tolerance']:.0e}), top-1 agreement {entry['top1_agreement']:.4f}"
    if "bytes_parsed" in entry:
        return f"{entry['bytes_parsed']} bytes parsed back, identical"
    return ""


def summary(out: Path, manifest: dict, seconds: float) -> None:
    """Checks, arena and artifacts of a finished build."""
    checks = Table(title="verification", show_header=False, box=None)
    for key, entry in manifest.get("verification", {}).items():
        if isinstance(entry, dict) and "check" in entry:
            mark = "[green]ok[/]" if entry.get("passed") else "[cyan]info[/]"
            checks.add_row(mark, entry["check"], _check_row(entry))
    compile_entry = manifest.get("verification", {}).get("tflm_compile", {})
    for key in ("host_gxx", "cortex_m4_gxx"):
        value = compile_entry.get(key)
        if isinstance(value, dict):
            checks.add_row("[green]ok[/]", f"{key}: model_data.cc, model_settings.h",
                           f"-Werror clean; array in {value['section']}, align {value['section_align_bytes']}")
        elif value:
            checks.add_row("[yellow]--[/]", key, value)
    console.print(checks)
    tflm = manifest.get("tflm")
    if tflm:
        console.print(f"TFLM arena: {tflm['arena_bytes_measured']} bytes measured + {tflm['arena_margin_bytes']} "
                      f"margin = kTensorArenaSize {tflm['tensor_arena_size']}")
    files = Table(title=f"{out}", show_header=True, box=None)
    files.add_column("artifact")
    files.add_column("bytes", justify="right")
    for rel, entry in manifest["artifacts"].items():
        files.add_row(rel, str(entry["bytes"]))
    console.print(files)
    for what, why in manifest.get("skipped", {}).items():
        console.print(f"[cyan]skipped {what}:[/] {why}")
    ev = manifest.get("evaluation", {})
    if ev.get("accuracy") == "unknown":
        console.print(f"[yellow]accuracy unknown[/] (verified on {ev.get('description')})")
    built = [t for t in manifest["targets"] if t not in manifest.get("failed_targets", {})]
    console.print(f"[bold green]built {', '.join(built)} in {seconds:.1f} s[/] -> {out}")
