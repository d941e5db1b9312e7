"""`edgecnn train`: the lightweight CNN trained with the paper's two-stage recipe (or a control)."""

from edgecnn.train.run import TrainConfig, fast_kernels, train

__all__ = ["TrainConfig", "fast_kernels", "train"]
