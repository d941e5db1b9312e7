"""Single-image latency: warm up, then time each call on its own with a monotonic clock."""

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Summary of per-call latencies in microseconds, and the throughput they imply."""

    latency_us_mean: float
    latency_us_p50: float
    latency_us_p90: float
    latency_us_p99: float
    latency_us_min: float
    latency_us_max: float
    throughput_ips: float  # inferences per second, from the mean single-image latency
    runs: int

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(latency_us: np.ndarray) -> LatencyStats:
    """Statistics of per-call latencies.

    latency_us: (runs,) float, one entry per timed call.
    """
    lat = np.asarray(latency_us, dtype=np.float64)
    if lat.ndim != 1 or lat.size == 0:
        raise ValueError(f"latencies: expected a non-empty 1-D array, got shape {lat.shape}")
    p50, p90, p99 = np.percentile(lat, [50, 90, 99])
    mean = float(lat.mean())
    return LatencyStats(
        latency_us_mean=round(mean, 3),
        latency_us_p50=round(float(p50), 3),
        latency_us_p90=round(float(p90), 3),
        latency_us_p99=round(float(p99), 3),
        latency_us_min=round(float(lat.min()), 3),
        latency_us_max=round(float(lat.max()), 3),
        throughput_ips=round(1e6 / mean, 1) if mean > 0 else float("inf"),
        runs=int(lat.size),
    )


def time_calls(fn: Callable[[np.ndarray], object], inputs: np.ndarray, runs: int, warmup: int,
               tick: Callable[[], None] | None = None) -> np.ndarray:
    """Call `fn` on one image at a time and return each call's latency in microseconds.

    inputs: (N, H, W, C) already in the runtime's input dtype; call i uses image
    i mod N, so the timed work is the same as in deployment (one image, batch 1).
    The warm-up calls are made first and not recorded (first calls pay for
    allocation, caches and lazy initialisation). `tick` is called after each
    timed call (progress bar).
    Returns (runs,) float64 microseconds.
    """
    n = len(inputs)
    for i in range(warmup):
        fn(inputs[i % n])
    out = np.empty(runs, dtype=np.float64)
    clock = time.perf_counter_ns
    for i in range(runs):
        x = inputs[i % n]
        t0 = clock()
        fn(x)
        out[i] = (clock() - t0) / 1000.0
        if tick is not None:
            tick()
    return out
