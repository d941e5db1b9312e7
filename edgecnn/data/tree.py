"""A read-only view of the files under a directory or inside a tar or zip archive.

Readers look files up by relative POSIX path and read them without extracting
anything to disk, so an archive is never half-unpacked into the cache and no
member path can escape a target directory.
"""

import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from edgecnn.errors import EdgecnnError


# Folders that archivers add beside the content (macOS Finder's resource forks).
_ARCHIVE_JUNK = ("__MACOSX/",)
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, RuntimeError)


class Tree:
    """Files of a directory or a .tar/.tar.gz/.tgz/.zip archive, keyed by relative path.

    Attributes:
        path: the directory or archive.
        files: relative path -> size in bytes, for regular files.
        dirs: relative paths of directories (explicit or implied by files).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._tar: tarfile.TarFile | None = None
        self._zip: zipfile.ZipFile | None = None
        self._members: dict = {}  # rel -> TarInfo or ZipInfo
        if self.path.is_dir():
            self.files = {p.relative_to(self.path).as_posix(): p.stat().st_size
                          for p in sorted(self.path.rglob("*")) if p.is_file() or p.is_fifo()}
            self.dirs = {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_dir()}
        elif self.path.is_file() and tarfile.is_tarfile(self.path):
            self._open_tar()
        elif self.path.is_file() and zipfile.is_zipfile(self.path):
            self._open_zip()
        elif self.path.is_file() and self.path.name.lower().endswith(_ARCHIVE_SUFFIXES):
            raise EdgecnnError(f"{self.path}: corrupt or truncated archive (no readable tar or zip structure)")
        elif self.path.exists():
            raise EdgecnnError(f"{self.path}: not a directory, a tar or a zip archive; "
                               "expected a directory or a .tar/.tar.gz/.tgz/.zip archive")
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
        self._add_parents()

    def _open_zip(self) -> None:
        try:
            self._zip = zipfile.ZipFile(self.path)
            members = self._zip.infolist()
        except _ZIP_ERRORS as err:
            raise EdgecnnError(f"{self.path}: corrupt or truncated zip archive ({err})") from None
        self.files, self.dirs = {}, set()
        for m in members:
            rel = PurePosixPath(m.filename).as_posix()
            if rel.startswith(_ARCHIVE_JUNK):
                continue
            if m.is_dir():
                self.dirs.add(rel.rstrip("/"))
            else:
                self.files[rel] = m.file_size
                self._members[rel] = m
        self._add_parents()

    def _add_parents(self) -> None:
        for rel in self.files:
            self.dirs.update(p.as_posix() for p in PurePosixPath(rel).parents if p.as_posix() != ".")

    @property
    def is_archive(self) -> bool:
        return self._tar is not None or self._zip is not None

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> "Tree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self, rel: str) -> str:
        """A file's name for messages: the path on disk, or archive:member."""
        return f"{self.path}:{rel}" if self.is_archive else str(self.path / rel)

    def open(self, rel: str):
        """A binary file object for one file."""
        if self._zip is not None:
            try:
                return self._zip.open(self._members[rel])
            except _ZIP_ERRORS as err:
                raise EdgecnnError(f"{self.describe(rel)}: corrupt or truncated zip archive ({err})") from None
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
            except (tarfile.TarError, *_ZIP_ERRORS) as err:
                raise EdgecnnError(f"{self.describe(rel)}: corrupt or truncated archive ({err})") from None
        if self.is_archive and len(data) != self.files[rel]:
            raise EdgecnnError(f"{self.describe(rel)}: archive member is truncated: {len(data)} of "
                               f"{self.files[rel]} bytes")
        return data

    def read_many(self, rels: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(rel, bytes) for many files, in archive order: a compressed tar is read in one pass."""
        wanted = set(rels)
        order = [r for r in self._members if r in wanted] if self.is_archive else sorted(wanted)
        for rel in order:
            yield rel, self.read(rel)

    def find(self, basenames: Iterable[str]) -> str | None:
        """The shallowest file whose name is one of `basenames` (earlier names win at equal depth)."""
        names = list(basenames)
        hits = [(rel.count("/"), names.index(PurePosixPath(rel).name), rel)
                for rel in self.files if PurePosixPath(rel).name in names]
        return min(hits)[2] if hits else None
