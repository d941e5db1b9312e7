"""The report's sections, each a function (manifest, data) -> HTML string."""

from html import escape

from edgecnn.htmlreport import svg


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _n(v, spec: str = ",") -> str:
    return "–" if v is None else format(v, spec)


def model_card(m: dict, data: dict) -> str:
    src, inp, out = m.get("source_model", {}), m.get("input", {}), m.get("output", {})
    arts = {a.get("path"): a for a in m.get("artifacts", [])} if isinstance(m.get("artifacts"), list) else m.get("artifacts", {})
    tfl = arts.get("model_int8.tflite", {})
    c, tflm = m.get("c_engine") or {}, m.get("tflm") or {}
    rows = [
        ("data set", escape(str(m.get("dataset_label", m.get("dataset"))))),
        ("parameters", _n(src.get("params"))), ("MACs per image", _n(src.get("macs"))),
        ("int8 .tflite", f"{_n(tfl.get('bytes') if isinstance(tfl, dict) else None)} bytes"),
        ("C engine", f"arena {_n(c.get('arena_bytes'))} B (RAM), weights {_n(c.get('weights_bytes'))} B (flash)" if c else "not built"),
        ("TFLM", f"arena {_n(tflm.get('arena_bytes_measured'))} B measured, kTensorArenaSize {_n(tflm.get('tensor_arena_size'))} B" if tflm else "not built"),
        ("input", f"shape {inp.get('shape')}, {inp.get('dtype')}, scale {inp.get('scale')}, zero point {inp.get('zero_point')}"
                  + (f", float range {data['input_range']}" if data.get("input_range") else "")),
        ("output", f"shape {out.get('shape')}, scale {out.get('scale')}, zero point {out.get('zero_point')}"),
        ("labels", escape(", ".join(data.get("labels", [])))),
        ("ops", escape(", ".join(m.get("ops", [])))),
        ("source model", f"<code>{escape(str(src.get('path')))}</code><br>sha256 <code>{escape(str(src.get('sha256')))}</code>"),
        ("built with", f"edgecnn {escape(str(m.get('tool', {}).get('version')))}: <code>{escape(str(m.get('command')))}</code>"),
        ("calibration", escape(str((m.get("calibration") or {}).get("description", "")))),
    ]
    return "<section id='card'><h2>Model card</h2>" + _table(["", ""], [[k, v] for k, v in rows], "card") + "</section>"


def _verdict(e: dict) -> str:
    p = e.get("passed")
    return "<span class='ok'>pass</span>" if p is True else ("<span class='bad'>FAIL</span>" if p is False else "<span class='info'>info</span>")


def _figure(e: dict) -> str:
    for key, unit in (("max_abs_diff_lsb", " LSB"), ("max_abs_diff", "")):
        if key in e and e[key] is not None:
            extra = f", top-1 agreement {e['top1_agreement']:.4f}" if isinstance(e.get("top1_agreement"), float) else ""
            return f"max |diff| {e[key]}{unit}{extra}"
    if "bytes_parsed" in e:
        return f"{e['bytes_parsed']:,} bytes parsed back"
    if "problems" in e:
        return "no problems" if not e["problems"] else escape("; ".join(e["problems"]))
    return escape(str({k: v for k, v in e.items() if k not in ("check", "passed")})[:160])


def verification(m: dict, data: dict) -> str:
    rows = []
    for key, e in (m.get("verification") or {}).items():
        if isinstance(e, dict) and "check" in e:
            rows.append([_verdict(e), escape(e["check"]), _figure(e)])
        elif isinstance(e, dict):  # a group of compile checks
            for sub, s in e.items():
                if isinstance(s, dict) and "check" in s:
                    rows.append([_verdict(s), escape(s["check"]), escape(str(s.get("section", "")))])
    return "<section id='verification'><h2>Verification</h2>" + _table(["result", "check", "figure"], rows) + "</section>"


def accuracy(m: dict, data: dict) -> str:
    ev = m.get("evaluation") or {}
    conf = data.get("confusion")
    text = (f"<p>On {escape(str(ev.get('description')))}: float top-1 <b>{_n(ev.get('float_top1_acc'), '.2%')}</b> (Keras), "
            f"int8 top-1 <b>{_n(ev.get('int8_top1_acc'), '.2%')}</b> (LiteRT), drop {_n(ev.get('int8_drop_pp'), '+.2f')} pp.</p>")
    if conf:
        text += (f"<figure>{svg.heatmap(conf['matrix'], conf['labels'], 'confusion matrix')}"
                 f"<figcaption>Confusion matrix of the int8 model ({escape(conf['runtime'])}); rows: true class, "
                 "columns: predicted; shade: share of the row.</figcaption></figure>")
    return "<section id='accuracy'><h2>Accuracy</h2>" + text + "</section>"


