"""The values a bench run produces: one row per runtime, the agreement with the reference, the ratios.

Every row carries the same keys (None where a metric does not apply), so JSON
readers never have to test for a key's presence.
"""

from dataclasses import dataclass, field

import numpy as np

from edgecnn.bench.base import dequantize
from edgecnn.bench.timing import LatencyStats

LATENCY_KEYS = tuple(LatencyStats.__dataclass_fields__)
AGREEMENT_KEYS = ("agreement_reference", "max_abs_diff_vs_ref", "max_abs_diff_vs_ref_unit", "top1_agreement_vs_ref",
                  # int8 rows only, when litert-int8-ref ran
                  "max_abs_diff_vs_ref_kernels_lsb", "top1_agreement_vs_ref_kernels")
MEMORY_KEYS = ("flash_bytes", "ram_bytes", "arena_bytes", "weights_bytes", "instructions_per_inference",
               "cycles_per_inference_best", "cycles_per_inference_estimate", "cycles_per_inference_worst",
               # the part of the worst case charged for possibly unaligned loads/stores (edgecnn.codegen.cycles)
               "cycles_per_inference_worst_unaligned_allowance")
MCU_KEYS = ("mcu_images_checked", "mcu_output_mismatches_vs_c_host", "mcu_compiler_opt")
ROW_KEYS = ("runtime", "status", "skip_reason", "description", "precision", "artifact", "artifact_bytes",
            *LATENCY_KEYS, "latency_source", "top1_acc", "n_images", *AGREEMENT_KEYS, *MEMORY_KEYS, *MCU_KEYS)


@dataclass
class RuntimeResult:
    """What one runtime measured; `outputs` (N, classes) and `latency_us` (runs,) stay out of the row."""

    runtime: str
    description: str
    precision: str
    skip_reason: str | None = None
    artifact: str | None = None
    artifact_bytes: int | None = None
    latency: LatencyStats | None = None
    latency_source: str | None = None
    latency_us: np.ndarray | None = None
    outputs: np.ndarray | None = None
    top1_acc: float | None = None
    n_images: int | None = None
    agreement: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.skip_reason is None

    def row(self) -> dict:
        """A flat dict with every key in ROW_KEYS."""
        row = dict.fromkeys(ROW_KEYS)
        row.update(runtime=self.runtime, status="ok" if self.ok else "skipped", skip_reason=self.skip_reason,
                   description=self.description, precision=self.precision, artifact=self.artifact,
                   artifact_bytes=self.artifact_bytes, latency_source=self.latency_source,
                   top1_acc=self.top1_acc, n_images=self.n_images)
        if self.latency is not None:
            row.update(self.latency.as_dict())
        row.update(self.agreement)
        row.update({k: v for k, v in self.extra.items() if k in MEMORY_KEYS + MCU_KEYS})
        return row


def agreement(res: RuntimeResult, ref: np.ndarray, out_quant: dict, ref_name: str) -> dict:
    """Compare a runtime's outputs with the reference int8 outputs.

    res.outputs: (N, classes); int8 runtimes are compared in int8 LSB, float
    runtimes in probability against the dequantized reference.
    ref: (N, classes) int8 from the reference runtime.
    """
    out = res.outputs
    if res.precision == "int8":
        diff = np.abs(out.astype(np.int32) - ref.astype(np.int32)).max()
        unit, value = "int8_lsb", int(diff)
    else:
        diff = np.abs(out.astype(np.float64) - dequantize(ref, out_quant)).max()
        unit, value = "probability", round(float(diff), 6)
    top1 = float(np.mean(out.argmax(axis=1) == ref.argmax(axis=1)))
    return {"agreement_reference": ref_name, "max_abs_diff_vs_ref": value, "max_abs_diff_vs_ref_unit": unit,
            "top1_agreement_vs_ref": round(top1, 6)}


def agreement_with_ref_kernels(res: RuntimeResult, ref_kernels: np.ndarray) -> dict:
    """int8 outputs vs LiteRT's reference kernels (BUILTIN_REF), the arithmetic TFLM and the C engine implement.

    The default LiteRT int8 path (XNNPACK) rounds differently, so a runtime can
    match the reference kernels and still differ from the main reference by several LSB.
    res.outputs, ref_kernels: (N, classes) int8. Empty for float runtimes.
    """
    if res.precision != "int8" or res.outputs is None:
        return {}
    diff = np.abs(res.outputs.astype(np.int32) - ref_kernels.astype(np.int32)).max()
    top1 = float(np.mean(res.outputs.argmax(axis=1) == ref_kernels.argmax(axis=1)))
    return {"max_abs_diff_vs_ref_kernels_lsb": int(diff), "top1_agreement_vs_ref_kernels": round(top1, 6)}


# Ratios the issue asks for: (key, numerator runtime, denominator runtime), on the p50 latency.
LATENCY_RATIOS = (
    ("c_host_over_litert_int8_latency_p50", "c-host", "litert-int8"),
    ("onnxruntime_int8_over_litert_int8_latency_p50", "onnxruntime-int8", "litert-int8"),
    ("tflm_over_c_host_latency_p50", "tflm", "c-host"),
)


def ratios(results: list[RuntimeResult], manifest: dict) -> dict:
    """Latency ratios from this run, and the C engine's arena over TFLM's measured arena (None when missing)."""
    p50 = {r.runtime: r.latency.latency_us_p50 for r in results if r.latency is not None}
    out = {}
    for key, num, den in LATENCY_RATIOS:
        out[key] = round(p50[num] / p50[den], 3) if num in p50 and den in p50 and p50[den] > 0 else None
    engine = (manifest.get("c_engine") or {}).get("arena_bytes")
    tflm = (manifest.get("tflm") or {}).get("arena_bytes_measured")
    out["c_engine_arena_over_tflm_arena"] = round(engine / tflm, 3) if engine and tflm else None
    return out
