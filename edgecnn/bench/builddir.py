"""Open a build directory and hand out its artifacts only after checking their sha256.

The manifest written by `edgecnn build` lists every artifact with its size and
sha256. Bench refuses to time or evaluate a file that does not match: a
benchmark of a model other than the one the manifest describes would be
reported under the wrong name.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from edgecnn.errors import EdgecnnError

DEFAULT_BUILD_DIR = Path("build") / "mnist"


class ArtifactRefused(EdgecnnError):
    """An artifact is unlisted, missing or altered: bench stops rather than time the wrong file."""


@dataclass(frozen=True)
class BuildDir:
    """A build directory whose manifest has been read; `artifact()` verifies before use."""

    path: Path
    manifest: dict

    def has(self, rel: str) -> bool:
        """True when the artifact is both listed in the manifest and present on disk."""
        return rel in self.manifest.get("artifacts", {}) and (self.path / rel).is_file()

    def artifact(self, rel: str) -> Path:
        """The path of a listed artifact whose bytes match the manifest's sha256.

        Raises ArtifactRefused when it is unlisted, missing or altered.
        """
        entry = self.manifest.get("artifacts", {}).get(rel)
        path = self.path / rel
        if entry is None:
            raise ArtifactRefused(f"{path} is not listed in {self.path / 'manifest.json'} \"artifacts\"; "
                               "bench only runs artifacts whose sha256 the manifest records")
        if not path.is_file():
            raise ArtifactRefused(f"{path} is listed in the manifest but missing; rebuild with `edgecnn build`")
        got = sha256_file(path)
        if got != entry.get("sha256"):
            raise ArtifactRefused(f"{path}: sha256 {got[:16]}... does not match the manifest's "
                               f"{str(entry.get('sha256'))[:16]}...; the file changed after `edgecnn build`, "
                               "refusing to benchmark it (rebuild)")
        return path

    def artifacts_under(self, prefix: str) -> list[str]:
        """Listed artifacts whose relative path starts with `prefix` (e.g. "c/"), sorted."""
        return sorted(k for k in self.manifest.get("artifacts", {}) if k.startswith(prefix))

    def artifact_bytes(self, rel: str) -> int:
        """Size recorded in the manifest (equals the file's size once `artifact()` passed)."""
        return int(self.manifest["artifacts"][rel]["bytes"])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


REQUIRED_KEYS = ("dataset", "input", "output", "artifacts")


def open_build(path: Path) -> BuildDir:
    """Read `<path>/manifest.json`, check the keys bench needs, and verify every listed artifact.

    Every artifact is checked up front (they are small) so that a tampered file
    stops the run before any timing starts, whichever runtimes were asked for.
    """
    path = Path(path)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        hint = " (the default build directory; run `edgecnn build` first)" if path == DEFAULT_BUILD_DIR else ""
        raise EdgecnnError(f"no manifest.json in {path}{hint}; expected a directory written by `edgecnn build`")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as err:
        raise EdgecnnError(f"{mpath} is not valid JSON ({err}); rebuild with `edgecnn build`") from None
    if "inputs" in manifest or "outputs" in manifest:
        raise EdgecnnError(f"{path}: bench does not support models with several inputs or outputs yet "
                           f"({len(manifest.get('inputs', []))} inputs, {len(manifest.get('outputs', []))} outputs); "
                           "the build verified them (manifest.json \"verification\")")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise EdgecnnError(f"{mpath} lacks {missing}; expected the keys {list(REQUIRED_KEYS)} written by `edgecnn build`")
    build = BuildDir(path, manifest)
    for rel in manifest["artifacts"]:
        if (path / rel).is_file():
            build.artifact(rel)
    return build
