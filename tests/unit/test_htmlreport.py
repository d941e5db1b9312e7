"""The HTML report's pieces without a build: confusion counts, budget errors, sections, no external refs."""

import subprocess
import sys

import numpy as np
import pytest

from edgecnn import htmlreport
from edgecnn.errors import EdgecnnError
from edgecnn.htmlreport import collect, svg

MANIFEST = {"name": "m", "dataset": "mnist", "dataset_label": "MNIST", "ops": ["CONV_2D"],
            "source_model": {"params": 10, "macs": 20, "path": "m.keras", "sha256": "0" * 64},
            "input": {"shape": [1, 4, 4, 1], "dtype": "int8", "scale": 0.5, "zero_point": -128},
            "output": {"shape": [1, 3], "scale": 0.1, "zero_point": 0},
            "evaluation": {"description": "x", "float_top1_acc": 0.5, "int8_top1_acc": 0.5, "int8_drop_pp": 0.0},
            "verification": {"a": {"check": "A vs B", "max_abs_diff_lsb": 0, "top1_agreement": 1.0, "passed": True},
                             "b": {"check": "C vs D", "max_abs_diff_lsb": 3, "passed": False}},
            "c_engine": {"arena_bytes": 100, "weights_bytes": 200}, "artifacts": {"model_int8.tflite": {"bytes": 300}}}


def test_confusion_counts_every_image_once():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    scores = rng.integers(-128, 128, (50, 3)).astype(np.int8)
    c = collect.confusion(["a", "b", "c"], y, scores, "r")
    m = np.array(c["matrix"])
    assert m.sum() == 50 and np.trace(m) == int((scores.astype(int).argmax(1) == y).sum())
    assert m[:, 0].sum() == int((scores.astype(int).argmax(1) == 0).sum())


def test_budget_must_be_positive():
    with pytest.raises(EdgecnnError, match="--device-ram 0"):
        collect.device_budget(1000, 0)
    assert collect.device_budget(None, 5) == {"flash_bytes": None, "ram_bytes": 5}


def test_cli_rejects_a_bad_budget_before_building(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edgecnn", "build", "--device-flash", "-1", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--device-flash -1" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_page_has_every_section_and_says_what_is_missing(tmp_path):
    data = {"labels": ["a", "b", "c"], "device": {"flash_bytes": 1000, "ram_bytes": None},
            "confusion": collect.confusion(["a", "b", "c"], np.array([0, 1, 2]), np.eye(3, dtype=np.int8), "r")}
    page = htmlreport.write(tmp_path, MANIFEST, data)
    html = page.read_text()
    for title in ("Model card", "Verification", "Accuracy", "Per layer", "Latency", "Flash and RAM"):
        assert f"<h2>{title}</h2>" in html
    assert "Not benched yet" in html and "Not computed for this build" in html
    assert "<span class='bad'>FAIL</span>" in html and "budget 1,000 B" in html
    assert "<script" not in html and "src=" not in html and "href=\"http" not in html


def test_charts_scale_with_their_data():
    small = svg.hbars([("x", 10, svg.BLUE)], 100, "B", "t")
    big = svg.hbars([("x", 90, svg.BLUE)], 100, "B", "t")
    width = lambda s: float(s.split('<rect x="210" y="8" width="')[1].split('"')[0])  # noqa: E731
    assert width(big) == pytest.approx(9 * width(small))
    assert "<svg" in svg.boxes({"r": [1.0, 2.0, 3.0]}, "l") and "p50 2" in svg.boxes({"r": [1.0, 2.0, 3.0]}, "l")
