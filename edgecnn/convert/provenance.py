"""How a build records its command and source model without recording where it ran.

The manifest and the provenance comment of every generated file name the
command and the source model. Absolute paths there would make two builds of
the same model into different directories differ, so each path is recorded
as (PATHS_NOTE): relative to the build directory when it lies inside it
(`--out` itself becomes "."), as `edgecnn/...` when it is a file shipped in
the package, and otherwise by its file name only. The model's sha256, which
is recorded beside it, identifies the file.
"""

import shlex
from pathlib import Path

from edgecnn.paths import PACKAGE_DIR

# The `edgecnn build` options whose values are paths.
PATH_OPTIONS = ("--model", "--data", "--out")
PATHS_NOTE = ("paths in `command`, `source_model` and `data` are relative to this build directory ('.' is --out), "
              "edgecnn/... for files shipped in the package, else file names only")


def recorded_path(path: Path, out_dir: Path) -> str:
    """`path` as the manifest records it (see the module docstring); out_dir is the final --out."""
    p, out = Path(path).resolve(), Path(out_dir).resolve()
    if p == out or out in p.parents:
        return p.relative_to(out).as_posix()
    if PACKAGE_DIR in p.parents:
        return (Path("edgecnn") / p.relative_to(PACKAGE_DIR)).as_posix()
    return p.name


def recorded_command(argv: list[str], out_dir: Path) -> str:
    """`edgecnn <argv>` with every PATH_OPTIONS value (`--out X` or `--out=X`) passed through recorded_path."""
    args: list[str] = []
    rest = iter(argv)
    for arg in rest:
        opt, eq, value = arg.partition("=")
        if opt in PATH_OPTIONS and eq:
            args.append(f"{opt}={recorded_path(Path(value), out_dir)}")
            continue
        args.append(arg)
        if arg in PATH_OPTIONS:
            value = next(rest, None)
            if value is not None:
                args.append(recorded_path(Path(value), out_dir))
    return shlex.join(["edgecnn", *args])
