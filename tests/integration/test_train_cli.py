"""`edgecnn train` end to end on a small slice of the real MNIST training split."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def _train(tmp_path, *args):
    cmd = [sys.executable, "-m", "edgecnn", "train", "--dataset", "mnist", *args]
    # As a user's shell would run it: importing edgecnn in this process set the oneDNN switch to 0.
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900, env=env)


def test_two_stage_tiny_run_writes_every_output(tmp_path):
    out = tmp_path / "run"
    r = _train(tmp_path, "--limit", "512", "--epochs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("model.keras", "metrics.json", "curves.png", "confusion.png"):
        assert (out / name).stat().st_size > 0, name
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "two-stage" and m["train_images"] == 512 and m["test_images"] == 10000
    assert [s["stage"] for s in m["stages"]] == ["stage1-dual", "unify", "stage2-unfreeze"]
    steps = m["stages"][2]["steps"]
    assert [s["trainable_groups"][-1] for s in steps] == ["head", "b5", "b4", "b3", "b2", "b1"]
    assert m["params"] == 14946 and m["macs"] > 0 and 0.0 <= m["test_top1_acc_float"] <= 1.0
    assert m["command"].startswith("edgecnn train --dataset mnist")
    assert m["machine"]["tf_onednn"] is True  # training runs on TF's oneDNN kernels
    import keras

    model = keras.models.load_model(out / "model.keras")
    assert model.count_params() == m["params"] and len(model.inputs) == 1


def test_same_seed_same_metrics_and_weights(tmp_path):
    """With oneDNN kernels on (as `edgecnn train` runs) and op determinism, two runs are bit-identical."""
    runs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        r = _train(tmp_path, "--method", "baseline", "--limit", "384", "--epochs", "1", "--seed", "3",
                   "--out", str(out))
        assert r.returncode == 0, r.stderr[-2000:]
        runs.append(out)
    m0, m1 = (json.loads((o / "metrics.json").read_text()) for o in runs)
    assert m0["stages"][0]["history"] == m1["stages"][0]["history"]
    assert m0["test_top1_acc_float"] == m1["test_top1_acc_float"]
    import keras

    w0, w1 = (keras.models.load_model(o / "model.keras").get_weights() for o in runs)
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("args, needle", [
    (["--method", "nosuch"], "unknown method 'nosuch'"),
    (["--limit", "0"], "--limit 0"),
    (["--epochs", "0"], "--epochs 0"),
])
def test_bad_arguments_give_one_clear_line(tmp_path, args, needle):
    r = _train(tmp_path, *args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
