"""The paper's two stages: the dual-input-output model, its unification, progressive unfreezing.

Stage 1 (dual): one trunk whose layers are *shared* between the two inputs
(the original batch and an augmented view of the same batch), and two Dense
heads, `head_dense_a` on the original and `head_dense_b` on the augmented view.
Loss = 0.5 * CE(original) + 0.5 * CE(augmented). Sharing the trunk means the
augmented view regularises exactly the features that will ship; separate
heads let each view fit its own decision boundary in stage 1.

Unification: the deployable model keeps the shared trunk and one Dense head
whose kernel and bias are the mean of the two heads. Since Dense is linear,
its logits are exactly the mean of the two branches' logits: an ensemble of
the two heads at the cost of one. The result has exactly the architecture's
parameter count.

Stage 2: progressive unfreezing, top block first (`head`, then `b5`, ...,
`b1`), each step a short cosine-decayed fine-tune on batches holding both the
original and the augmented view.
"""

import math

from edgecnn.model import apply, block_names, block_of, build_model, build_trunk, get_family


def build_dual(family_name: str):
    """Stage-1 model: inputs (original, augmented), outputs (out_orig, out_aug), shared trunk."""
    import keras
    from keras import layers

    family = get_family(family_name)
    trunk = build_trunk(family)
    in_a = keras.Input(family.input_shape, name="original")
    in_b = keras.Input(family.input_shape, name="augmented")
    logits_a = layers.Dense(family.num_classes, name="head_dense_a")(apply(trunk, in_a))
    logits_b = layers.Dense(family.num_classes, name="head_dense_b")(apply(trunk, in_b))
    out_a = layers.Softmax(name="out_orig")(logits_a)
    out_b = layers.Softmax(name="out_aug")(logits_b)
    return keras.Model([in_a, in_b], [out_a, out_b], name=f"{family.name}_dual")


def unify(dual, family_name: str):
    """The deployable single model from a trained dual model (trunk kept, heads averaged)."""
    single = build_model(family_name)
    for layer in single.layers:
        if layer.name == "head_dense":
            wa = dual.get_layer("head_dense_a").get_weights()
            wb = dual.get_layer("head_dense_b").get_weights()
            layer.set_weights([(a + b) / 2.0 for a, b in zip(wa, wb)])
        elif layer.weights:
            layer.set_weights(dual.get_layer(layer.name).get_weights())
    return single


def unfreeze_schedule(family_name: str, n_steps: int | None = None) -> list[list[str]]:
    """Trainable groups per step, top-down: [[head], [head, b5], ..., all].

    With fewer steps than groups, groups are released in near-equal chunks so
    the last step always trains everything.
    """
    groups = list(reversed(block_names(get_family(family_name))))
    n = len(groups) if n_steps is None else max(1, min(n_steps, len(groups)))
    return [groups[: math.ceil((i + 1) * len(groups) / n)] for i in range(n)]


def set_trainable(model, groups: list[str]) -> int:
    """Make exactly the layers of `groups` trainable; return the trainable parameter count.

    Frozen BatchNormalization layers run in inference mode (Keras 3), so their
    statistics stay fixed while they are frozen.
    """
    active = set(groups)
    for layer in model.layers:
        g = block_of(layer.name)
        layer.trainable = g in active
    return int(sum(w.numpy().size for w in model.trainable_weights))
