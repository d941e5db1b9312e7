"""Silence the C++ chatter of the TFLite converter, tf2onnx and TFLM while they work.

They print straight to file descriptors 1 and 2, not through Python. Inside
`quiet()` those descriptors point to a temporary file, while `sys.stdout` /
`sys.stderr` are re-opened on the original terminal, so Python output (Rich
progress bars, messages) still shows. On an exception the last captured
lines are attached to it as a note, so nothing useful is lost.
"""

import os
import sys
import tempfile
import warnings
from contextlib import contextmanager


@contextmanager
def quiet():
    """Send C-level writes to fds 1/2 into a buffer for the duration of the block; Python output stays."""
    sys.stdout.flush()
    sys.stderr.flush()
    py_out, py_err = sys.stdout, sys.stderr
    saved = [os.dup(1), os.dup(2)]
    term_out = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    term_err = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        sys.stdout, sys.stderr = term_out, term_err
        try:
            yield
        except BaseException as err:
            sink.seek(0)
            tail = sink.read().decode(errors="replace").strip().splitlines()[-5:]
            if tail:
                err.add_note("captured output:\n" + "\n".join(tail))
            raise
        finally:
            term_out.flush()
            term_err.flush()
            sys.stdout, sys.stderr = py_out, py_err
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            term_out.close()
            term_err.close()
