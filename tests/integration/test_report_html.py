"""BUILD/report.html in a real browser: headless Chromium renders it with no console error and no
network request, every section present, the plots drawn (screenshot pixels), printable (PDF).

The page comes from the real pipeline: `edgecnn build --target c` on the shipped MNIST model
(evaluation on the shipped sample), then `edgecnn bench` on two runtimes, which updates it.
A control page with a script error and a remote image proves the harness sees both.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from edgecnn.paths import shipped_model_dir

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--disable-domain-reliability", "--hide-scrollbars"]
SECTIONS = ("Model card", "Verification", "Accuracy", "Per layer", "Latency", "Flash and RAM")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed (scripts/setup.sh installs the Debian package chromium)")


class _Cdp:
    """Chrome DevTools Protocol over --remote-debugging-pipe (fd 3 in, fd 4 out; messages end with NUL)."""

    def __init__(self, tmp_path, width: int, height: int):
        r_in, self._w = os.pipe()  # we write commands -> browser reads fd 3
        self._r, w_out = os.pipe()  # browser writes fd 4 -> we read
        cmd = [_chromium(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={tmp_path / 'profile'}",
               f"--window-size={width},{height}", "about:blank"]
        self.proc = subprocess.Popen(cmd, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=lambda: (os.dup2(r_in, 3), os.dup2(w_out, 4)))
        os.close(r_in)
        os.close(w_out)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ev = self._read()
            self.events.append(ev)
            if ev.get("method") == method:
                return
        raise TimeoutError(method)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def render(page, tmp_path, width: int = 1280, height: int = 900) -> dict:
    """Load page in headless Chromium: its console errors, every request it made, a screenshot, a PDF."""
    cdp = _Cdp(tmp_path, width, height)
    try:
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            cdp.call(f"{domain}.enable", session=session)
        cdp.call("Page.navigate", {"url": page.as_uri()}, session=session)
        cdp.wait_for("Page.loadEventFired")
        cdp.call("Runtime.evaluate", {"expression": "1"}, session=session)  # let pending events arrive
        metrics = cdp.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": {"x": 0, "y": 0, "width": width,
                                                            "height": metrics["height"], "scale": 1}}, session=session)
        pdf = cdp.call("Page.printToPDF", {"printBackground": False}, session=session)
        overflow = cdp.call("Runtime.evaluate", {"expression": "document.documentElement.scrollWidth"},
                            session=session)["result"]["value"]
        charts = json.loads(cdp.call("Runtime.evaluate", {"expression": (
            "JSON.stringify([...document.querySelectorAll('svg')].map(e => {const r = e.getBoundingClientRect();"
            " return [e.getAttribute('aria-label'), r.x, r.y + window.scrollY, r.width, r.height];}))")},
            session=session)["result"]["value"])
    finally:
        cdp.close()
    evs = [e for e in cdp.events if e.get("sessionId") == session]
    requests = [e["params"]["request"]["url"] for e in evs if e.get("method") == "Network.requestWillBeSent"]
    errors = [json.dumps(e["params"])[:3000] for e in evs
              if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"))]
    png, pdf_path = tmp_path / "page.png", tmp_path / "page.pdf"
    png.write_bytes(base64.b64decode(shot["data"]))
    pdf_path.write_bytes(base64.b64decode(pdf["data"]))
    return {"requests": [u for u in requests if u != page.as_uri()], "errors": errors, "png": png, "pdf": pdf_path,
            "scroll_width": overflow, "charts": charts}


def _drawn_pixels(png, box) -> int:
    """Saturated (plot-coloured, not text-grey or white) pixels of the screenshot inside box (x, y, w, h)."""
    from PIL import Image

    x, y, w, h = (int(round(v)) for v in box)
    a = np.asarray(Image.open(png).convert("RGB").crop((x, y, x + w, y + h))).astype(int)
    return int(((a.max(axis=2) - a.min(axis=2)) > 60).sum())


def test_the_harness_sees_console_errors_and_network_requests(tmp_path):
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><html><body><p>control</p><img src="http://example.invalid/x.png">'
                    "<script>no_such_function();</script></body></html>")
    got = render(page, tmp_path)
    assert any("no_such_function" in e for e in got["errors"]), got["errors"]
    assert any("example.invalid" in r for r in got["requests"]), got["requests"]


def _user_model(path):
    """A network the project does not ship (MNIST-shaped, seeded, untrained), saved as a user would."""
    import keras

    keras.utils.set_random_seed(5)
    L = keras.layers
    x = inp = keras.Input((28, 28, 1))
    x = L.Conv2D(6, 5, strides=2, activation="relu")(x)
    x = L.BatchNormalization()(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.ReLU()(x)
    x = L.Conv2D(12, 1, activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Flatten()(x)
    out = L.Dense(10, activation="softmax")(x)
    keras.Model(inp, out).save(path)
    return path


@pytest.fixture(scope="module", params=["shipped", "user"])
def build(request, tmp_path_factory):
    """A real build directory with report.html written by build and updated by bench."""
    tmp = tmp_path_factory.mktemp("report")
    env = {**os.environ, "EDGECNN_DATA_DIR": str(tmp / "no-data")}  # evaluation on the shipped sample: seconds
    out = tmp / "mnist"
    model = shipped_model_dir("mnist") / "model.keras" if request.param == "shipped" else _user_model(tmp / "user.keras")
    cmd = [sys.executable, "-m", "edgecnn", "build", "--model", str(model), "--dataset", "mnist", "--input-range", "0,1",
           "--target", "c", "--out", str(out), "--device-flash", "65536", "--device-ram", "24576"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "report.html").is_file() and "Not benched yet" in (out / "report.html").read_text()
    proc = subprocess.run([sys.executable, "-m", "edgecnn", "bench", "--build", str(out), "--runs", "40", "--warmup", "5",
                           "--runtime", "litert-int8", "--runtime", "c-host"], capture_output=True, text=True, env=env,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_report_is_self_contained_and_has_every_section(build):
    html = (build / "report.html").read_text()
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in html, title
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<link" not in html and "@import" not in html
    data = json.loads((build / "report.json").read_text())
    assert set(data["bench"]["latency_us_samples"]) == {"litert-int8", "c-host"}
    assert data["device"] == {"flash_bytes": 65536, "ram_bytes": 24576}
    assert sum(map(sum, data["confusion"]["matrix"])) == json.loads((build / "manifest.json").read_text())["evaluation"]["n_images"]
    assert "Not benched yet" not in html and html.count("<svg") == 5  # confusion, timeline, latency, flash, RAM


def test_report_renders_in_chromium_at_1280_and_prints(build, tmp_path):
    got = render(build / "report.html", tmp_path, 1280)
    assert got["errors"] == [], got["errors"]
    assert got["requests"] == [], got["requests"]
    assert got["scroll_width"] <= 1280, f"the page is {got['scroll_width']} px wide at a 1280 px window"
    drawn = {label: _drawn_pixels(got["png"], box) for label, *box in got["charts"]}
    print(f"screenshot at 1280 px, plot pixels per chart: {drawn}")
    assert set(drawn) == {"confusion matrix", "memory timeline", "latency distributions", "flash", "RAM"}
    assert all(n >= 100 for n in drawn.values()), drawn  # a chart without its marks has only grey text and grid
    assert got["pdf"].read_bytes()[:5] == b"%PDF-" and got["pdf"].stat().st_size > 20_000
