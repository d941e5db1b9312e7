"""Inline SVG charts for the HTML report: no scripts, no fonts to fetch, crisp when printed.

Every function returns an `<svg>` string with a viewBox, so it scales with the page width.
Colours are the report's palette (also checked by the browser test's screenshot).
"""

import math
from html import escape

BLUE, ORANGE, GREY, RED = "#3b6fb6", "#e08a2c", "#9aa4b1", "#c0392b"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(width: int, height: int, body: list[str], label: str, cls: str = "chart") -> str:
    return (f'<svg class="{cls}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" {FONT}>' + "".join(body) + "</svg>")


def hbars(items: list[tuple[str, float, str]], budget: float | None, unit: str, label: str) -> str:
    """Horizontal bars (name, value, colour) on one scale, with a dashed budget line when given."""
    width, left, row = 760, 210, 26
    top = max([v for _, v, _ in items] + [budget or 0, 1])
    height = row * len(items) + 34
    scale = (width - left - 90) / top
    body = []
    for i, (name, value, colour) in enumerate(items):
        y = 8 + i * row
        body.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        body.append(f'<rect x="{left}" y="{y}" width="{max(value * scale, 1):.1f}" height="18" fill="{colour}"/>')
        body.append(f'<text x="{left + value * scale + 6:.1f}" y="{y + 14}">{value:,.0f} {unit}</text>')
    if budget:
        x = left + budget * scale
        body.append(f'<line x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{height - 20}" stroke="{RED}" stroke-dasharray="5 3"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="{RED}">budget {budget:,.0f} {unit}</text>')
    return _svg(width, height, body, label)


def heatmap(matrix: list[list[int]], labels: list[str], label: str) -> str:
    """Confusion matrix: rows true class, columns predicted; cell shade by row share, counts written."""
    n = len(matrix)
    cell = max(20, min(32, 400 // max(n, 1)))
    left, top = 110, 70
    size = left + cell * n + 10
    body = [f'<text x="{left + cell * n / 2}" y="14" text-anchor="middle">predicted class</text>',
            f'<text x="12" y="{top + cell * n / 2}" transform="rotate(-90 12 {top + cell * n / 2})" '
            'text-anchor="middle">true class</text>']
    for j, name in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(f'<text x="{x}" y="{top - 8}" text-anchor="start" transform="rotate(-45 {x} {top - 8})">'
                    f'{escape(name[:12])}</text>')
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        body.append(f'<text x="{left - 6}" y="{top + i * cell + cell / 2 + 4}" text-anchor="end">{escape(labels[i][:14])}</text>')
        for j, count in enumerate(row):
            share = count / total
            colour = BLUE if i == j else ORANGE
            body.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="{colour}" fill-opacity="{0.08 + 0.92 * share:.3f}"/>')
            if count:
                ink = "#fff" if share > 0.5 else "#222"
                body.append(f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 4}" '
                            f'text-anchor="middle" fill="{ink}" font-size="{9 if count > 999 else 10}">{count}</text>')
    return _svg(size, top + cell * n + 10, body, label, "chart square")


def timeline(names: list[str], live: list[int], outputs: list[int], arena: int, label: str,
             arena_label: str = "arena") -> str:
    """Memory timeline: per op, arena bytes alive (bar) and its output tensor (darker part); arena line."""
    width, height, left, bottom = 760, 260, 60, 70
    n = max(len(names), 1)
    step = (width - left - 10) / n
    top = max(live + [arena, 1])
    scale = (height - bottom - 10) / top
    body = []
    for k in range(5):
        v = top * k / 4
        y = height - bottom - v * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v / 1000:.0f}k</text>')
    for i, (name, lv, out) in enumerate(zip(names, live, outputs)):
        x = left + i * step
        body.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - lv * scale:.1f}" width="{step - 4:.1f}" '
                    f'height="{lv * scale:.1f}" fill="{BLUE}" fill-opacity="0.45"><title>{escape(name)}: '
                    f'{lv:,} B alive, output {out:,} B</title></rect>')
        o = min(out, lv)
        body.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - o * scale:.1f}" width="{step - 4:.1f}" '
                    f'height="{o * scale:.1f}" fill="{BLUE}"/>')
        cx, cy = x + step / 2, height - bottom + 10
        body.append(f'<text x="{cx:.1f}" y="{cy}" text-anchor="end" transform="rotate(-40 {cx:.1f} {cy})">'
                    f'{escape(name[:18])}</text>')
    y = height - bottom - arena * scale
    body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{RED}" stroke-dasharray="5 3"/>')
    body.append(f'<text x="{width - 12}" y="{y + 13:.1f}" text-anchor="end" fill="{RED}">{escape(arena_label)} {arena:,} B</text>')
    return _svg(width, height, body, label)


def boxes(samples: dict[str, list[float]], label: str) -> str:
    """Latency distribution per runtime on a log axis: p1-p99 whiskers, p25-p75 box, p50 tick."""
    width, left, row = 760, 150, 28
    names = list(samples)
    height = row * len(names) + 40
    values = [v for s in samples.values() for v in s if v > 0]
    lo, hi = (math.log10(min(values)), math.log10(max(values))) if values else (0.0, 1.0)
    lo, hi = math.floor(lo), math.ceil(hi) if hi > lo else lo + 1
    scale = (width - left - 20) / (hi - lo)
    xpos = lambda v: left + (math.log10(max(v, 10 ** lo)) - lo) * scale  # noqa: E731
    body = []
    for d in range(int(lo), int(hi) + 1):
        x = xpos(10 ** d)
        body.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 24}" stroke="#ddd"/>')
        anchor = "end" if x > width - 40 else "middle"
        body.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">{10 ** d:g} µs</text>')
    for i, name in enumerate(names):
        s = sorted(samples[name])
        if not s:
            continue
        q = lambda p: s[min(len(s) - 1, int(p * (len(s) - 1)))]  # noqa: E731
        y = 8 + i * row
        body.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(name)}</text>')
        body.append(f'<line x1="{xpos(q(0.01)):.1f}" y1="{y + 9}" x2="{xpos(q(0.99)):.1f}" y2="{y + 9}" stroke="{GREY}"/>')
        body.append(f'<rect x="{xpos(q(0.25)):.1f}" y="{y + 2}" width="{max(xpos(q(0.75)) - xpos(q(0.25)), 10):.1f}" '
                    f'height="14" fill="{ORANGE}"/>')
        body.append(f'<line x1="{xpos(q(0.5)):.1f}" y1="{y}" x2="{xpos(q(0.5)):.1f}" y2="{y + 18}" stroke="#222" stroke-width="2"/>')
        body.append(f'<text x="{min(xpos(q(0.99)) + 6, width - 60):.1f}" y="{y + 13}">p50 {q(0.5):,.0f}</text>')
    return _svg(width, height, body, label)
