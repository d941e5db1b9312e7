"""`edgecnn train`: the lightweight CNN trained with the paper's two-stage recipe (or a control)."""

from edgecnn.train.run import TrainConfig, train

__all__ = ["TrainConfig", "train"]
