"""`edgecnn --version`: edgecnn's version and those of the runtimes it uses, for bug reports.

The versions come from the installed distributions' metadata (the same table
the build manifest records), so printing them imports none of the runtimes.
"""

import platform

from edgecnn import __version__
from edgecnn.convert.manifest import TOOLS, versions


def version_text() -> str:
    """One line per component: edgecnn, Python, then every runtime in manifest.TOOLS."""
    found = versions()
    rows = [("edgecnn", __version__), ("python", platform.python_version())]
    rows += [(key, found.get(key, "not installed")) for key in TOOLS]
    width = max(len(name) for name, _ in rows) + 1
    return "\n".join(f"{name:<{width}}{version}" for name, version in rows)
