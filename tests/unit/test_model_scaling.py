"""The model family scaled to a data set: shapes, class counts, the parameter cap, and the choice
within device budgets measured on untrained int8 models by the C engine's code generator."""

import numpy as np
import pytest

from edgecnn.errors import EdgecnnError
from edgecnn.model import FAMILIES, build_model, param_count, scaled_family, widest_within
from edgecnn.train.budget import Budget, choose_family, measure

LITE28_LAYERS = [
    "image", "b1_conv", "b1_bn", "b1_relu", "b2_conv", "b2_bn", "b2_relu", "b2_pool",
    "b3_dw", "b3_dwbn", "b3_dwrelu", "b3_pw", "b3_pwbn", "b3_pwrelu",
    "b4_dw", "b4_dwbn", "b4_dwrelu", "b4_pw", "b4_pwbn", "b4_pwrelu", "b4_pool",
    "b5_dw", "b5_dwbn", "b5_dwrelu", "b5_pw", "b5_pwbn", "b5_pwrelu",
    "head_gap", "head_drop", "head_dense", "head_softmax",
]


def test_shipped_members_unchanged():
    """The MNIST / Fashion-MNIST model (lite28) keeps its 14,946 parameters and layer names."""
    model = build_model("lite28")
    assert model.count_params() == 14946 and param_count(FAMILIES["lite28"]) == 14946
    assert [layer.name for layer in model.layers] == LITE28_LAYERS
    assert build_model("lite32").count_params() == param_count(FAMILIES["lite32"])


CASES = [((16, 16, 1), 2, 15_000), ((28, 28, 1), 10, 15_000), ((40, 40, 3), 4, 15_000),
         ((64, 64, 3), 5, 15_000), ((96, 48, 3), 20, 15_000), ((128, 128, 1), 3, 8_000),
         ((128, 100, 3), 37, 30_000)]


@pytest.mark.parametrize("shape,classes,cap", CASES)
def test_widest_member_respects_cap_and_builds(shape, classes, cap):
    members = widest_within(shape, classes, cap)
    assert members, shape
    fam = members[-1]
    model = build_model(fam)
    assert model.count_params() == param_count(fam) <= cap
    assert model.input_shape == (None, *shape) and model.output_shape == (None, classes)
    # It is the widest: the next multiplier up would break the cap.
    wider = [f for f in widest_within(shape, classes, 10**9) if param_count(f) > param_count(fam)]
    assert wider and param_count(wider[0]) > cap
    # Strides and pools bring every input to lite28's final resolution (7x7 at 28 px): at most 10x10.
    final = model.get_layer("head_gap").input.shape
    assert 2 <= max(final[1:3]) <= 10 and min(final[1:3]) >= 1, final


def test_out_of_range_inputs_are_refused():
    with pytest.raises(EdgecnnError, match=r"input 12x12x1: the model family takes 16\.\.128 pixels a side"):
        scaled_family((12, 12, 1), 3, 1.0)
    with pytest.raises(EdgecnnError, match=r"input 200x200x3.*--size HxW"):
        scaled_family((200, 200, 3), 3, 1.0)
    with pytest.raises(EdgecnnError, match=r"input 32x32x4"):
        scaled_family((32, 32, 4), 3, 1.0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (8, 40, 40, 3), dtype=np.uint8)


def test_budgets_choose_a_smaller_member(images):
    free, measured_free = choose_family((40, 40, 3), 4, Budget(15_000), images)
    assert len(measured_free) == 1 and free.params <= 15_000
    arena_cap = free.arena_bytes // 2
    tight, measured = choose_family((40, 40, 3), 4, Budget(15_000, max_arena_bytes=arena_cap), images)
    assert tight.arena_bytes <= arena_cap < free.arena_bytes and tight.params < free.params
    # The widest that fits: every measured member wider than the choice exceeds the cap.
    assert all(not m.fits for m in measured if m.params > tight.params)
    # The figures are the C engine's for this member, measured again from scratch.
    again = measure(tight.family, images, Budget(15_000))
    assert (again.arena_bytes, again.macs) == (tight.arena_bytes, tight.macs)
    macs_cap = free.macs // 3
    by_macs, _ = choose_family((40, 40, 3), 4, Budget(15_000, max_macs=macs_cap), images)
    assert by_macs.macs <= macs_cap and by_macs.params < free.params


def test_nothing_fits_is_a_clear_error(images):
    with pytest.raises(EdgecnnError, match=r"no member of the model family fits the budget: the smallest measured, "
                                           r"lite-40x40x3-k4-d\d-.*needs \d+ B of arena"):
        choose_family((40, 40, 3), 4, Budget(15_000, max_arena_bytes=500), images)
    with pytest.raises(EdgecnnError, match=r"at most 100 parameters \(the narrowest has \d+\); raise --max-params"):
        choose_family((40, 40, 3), 4, Budget(100), images)
    with pytest.raises(EdgecnnError, match=r"--max-arena 0: expected a positive whole number"):
        choose_family((40, 40, 3), 4, Budget(15_000, max_arena_bytes=0), images)


def test_two_stage_models_of_a_scaled_member():
    """The dual model and its unification work for a member with an extra pooled stage (6 blocks)."""
    from edgecnn.train.stages import build_dual, unfreeze_schedule, unify

    fam = widest_within((128, 96, 3), 5, 15_000)[-1]
    assert len(fam.blocks) == 6
    dual = build_dual(fam)
    assert dual.output_shape == [(None, 5), (None, 5)]
    single = unify(dual, fam)
    assert single.count_params() == param_count(fam)
    assert unfreeze_schedule(fam)[1] == ["head", "b6"]