def layers(m: dict, data: dict) -> str:
    info = data.get("layers")
    if not info:
        return "<section id='layers'><h2>Per layer</h2><p>Not computed for this build.</p></section>"
    rows = [[escape(r["name"]), escape(r["op"]), _n(r["macs"]), _n(r["weights_bytes"]),
             _n(r["arena_offset"]) if r["output_place"] == "arena" else escape(str(r["output_place"])),
             _n(r["live_arena_bytes"]), _n(r["snr_db"], ".1f"), _n(r["max_abs_err"], ".3g"), _n(r["c_vs_ref_lsb"]),
             _n(r["tflm_vs_ref_lsb"]), _n(r["m4_instructions"])] for r in info["layers"]]
    headers = ["layer", "op", "MACs", "weights B", "arena offset", "live B", "SNR dB", "max |err|", "C vs ref LSB",
               "TFLM vs ref LSB", "M4 instructions"]
    first = [d for d in info["first_disagreement"].values() if d]
    verdict = ("<p class='bad'>" + "<br>".join(f"{escape(d['pair'])}: first disagreement at {escape(d['name'])} "
                                             f"({d['op']}), {d['max_abs_diff_lsb']} LSB" for d in first) + "</p>") if first else \
        f"<p class='ok'>C engine, TFLM and LiteRT reference kernels agree on every op within {info['tolerance_lsb']} LSB.</p>"
    worst = ", ".join(f"{escape(w['name'])} ({w['snr_db']:.1f} dB)" for w in info["worst_snr"])
    names = [r["name"] for r in info["layers"]]
    arena = max([r["live_arena_bytes"] or 0 for r in info["layers"]] + [0])
    chart = svg.timeline(names, [r["live_arena_bytes"] or 0 for r in info["layers"]],
                         [0 if r["output_place"] != "arena" else _bytes(r) for r in info["layers"]], arena, "memory timeline",
                         "unfused arena")
    return ("<section id='layers'><h2>Per layer</h2>" + verdict + (f"<p>Lowest quantization SNR: {worst}.</p>" if worst else "")
            + _table(headers, rows, "num") + f"<p class='note'>{escape(info['notes'])} On {escape(info.get('images', ''))}.</p>"
            + f"<figure>{chart}<figcaption>Memory timeline of the C engine's arena (unfused plan): bytes alive during "
              "each op (light) and its output tensor (dark). The deployed engine fuses conv blocks, so its arena "
              f"is smaller: {_n((m.get('c_engine') or {}).get('arena_bytes'))} B.</figcaption></figure></section>")


def _bytes(r: dict) -> int:
    size = 1
    for d in r["output_shape"]:
        size *= d
    return size


def latency(m: dict, data: dict) -> str:
    bench = data.get("bench")
    if not bench or not bench.get("latency_us_samples"):
        return "<section id='latency'><h2>Latency</h2><p>Not benched yet: run <code>edgecnn bench --build DIR</code>.</p></section>"
    s = bench["settings"]
    return (f"<section id='latency'><h2>Latency</h2><figure>{svg.boxes(bench['latency_us_samples'], 'latency distributions')}"
            f"<figcaption>Single-image latency per runtime, {s['runs']} runs after {s['warmup']} warm-up, {s['threads']} "
            f"thread(s), on {escape(bench['machine'].get('cpu_model', ''))} ({escape(bench['created_utc'])}); "
            "box p25-p75, whiskers p1-p99, log scale.</figcaption></figure></section>")


def memory(m: dict, data: dict) -> str:
    dev = data.get("device") or {}
    c, tflm = m.get("c_engine") or {}, m.get("tflm") or {}
    m4 = next((r for r in ((data.get("bench") or {}).get("runtimes") or []) if r.get("runtime") == "c-cortex-m4"
               and r.get("flash_bytes")), None)
    flash, ram = [], []
    if c:
        flash.append(("C engine weights", c["weights_bytes"], svg.BLUE))
        ram.append(("C engine arena", c["arena_bytes"], svg.BLUE))
    if m4:
        flash.append(("C engine on Cortex-M4 (ELF)", m4["flash_bytes"], svg.BLUE))
        ram.append(("C engine on Cortex-M4 (ELF)", m4["ram_bytes"], svg.BLUE))
    if tflm:
        flash.append(("TFLM model array", data.get("tflite_bytes") or 0, svg.ORANGE))
        ram.append(("TFLM kTensorArenaSize", tflm["tensor_arena_size"], svg.ORANGE))
    budget = lambda k: dev.get(k)  # noqa: E731
    note = ("Budget: " + ", ".join(f"{k.replace('_bytes', '')} {v:,} B" for k, v in dev.items() if v) + "." if any(dev.values())
            else "No device budget given (edgecnn build/bench --device-flash BYTES --device-ram BYTES).")
    return ("<section id='memory'><h2>Flash and RAM</h2>"
            f"<h3>Flash</h3><figure>{svg.hbars(flash, budget('flash_bytes'), 'B', 'flash')}</figure>"
            f"<h3>RAM</h3><figure>{svg.hbars(ram, budget('ram_bytes'), 'B', 'RAM')}</figure>"
            f"<p class='note'>{escape(note)} TFLM's interpreter code and the C engine's stack and code come on top "
            "unless a Cortex-M4 ELF figure is shown (bench's c-cortex-m4: code + weights, .data + .bss + stack).</p></section>")


SECTIONS = (model_card, verification, accuracy, layers, latency, memory)
