"""edgecnn: lightweight CNNs from training to microcontrollers and phones.

Importing the package stays cheap: TensorFlow and the runtimes are imported
inside the stage functions that need them, never here.
"""

import os

__version__ = "0.1.0"

# Quiet TensorFlow before any stage imports it; users can still override.
# TF prints a notice when its oneDNN kernels are on that TF_CPP_MIN_LOG_LEVEL cannot silence,
# so they are off by default; training turns them back on (edgecnn.train.fast_kernels).
USER_ONEDNN = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
