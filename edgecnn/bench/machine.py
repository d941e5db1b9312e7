"""Describe the machine and the software a benchmark ran on, for the record in its JSON."""

import os
import platform
import re
import shutil
import subprocess
from importlib import metadata

PACKAGES = ("edgecnn", "tensorflow-cpu", "keras", "ai-edge-litert", "tflite-micro", "onnxruntime",
            "onnx", "tf2onnx", "numpy")
# Toolchains whose first --version line is recorded (the C rows depend on them).
TOOLS = ("gcc", "arm-none-eabi-gcc", "qemu-system-arm")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform reports."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """CPU model, core counts, OS and Python, as a JSON-ready dict."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_usable": usable,
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "hypervisor": _hypervisor(),
        # Other processes on the same cores inflate the tails: the load says how busy the machine was.
        "load_avg_1_5_15_min": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def _hypervisor() -> str | None:
    """A VM vendor when lscpu reports one: latency on shared virtual cores is noisier."""
    if shutil.which("lscpu") is None:
        return None
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    m = re.search(r"Hypervisor vendor:\s*(.+)", out)
    return m.group(1).strip() if m else None


def versions() -> dict:
    """Installed versions of the Python packages and toolchains the runtimes use (None if absent)."""
    out: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    for tool in TOOLS:
        out[tool] = tool_version(tool)
    return out


def tool_version(tool: str) -> str | None:
    """First line of `tool --version`, or None when the tool is not on PATH."""
    if shutil.which(tool) is None:
        return None
    res = subprocess.run([tool, "--version"], capture_output=True, text=True)
    lines = (res.stdout or res.stderr).strip().splitlines()
    return lines[0] if lines else None
