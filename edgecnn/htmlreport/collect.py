"""What the report needs beyond manifest.json, gathered at build time and by bench."""

import numpy as np

from edgecnn.console import console
from edgecnn.errors import EdgecnnError

LAYER_IMAGES = 100  # evaluation images for the per-layer insight in the report


def confusion(labels: list[str], y: np.ndarray, scores: np.ndarray, runtime: str) -> dict:
    """Counts (true class, predicted class) of argmax(scores (N, classes)) against y (N,)."""
    k = max(len(labels), int(scores.shape[1]))
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (np.asarray(y, np.int64), scores.astype(np.int32).argmax(1)), 1)
    names = list(labels) + [str(i) for i in range(len(labels), k)]
    return {"labels": names, "matrix": m.tolist(), "runtime": runtime}


def device_budget(flash_bytes: int | None, ram_bytes: int | None) -> dict:
    for flag, v in (("--device-flash", flash_bytes), ("--device-ram", ram_bytes)):
        if v is not None and v < 1:
            raise EdgecnnError(f"{flag} {v}: expected a positive number of bytes")
    return {"flash_bytes": flash_bytes, "ram_bytes": ram_bytes}


def at_build(ctx, device: dict) -> dict:
    """report.json at build time: confusion matrix (LiteRT int8), labels, per-layer insight, budget."""
    from edgecnn.insight.run import layer_insight

    data = {"labels": list(ctx.labels), "device": device, "tflite_bytes": len(ctx.tflite_int8),
            "input_range": list(ctx.input_range) if ctx.input_range else None, "confusion": None}
    if ctx.eval_y is not None and ctx.int8_out is not None:
        data["confusion"] = confusion(ctx.labels, ctx.eval_y, np.asarray(ctx.int8_out),
                                      f"LiteRT int8, default kernels, on {ctx.eval_description}")
    console.print(f"report: per-layer insight on {min(LAYER_IMAGES, len(ctx.eval_x))} evaluation images")
    x = ctx.eval_x[:LAYER_IMAGES]
    try:
        float_tflite = ctx.float_tflite
        if float_tflite is None and ctx.model is not None:
            from edgecnn.convert.quantize import to_float_tflite

            float_tflite = to_float_tflite(ctx.model)
        data["layers"] = layer_insight(ctx.out_dir / "model_int8.tflite", x, float_tflite, name=ctx.cname)
        data["layers"]["images"] = f"{len(x)} images of {ctx.eval_description}"
    except EdgecnnError as err:  # e.g. an op the C engine does not support: the page says so
        data["layers"] = None
        data["layers_unavailable"] = str(err).splitlines()[0]
    return data


def with_bench(data: dict, result: dict, device: dict) -> dict:
    """report.json after a bench run: its latency samples and rows, and the budget if given."""
    keep = {k: result[k] for k in ("created_utc", "machine", "settings", "runtimes", "latency_us_samples", "command")}
    out = {**data, "bench": keep}
    if any(v is not None for v in device.values()):
        out["device"] = device
    return out
