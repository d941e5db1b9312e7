"""The one exception type that the CLI turns into a one-line message."""


class EdgecnnError(Exception):
    """A user-facing error: bad input, missing file, unavailable tool.

    The message says what was received and what was expected. The CLI prints
    it on one line and exits with status 2; `--debug` shows the traceback.
    """


class DatasetNotFetched(EdgecnnError):
    """The data set is not in the cache yet (`edgecnn data fetch NAME` puts it there)."""


class TargetCannotRun(EdgecnnError):
    """The runtime a build target needs cannot run this model (it aborts or refuses it).

    Not a failed check: the build records the target under "failed_targets",
    removes what it wrote, and builds the other targets.
    """
