"""The data set cache: atomic writes, checksums and the per-data-set manifest.

Layout: `<data_dir>/<name>/` holds the cached files and `manifest.json`
(label, source, checksums of the originals, sha256 of every cached file).
A fetch builds everything in `<data_dir>/.staging-<name>-<pid>-<random>/`,
verifies it, writes the manifest last and only then renames the directory
into place, so an interrupted fetch leaves nothing that `load` would accept.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edgecnn.errors import DatasetNotFetched, EdgecnnError

MANIFEST = "manifest.json"
STAGING_PREFIX = ".staging-"
_CHUNK = 1 << 20


class ChecksumMismatch(EdgecnnError):
    """A file's checksum differs from the published one."""

    def __init__(self, what: str, expected: str, actual: str, source: str):
        super().__init__(f"checksum mismatch for {what} from {source}: expected {expected}, got {actual}")


def new_hash(spec: str):
    """A hashlib object for "md5:<hex>"/"sha256:<hex>" (or a bare algorithm name)."""
    return hashlib.new(spec.split(":", 1)[0])


def digest_of(h) -> str:
    return f"{h.name}:{h.hexdigest()}"


def file_digest(path: Path, algo: str = "sha256", on_chunk=None) -> str:
    """ "algo:<hex>" of a file, read in chunks (`on_chunk(n_bytes)` reports progress)."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
            if on_chunk:
                on_chunk(len(chunk))
    return digest_of(h)


def write_verified(path: Path, chunks: Iterable[bytes], expected: str | None, what: str, source: str,
                   on_chunk=None) -> str:
    """Stream `chunks` to `<path>.part`, hashing; rename to `path` only if the digest matches.

    Args:
        expected: "md5:<hex>"/"sha256:<hex>" to check, or None to only compute a sha256.
        what, source: named in a mismatch error.
        on_chunk: called with each chunk's length (progress).
    Returns:
        the digest, in the algorithm of `expected` (sha256 when None).
    """
    h = new_hash(expected or "sha256")
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                h.update(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
        actual = digest_of(h)
        if expected is not None and actual != expected:
            raise ChecksumMismatch(what, expected, actual, source)
        os.replace(part, path)
        return actual
    finally:
        part.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(root: Path, name: str) -> None:
    """Remove staging directories of `name` left by fetches that were killed."""
    for stage in root.glob(f"{STAGING_PREFIX}{name}-*"):
        pid = stage.name[len(STAGING_PREFIX) + len(name) + 1:].split("-", 1)[0]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def staging(root: Path, name: str) -> Iterator[Path]:
    """A fresh staging directory inside the cache, removed on exit unless committed."""
    root.mkdir(parents=True, exist_ok=True)
    clean_stale(root, name)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-{os.getpid()}-", dir=root))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def commit(stage: Path, manifest: dict, root: Path, name: str) -> Path:
    """Record sha256 of every staged file in the manifest, write it last, move the directory into place."""
    files = sorted(p.name for p in stage.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = {**manifest, "cache_files": {f: file_digest(stage / f) for f in files}}
    tmp = stage / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, stage / MANIFEST)
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp made it private; the cache is ordinary user data
    target = root / name
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-{os.getpid()}-old-", dir=root))
        os.replace(target, old / name)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def read_manifest(root: Path, name: str) -> dict:
    """The manifest of a cached data set; DatasetNotFetched when there is none."""
    path = root / name / MANIFEST
    if not path.is_file():
        raise DatasetNotFetched(f"data set {name!r} is not in the cache {root}; run `edgecnn data fetch {name}`")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as err:
        raise EdgecnnError(f"{path}: unreadable manifest ({err}); run `edgecnn data fetch {name}` again") from None


def verify_cached(root: Path, name: str, manifest: dict) -> None:
    """Check every cached file against the sha256 recorded at fetch time."""
    for fname, expected in manifest.get("cache_files", {}).items():
        path = root / name / fname
        if not path.is_file():
            raise EdgecnnError(f"cached file {path} is missing; run `edgecnn data fetch {name}` again")
        actual = file_digest(path, expected.split(":", 1)[0])
        if actual != expected:
            raise EdgecnnError(f"cached file {path} is corrupt: expected {expected}, got {actual}; "
                               f"run `edgecnn data fetch {name}` again")
