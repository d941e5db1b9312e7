"""The CNN family, the dual model, unification and progressive unfreezing."""

import numpy as np
import pytest

from edgecnn.model import FAMILIES, block_names, block_of, build_model
from edgecnn.train.stages import build_dual, set_trainable, unfreeze_schedule, unify


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_member_respects_its_parameter_cap_and_shapes(name):
    fam = FAMILIES[name]
    model = build_model(name)
    assert model.count_params() <= fam.max_params
    # Aim near the paper's size: within 10% of the cap, not a toy.
    assert model.count_params() >= 0.9 * fam.max_params
    assert tuple(model.input_shape[1:]) == fam.input_shape
    assert tuple(model.output_shape[1:]) == (10,)
    x = np.random.default_rng(0).random((3, *fam.input_shape), dtype=np.float32)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_every_layer_belongs_to_a_named_group():
    model = build_model("lite28")
    groups = {block_of(layer.name) for layer in model.layers[1:]}
    assert groups == set(block_names(FAMILIES["lite28"]))


def test_dual_model_has_two_inputs_two_outputs_and_only_one_extra_head():
    dual = build_dual("lite28")
    single = build_model("lite28")
    assert len(dual.inputs) == 2 and len(dual.outputs) == 2
    # The trunk is shared: the only extra parameters are the second Dense head.
    assert dual.count_params() - single.count_params() == single.get_layer("head_dense").count_params()


def _logits_model(model, layer):
    import keras

    return keras.Model(model.inputs, model.get_layer(layer).output)


def test_unification_keeps_trunk_and_outputs_the_mean_of_the_branch_logits():
    import keras

    keras.utils.set_random_seed(1)
    dual = build_dual("lite28")
    rng = np.random.default_rng(1)
    # Give the two heads and the BN statistics distinct, non-trivial values.
    for layer in dual.layers:
        if layer.weights:
            # Squared noise keeps BN variances positive.
            layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) ** 2 for w in layer.get_weights()])
    single = unify(dual, "lite28")
    assert single.count_params() == build_model("lite28").count_params()
    x = rng.random((4, 28, 28, 1), dtype=np.float32)
    la = _logits_model(dual, "head_dense_a").predict([x, x], verbose=0)
    lb = _logits_model(dual, "head_dense_b").predict([x, x], verbose=0)
    lu = _logits_model(single, "head_dense").predict(x, verbose=0)
    assert not np.allclose(la, lb)
    np.testing.assert_allclose(lu, (la + lb) / 2, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(single.get_layer("b3_pw").get_weights()[0], dual.get_layer("b3_pw").get_weights()[0])


def test_unfreezing_schedule_goes_top_down_and_ends_with_everything():
    sched = unfreeze_schedule("lite28")
    assert sched == [["head"], ["head", "b5"], ["head", "b5", "b4"], ["head", "b5", "b4", "b3"],
                     ["head", "b5", "b4", "b3", "b2"], ["head", "b5", "b4", "b3", "b2", "b1"]]
    assert unfreeze_schedule("lite28", 2) == [["head", "b5", "b4"], ["head", "b5", "b4", "b3", "b2", "b1"]]


def test_set_trainable_exposes_exactly_the_chosen_groups():
    model = build_model("lite28")
    counts = []
    for groups in unfreeze_schedule("lite28"):
        n = set_trainable(model, groups)
        trainable_layers = {w.path.split("/")[0] for w in model.trainable_weights}
        assert {block_of(name) for name in trainable_layers} == set(groups)
        counts.append(n)
    assert counts == sorted(counts) and counts[0] == 650
    assert counts[-1] == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
