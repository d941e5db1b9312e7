"""Shared fixtures: a user's image folder made from real images of the shipped samples."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[1] / "edgecnn" / "assets" / "samples"
USER_SIDE = 40  # the user folder's images are 40x40, a size no built-in set has


def sample(name: str) -> dict:
    with np.load(SAMPLES / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="session")
def user_folder(tmp_path_factory) -> Path:
    """<class>/<index>.png: the 300 CIFAR-10 calibration images of the shipped sample, resized to 40x40
    with Pillow's bilinear filter (class folders named after the CIFAR-10 classes)."""
    root = tmp_path_factory.mktemp("user") / "photos"
    s = sample("cifar10")
    names = [str(c) for c in s["class_names"]]
    for i, (img, label) in enumerate(zip(s["x_calib"], s["y_calib"])):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).resize((USER_SIDE, USER_SIDE), Image.Resampling.BILINEAR).save(folder / f"{i:04d}.png")
    return root


def pytest_sessionfinish(session, exitstatus):
    """EDGECNN_NO_SKIPS=1 (.ci/run sets it, having installed every tool): a skipped test fails the
    run, so a tool missing on the CI machine cannot turn its tests green by skipping them."""
    import os

    if os.environ.get("EDGECNN_NO_SKIPS") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"\nEDGECNN_NO_SKIPS=1: {len(skipped)} test(s) skipped; every tool should be installed here")
        for rep in skipped:
            reporter.write_line(f"  skipped: {rep.nodeid}: {rep.longrepr[2] if isinstance(rep.longrepr, tuple) else ''}")
        session.exitstatus = 1
