"""A read-only view of the files under a directory or inside a tar archive.

Readers look files up by relative POSIX path and read them without extracting
anything to disk, so an archive is never half-unpacked into the cache and no
member path can escape a target directory.
"""

import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from edgecnn.errors import EdgecnnError


class Tree:
    """Files of a directory or a .tar/.tar.gz/.tgz archive, keyed by relative path.

    Attributes:
        path: the directory or archive.
        files: relative path -> size in bytes, for regular files.
        dirs: relative paths of directories (explicit or implied by files).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if self.path.is_dir():
            self.files = {p.relative_to(self.path).as_posix(): p.stat().st_size
                          for p in sorted(self.path.rglob("*")) if p.is_file() or p.is_fifo()}
            self.dirs = {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_dir()}
        elif self.path.is_file() and tarfile.is_tarfile(self.path):
            self._open_tar()
        elif self.path.exists():
            raise EdgecnnError(f"{self.path}: not a directory or a tar archive; "
                               "expected a directory or a .tar/.tar.gz/.tgz archive")
        else:
            raise EdgecnnError(f"{self.path}: no such file or directory; expected a directory or a .tar.gz archive")

    def _open_tar(self) -> None:
        try:
            self._tar = tarfile.open(self.path, "r:*")
            members = self._tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as err:
            raise EdgecnnError(f"{self.path}: corrupt or truncated archive ({err})") from None
        self.files, self.dirs = {}, set()
        for m in members:
            rel = PurePosixPath(m.name).as_posix()  # also drops a leading "./"
            if m.isfile():
                self.files[rel] = m.size
                self._members[rel] = m
            elif m.isdir():
                self.dirs.add(rel)
        for rel in self.files:
            self.dirs.update(p.as_posix() for p in PurePosixPath(rel).parents if p.as_posix() != ".")

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    def __enter__(self) -> "Tree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self, rel: str) -> str:
        """A file's name for messages: the path on disk, or archive:member."""
        return str(self.path / rel) if self._tar is None else f"{self.path}:{rel}"

    def open(self, rel: str):
        """A binary file object for one file."""
        if self._tar is None:
            return open(self.path / rel, "rb")
        try:
            return self._tar.extractfile(self._members[rel])
        except (tarfile.TarError, EOFError, OSError) as err:
            raise EdgecnnError(f"{self.describe(rel)}: corrupt or truncated archive ({err})") from None

    def read(self, rel: str) -> bytes:
        """One file's bytes; a clear error when the archive ends early."""
        with self.open(rel) as f:
            try:
                data = f.read()
            except (tarfile.TarError, EOFError, OSError) as err:
                raise EdgecnnError(f"{self.describe(rel)}: corrupt or truncated archive ({err})") from None
        if self._tar is not None and len(data) != self.files[rel]:
            raise EdgecnnError(f"{self.describe(rel)}: archive member is truncated: {len(data)} of "
                               f"{self.files[rel]} bytes")
        return data

    def read_many(self, rels: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(rel, bytes) for many files, in archive order: a compressed tar is read in one pass."""
        wanted = set(rels)
        order = [r for r in self._members if r in wanted] if self._tar is not None else sorted(wanted)
        for rel in order:
            yield rel, self.read(rel)

    def find(self, basenames: Iterable[str]) -> str | None:
        """The shallowest file whose name is one of `basenames` (earlier names win at equal depth)."""
        names = list(basenames)
        hits = [(rel.count("/"), names.index(PurePosixPath(rel).name), rel)
                for rel in self.files if PurePosixPath(rel).name in names]
        return min(hits)[2] if hits else None
