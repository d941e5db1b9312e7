"""Residual blocks (lite28r) and `edgecnn train --family`."""

from dataclasses import replace

import numpy as np
import pytest

from edgecnn.errors import EdgecnnError
from edgecnn.model import FAMILIES, Block, build_model, param_count
from edgecnn.train.stages import build_dual, unify


def test_lite28r_costs_exactly_lite28s_parameters():
    # The skip is an ADD and dropout has no weights: the same 14,946 parameters as the shipped model.
    assert build_model("lite28r").count_params() == build_model("lite28").count_params() == 14946
    assert param_count(FAMILIES["lite28r"]) == 14946


def test_residual_block_adds_its_input_to_its_output():
    import keras

    keras.utils.set_random_seed(3)
    model = build_model("lite28r")
    rng = np.random.default_rng(3)
    for layer in model.layers:  # non-trivial BN statistics, so the body's output is not ~0
        if layer.weights:
            layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) ** 2 for w in layer.get_weights()])
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in ("b3_pwrelu", "b4_pwrelu", "b4_add")])
    b3, b4_body, b4 = probe.predict(rng.random((2, 28, 28, 1), dtype=np.float32), verbose=0)
    assert b4.shape == (2, 14, 14, 56)
    # Neither term is zero, so the sum below tells a skip from a plain block or a bare identity.
    assert not np.allclose(b4, b4_body, atol=1e-4) and not np.allclose(b4, b3, atol=1e-4)
    np.testing.assert_allclose(b4, b3 + b4_body, rtol=1e-5, atol=1e-6)
    # The pool follows the add: the block's output is the pooled sum.
    assert model.get_layer("b4_pool").input.name == model.get_layer("b4_add").output.name


def test_residual_block_must_keep_its_inputs_shape():
    bad = replace(FAMILIES["lite28r"], name="bad", blocks=(Block("conv", 16), Block("ds", 24, residual=True)))
    with pytest.raises(ValueError, match="16 -> 24 channels"):
        build_model(bad)


def test_lite28r_dual_shares_the_skip_and_unifies_to_the_mean_of_the_heads():
    import keras

    keras.utils.set_random_seed(4)
    dual = build_dual("lite28r")
    assert dual.count_params() - 14946 == 650  # only the second head is extra
    rng = np.random.default_rng(4)
    for layer in dual.layers:
        if layer.weights:
            layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) ** 2 for w in layer.get_weights()])
    single = unify(dual, "lite28r")
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    pa, pb = dual.predict([x, x], verbose=0)
    logits = keras.Model(single.inputs, single.get_layer("head_dense").output).predict(x, verbose=0)
    la = keras.Model(dual.inputs, dual.get_layer("head_dense_a").output).predict([x, x], verbose=0)
    lb = keras.Model(dual.inputs, dual.get_layer("head_dense_b").output).predict([x, x], verbose=0)
    assert not np.allclose(pa, pb)
    np.testing.assert_allclose(logits, (la + lb) / 2, rtol=1e-4, atol=1e-5)


def test_lite28r_converts_to_int8_ops_the_c_engine_runs():
    from edgecnn.codegen.ops import OPS
    from edgecnn.convert.quantize import tflite_ops, to_int8_tflite

    calib = np.random.default_rng(5).random((8, 28, 28, 1), dtype=np.float32)
    ops = tflite_ops(to_int8_tflite(build_model("lite28r"), calib))
    assert ops.count("ADD") == 1
    assert set(ops) <= set(OPS), f"not in the C engine: {set(ops) - set(OPS)}"


class _Data:
    class_names = tuple(str(i) for i in range(10))


def test_family_option_picks_the_member_and_checks_the_data_shape():
    from edgecnn.train.run import TrainConfig, _check, choose

    x28 = np.zeros((4, 28, 28, 1), np.uint8)
    fam, record = choose(TrainConfig("fashion-mnist", family="lite28r"), _Data(), x28)
    assert fam is FAMILIES["lite28r"] and record is None
    with pytest.raises(EdgecnnError, match=r"takes \(28, 28, 1\) images"):
        choose(TrainConfig("cifar10", family="lite28r"), _Data(), np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(EdgecnnError, match="unknown model family 'nope'"):
        choose(TrainConfig("mnist", family="nope"), _Data(), x28)
    with pytest.raises(EdgecnnError, match="cannot be combined"):
        _check(TrainConfig("mnist", family="lite28r", max_params=9000))
