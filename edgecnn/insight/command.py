"""`edgecnn inspect BUILD --layers`: the per-layer table of a build directory."""

import json
from pathlib import Path

from edgecnn.errors import EdgecnnError

DEFAULT_IMAGES = 100


def load_build(build: Path) -> dict:
    """manifest.json of a build directory, with a clear error for anything else."""
    build = Path(build)
    manifest = build / "manifest.json"
    if not build.is_dir() or not manifest.is_file() or not (build / "model_int8.tflite").is_file():
        raise EdgecnnError(f"{build}: not an edgecnn build directory (expected manifest.json and model_int8.tflite "
                           "written by `edgecnn build`)")
    return json.loads(manifest.read_text())


def float_model(build: Path) -> bytes | None:
    """The float .tflite of the build (model_float.tflite, else converted from model.keras), or None."""
    if (build / "model_float.tflite").is_file():
        return (build / "model_float.tflite").read_bytes()
    if (build / "model.keras").is_file():
        from edgecnn.convert.quantize import load_keras, to_float_tflite

        return to_float_tflite(load_keras(build / "model.keras"))
    return None


def build_insight(build: Path, n_images: int = DEFAULT_IMAGES, cortex_m4: bool = False) -> dict:
    """Per-layer insight of a build on n_images evaluation images of its data set."""
    from edgecnn.insight.run import layer_insight
    from edgecnn.samples import evaluation_data

    if n_images < 1:
        raise EdgecnnError(f"--images {n_images}: expected at least 1")
    build = Path(build)
    manifest = load_build(build)
    from edgecnn.convert.feed import to_model_units

    if not manifest.get("dataset"):
        raise EdgecnnError(f"{build}: built without a data set; --layers needs its evaluation images")
    ev = evaluation_data(manifest["dataset"], full=False)
    rng = (manifest.get("input") or {}).get("range") or [0.0, 1.0]
    x = to_model_units(ev.x[:n_images], tuple(rng))
    out = layer_insight(build / "model_int8.tflite", x, float_model(build), name=manifest.get("name", "model"),
                        cortex_m4=cortex_m4)
    out["images"] = f"{len(x)} images of {ev.description}"
    return out


def _fmt(v, spec: str = ",") -> str:
    return "-" if v is None else format(v, spec)


# Short op names for the terminal table (the JSON keeps TFLite's).
SHORT_OPS = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dwconv", "FULLY_CONNECTED": "fc", "MAX_POOL_2D": "maxpool",
             "AVERAGE_POOL_2D": "avgpool", "SOFTMAX": "softmax", "MEAN": "mean", "RESHAPE": "reshape", "ADD": "add"}


def _row(r: dict, m4: bool) -> list[str]:
    place = _fmt(r["arena_offset"]) if r["output_place"] == "arena" else (r["output_place"] or "-")
    cells = [r["name"], SHORT_OPS.get(r["op"], r["op"].lower()), _fmt(r["macs"]), _fmt(r["weights_bytes"]), place,
             _fmt(r["live_arena_bytes"]), _fmt(r["snr_db"], ".1f"), _fmt(r["max_abs_err"], ".3f"),
             f"{_fmt(r['c_vs_ref_lsb'])}/{_fmt(r['tflm_vs_ref_lsb'])}"]
    kinstr = "-" if r["m4_instructions"] is None else f"{r['m4_instructions'] / 1000:,.0f}k"
    return cells + ([kinstr] if m4 else [])


def layers_command(build: Path, as_json: bool, n_images: int = DEFAULT_IMAGES, cortex_m4: bool = False) -> None:
    """Print the per-layer table (or JSON) of a build directory; fits 100 columns."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    info = build_insight(build, n_images, cortex_m4)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    console = Console()
    console.print(f"[bold]{build}[/]: per layer on {info['images']}")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    headers = ["layer", "op", "MACs", "wts B", "arena@", "live B", "SNR dB", "max err", "Δ C/TFLM"]
    for col in headers + (["M4 instr"] if cortex_m4 else []):  # thousands of Cortex-M4 instructions
        table.add_column(col, justify="left" if col in ("layer", "op") else "right", no_wrap=True)
    for r in info["layers"]:
        table.add_row(*_row(r, cortex_m4))
    console.print(table)
    console.print("arena@: output offset in the C engine's arena (unfused plan); live B: arena bytes alive during the "
                  "op; SNR, max err: int8 vs float activations (float units); Δ C/TFLM: max LSB from LiteRT's "
                  "reference kernels. " + info["notes"], style="dim")
    for d in info["first_disagreement"].values():
        if d:
            console.print(f"[red]{d['pair']}: first disagreement at op {d['name']} ({d['op']}), "
                          f"max |diff| {d['max_abs_diff_lsb']} LSB[/]")
    if not any(info["first_disagreement"].values()):
        console.print(f"C engine, TFLM and LiteRT reference kernels agree on every op within {info['tolerance_lsb']} LSB")
    worst = ", ".join(f"{w['name']} {w['snr_db']:.1f} dB" for w in info["worst_snr"])
    if worst:
        console.print(f"lowest quantization SNR: {worst}")
