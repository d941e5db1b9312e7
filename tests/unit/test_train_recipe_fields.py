"""The recipe's optimizer fields: label smoothing (one-hot targets, smoothed loss) and the weight EMA."""

import numpy as np
import pytest

from edgecnn.train.fit import compile_model
from edgecnn.train.pipeline import make_dataset


def _tiny(k: int = 4, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((3, 3, 1))
    out = keras.layers.Softmax()(keras.layers.Dense(k)(keras.layers.Flatten()(inp)))
    return keras.Model(inp, out)


def test_one_hot_batches_match_the_sparse_labels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 3, 3, 1), dtype=np.uint8)
    y = rng.integers(0, 4, 40).astype(np.uint8)
    sparse = make_dataset(x, y, 8, 0, "plain")
    onehot = make_dataset(x, y, 8, 0, "plain", num_classes=4)
    for (xs, ys), (xo, yo) in zip(sparse.take(3), onehot.take(3)):
        np.testing.assert_array_equal(xs.numpy(), xo.numpy())
        assert yo.shape == (8, 4)
        np.testing.assert_array_equal(yo.numpy().argmax(1), ys.numpy())
        np.testing.assert_array_equal(yo.numpy().sum(1), 1.0)


@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_label_smoothing_loss_is_cross_entropy_on_smoothed_targets(ls):
    """The compiled loss equals -sum(t * log p) with t = (1 - ls) * onehot + ls / K, computed here by hand."""
    k = 4
    model = _tiny(k)
    compile_model(model, 1e-3, 10, 0, label_smoothing=ls)
    rng = np.random.default_rng(1)
    x = rng.random((16, 3, 3, 1), dtype=np.float32)
    y = rng.integers(0, k, 16)
    target = np.eye(k)[y] if ls else y
    loss = model.evaluate(x, target, batch_size=16, verbose=0)[0]
    p = model.predict(x, verbose=0).astype(np.float64)
    t = (1 - ls) * np.eye(k)[y] + ls / k
    np.testing.assert_allclose(loss, -(t * np.log(p)).sum(1).mean(), rtol=1e-4)


def test_ema_ends_on_the_averaged_weights():
    """With momentum ~1 the average stays at the weights after the first step (Keras starts the average
    there), about one Adam step (~lr) from the initial weights, while plain training moves them much further."""
    rng = np.random.default_rng(2)
    x = rng.random((64, 3, 3, 1), dtype=np.float32)
    y = rng.integers(0, 4, 64)
    moved, lr = {}, 1e-2
    for ema in (0.0, 0.99999):
        model = _tiny()
        w0 = model.get_weights()[0].copy()
        compile_model(model, lr, 40, 0, ema=ema)
        model.fit(x, y, batch_size=16, epochs=10, verbose=0)
        moved[ema] = float(np.abs(model.get_weights()[0] - w0).max())
    assert moved[0.0] > 10 * lr
    assert moved[0.99999] < 1.5 * lr


@pytest.mark.parametrize("method", ["two-stage", "baseline"])
def test_methods_run_with_smoothing_and_ema(method):
    """The real methods with smoothing on: every batch mode (dual, concat, plain) must yield one-hot targets
    (sparse labels against the categorical loss fail on shape); no loss is below the smoothed targets'
    entropy (a sanity bound); the EMA phase ends on finite weights."""
    from dataclasses import replace

    from edgecnn.console import progress
    from edgecnn.model import FAMILIES
    from edgecnn.train.methods import METHODS, Job
    from edgecnn.train.recipes import RECIPES

    ls, k = 0.3, 10
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (256, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, k, 256).astype(np.uint8)
    recipe = replace(RECIPES["mnist"], epochs=1, batch_size=64, label_smoothing=ls, ema=0.9)
    with progress() as bar:
        model, stages = METHODS[method](Job(x, y, FAMILIES["lite28"], recipe, 0, bar))
    t = np.full(k, ls / k) + np.eye(k)[0] * (1 - ls)
    floor = -(t * np.log(t)).sum()
    losses = [h["loss"] for s in stages for h in s.get("history", [])]
    losses += [h["loss"] for s in stages for st in s.get("steps", []) for h in st["history"]]
    assert losses and min(losses) >= floor - 1e-3
    assert all(np.isfinite(w).all() for w in model.get_weights())
