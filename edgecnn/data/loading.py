"""`load` (from the cache only) and `fetch` (sources in order until one verifies, then the cache)."""

import datetime
from pathlib import Path

from edgecnn import __version__
from edgecnn.data import formats, sources
from edgecnn.data.cache import commit, read_manifest, staging, verify_cached
from edgecnn.data.registry import Dataset, get_spec
from edgecnn.data.report import Reporter
from edgecnn.errors import EdgecnnError
from edgecnn.paths import data_dir as default_data_dir


def load(name: str, data_dir: Path | None = None) -> Dataset:
    """A fetched data set from the cache, every cached file checked against its recorded sha256.

    Raises:
        DatasetNotFetched: not in the cache (`edgecnn data fetch NAME` puts it there).
        EdgecnnError: unknown name, or a corrupt cache.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    spec = get_spec(name, root)
    manifest = read_manifest(root, name)
    verify_cached(root, name, manifest)
    layout = manifest.get("layout")
    if layout not in formats.LAYOUTS:
        raise EdgecnnError(f"{root / name}: cache layout {layout!r}; expected one of {sorted(formats.LAYOUTS)}; "
                           f"run `edgecnn data fetch {name}` again")
    arrays = formats.LAYOUTS[layout](spec, root / name)
    return Dataset(name=name, label=manifest["label"], class_names=spec.class_names,
                   source=manifest["source"], checksums=dict(manifest["checksums"]),
                   notes=tuple(manifest.get("notes", ())), **arrays)


def fetch(name: str, from_: Path | None = None, data_dir: Path | None = None,
          reporter: Reporter | None = None) -> Dataset:
    """Bring a data set into the cache from the first source that verifies, and load it.

    Without `from_`, a data set already in the cache that verifies is loaded as it is.

    Args:
        name: one of NAMES.
        from_: a directory or archive to use instead of the default sources.
        data_dir: the cache (default: edgecnn.paths.data_dir()).
        reporter: progress display (silent when None).
    Raises:
        EdgecnnError: no source verified; the message lists what each source said.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    spec = get_spec(name, root)
    if spec.origin != "built-in":
        raise EdgecnnError(f"{name!r} is a data set registered with `edgecnn data add`; nothing to fetch "
                           f"(to read it again: `edgecnn data add {name} --from PATH --replace`)")
    reporter = reporter or Reporter()
    if from_ is None:
        try:
            ds = load(name, root)
            reporter.note(f"{ds.label}: already in the cache {root / name}, checksums verified")
            return ds
        except EdgecnnError:  # not fetched yet, or corrupt: fetch it again
            pass
    failures = []
    for cand in sources.candidates(spec, from_):
        try:
            with staging(root, name) as work, staging(root, name) as stage:
                path = cand.prepare(work, reporter)
                ingested = formats.ingest(spec, path, cand.source, stage, reporter)
                commit(stage, _manifest(name, cand.source, ingested), root, name)
            return load(name, root)
        except EdgecnnError as err:
            if from_ is not None:
                raise
            failures.append(f"{cand.source}: {err}")
            reporter.note(f"[yellow]{spec.label}: {cand.source} did not work: {err}")
    tried = " | ".join(failures) or "no source known"
    raise EdgecnnError(f"could not fetch {name}; tried: {tried}. To fix: {spec.hint.format(name=name)}")


def _manifest(name: str, source: str, ingested) -> dict:
    return {"name": name, "label": ingested.label, "layout": ingested.layout, "source": source,
            "checksums": ingested.checksums, "verification": ingested.verification,
            "notes": list(ingested.notes), "edgecnn_version": __version__,
            "fetched_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
