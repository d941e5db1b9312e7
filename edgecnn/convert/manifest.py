"""manifest.json: what was built, from what, with which tools, and how it was verified.

No timestamps and no temporary paths go in, so that two builds from the same
inputs write the same manifest (unless an artifact it hashes cannot be
byte-identical; then the manifest says so about itself).
"""

import hashlib
import json
from importlib import metadata
from pathlib import Path

MANIFEST = "manifest.json"
# Tools whose versions decide the artifacts' bytes or their verification: key -> distributions
# that provide it (TensorFlow installs as tensorflow-cpu here).
TOOLS = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "keras": ("keras",), "ai_edge_litert": ("ai-edge-litert",),
         "tflite_micro": ("tflite-micro",), "onnx": ("onnx",), "onnxruntime": ("onnxruntime",),
         "tf2onnx": ("tf2onnx",), "numpy": ("numpy",)}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(Path(path).read_bytes())


def versions() -> dict[str, str]:
    """Installed versions of the tools (key of TOOLS -> version); a missing tool is left out."""
    out = {}
    for key, dists in TOOLS.items():
        for dist in dists:
            try:
                out[key] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def artifacts(out_dir: Path) -> dict[str, dict]:
    """Every file under out_dir except the manifest: relative POSIX path -> bytes, sha256 (sorted)."""
    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {p.relative_to(out_dir).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in files}


def merge(base: dict, extra: dict) -> dict:
    """Merge extra into base recursively (dicts merge, other values replace); returns base."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def reproducibility(files: dict[str, dict], declared: dict[str, str]) -> dict:
    """Which artifacts are byte-identical across rebuilds, and why the others are not."""
    not_same = dict(sorted(declared.items()))
    if not_same:
        not_same[MANIFEST] = f"records the sha256 of {', '.join(sorted(declared))}"
    same = [f for f in files if f not in not_same]
    if MANIFEST not in not_same:
        same.append(MANIFEST)
    return {"byte_identical": sorted(same), "not_byte_identical": not_same}


def write(out_dir: Path, manifest: dict) -> Path:
    """Write manifest.json (2-space indent, trailing newline)."""
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
