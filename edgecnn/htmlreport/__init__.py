"""BUILD/report.html: one self-contained page (inline CSS and SVG, no script, no network).

`edgecnn build` writes it with report.json (what the page needs beyond manifest.json: the
confusion matrix, the per-layer insight, the device budget); `edgecnn bench` adds its
latency samples and memory rows to report.json and writes the page again.
"""

import json
from html import escape
from pathlib import Path

from edgecnn.htmlreport.sections import SECTIONS

DATA = "report.json"
PAGE = "report.html"
CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#1d2430;margin:0;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;border-bottom:2px solid #3b6fb6;padding-bottom:2px}
section{background:#fff;border-radius:6px;padding:8px 18px 14px;margin:14px 0;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #e3e6ea;text-align:left}
table.num td:not(:nth-child(-n+2)){text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}code{font-size:12px;word-break:break-all}
.ok{color:#1e7d32;font-weight:600}.bad{color:#c0392b;font-weight:600}.info{color:#6b7380}
.note{color:#59616d;font-size:12px}figure{margin:8px 0}svg.chart{width:100%;max-width:760px;height:auto}svg.square{max-width:460px}
nav a{margin-right:12px}
@media print{body{background:#fff}section{box-shadow:none;break-inside:avoid;padding:0}nav{display:none}
main{max-width:none}.scroll{overflow:visible}}
"""


def read_data(build: Path) -> dict:
    path = Path(build) / DATA
    return json.loads(path.read_text()) if path.is_file() else {}


def render(manifest: dict, data: dict) -> str:
    """The page as a string."""
    title = f"edgecnn build {manifest.get('name')} ({manifest.get('dataset_label', manifest.get('dataset'))})"
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in (("card", "model"), ("verification", "verification"),
                  ("accuracy", "accuracy"), ("layers", "per layer"), ("latency", "latency"), ("memory", "flash/RAM")))
    body = "".join(section(manifest, data) for section in SECTIONS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f"<body><main><h1>{escape(title)}</h1><nav>{nav}</nav>{body}</main></body></html>\n")


def write(build: Path, manifest: dict, data: dict) -> Path:
    """Write report.json (data) and report.html into the build directory; returns the page's path."""
    build = Path(build)
    (build / DATA).write_text(json.dumps(data, indent=1) + "\n")
    page = build / PAGE
    page.write_text(render(manifest, data))
    return page
