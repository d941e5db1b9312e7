"""Per-layer insight for an int8 model: run every source on the same images, fill the LayerFacts."""

import tempfile
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgecnnError
from edgecnn.insight import activations, compare

PAIRS = {"c_vs_ref_lsb": "C engine vs LiteRT reference kernels", "tflm_vs_ref_lsb": "TFLM vs LiteRT reference kernels",
         "c_vs_tflm_lsb": "C engine vs TFLM"}


def layer_insight(int8_path: Path, images: np.ndarray, float_tflite: bytes | None = None, gen=None,
                  name: str = "model", cortex_m4: bool = False) -> dict:
    """Per-op facts on inputs (N, ...) float32 in the model's units (feed.py); gen: an unfused engine to use.

    Returns {"layers": [LayerFacts dicts], "first_disagreement": {pair: row or None}, "worst_snr": [...]}.
    """
    from edgecnn.codegen import generate
    from edgecnn.codegen.tflite_reader import read_tflite
    from edgecnn.convert.quantize import TensorQuant
    from edgecnn.convert.runners import to_int8

    int8_path = Path(int8_path)
    graph = read_tflite(int8_path)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise EdgecnnError(f"per-layer insight runs models with one input and one output; this one has "
                           f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs")
    t_in = graph.tensors[graph.inputs[0]]
    x = to_int8(images, TensorQuant(t_in.shape, "int8", float(t_in.scale[0]), int(t_in.zero_point[0])))
    tensors = [op.outputs[0] for op in graph.operators]
    data = int8_path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="edgecnn-insight-") as tmp:
        gen = gen or generate(int8_path, Path(tmp) / "c", name, fuse=False)
        c_acts = activations.c_engine_all(gen, x)
        instructions = _m4_instructions(gen, x, Path(tmp) / "m4") if cortex_m4 else {}
    ref = activations.litert_all(data, x, tensors)
    tflm = activations.tflm_all(data, x, tensors)
    rows = compare.base_rows(graph)
    compare.add_engine_plan(rows, gen.call_infos)
    for r in rows:
        r.c_vs_ref_lsb = compare.max_lsb(c_acts.get(r.tensor), ref[r.tensor])
        r.tflm_vs_ref_lsb = compare.max_lsb(tflm[r.tensor], ref[r.tensor])
        r.c_vs_tflm_lsb = compare.max_lsb(c_acts.get(r.tensor), tflm[r.tensor])
    by_call = {c.output_tensor: c.index for c in gen.call_infos}
    for r in rows:
        r.m4_instructions = instructions.get(by_call.get(r.tensor))
    if float_tflite is not None:
        fpath = Path(tempfile.mkdtemp(prefix="edgecnn-float-")) / "model_float.tflite"
        fpath.write_bytes(float_tflite)
        match = compare.match_float_tensors(graph, read_tflite(fpath))
        f_acts = activations.litert_all(float_tflite, images.astype(np.float32), sorted(set(match.values())), False)
        compare.add_quant_error(rows, graph, ref, {t: f_acts[f] for t, f in match.items()})
    return summarize(rows, len(images), cortex_m4)


def _m4_instructions(gen, x: np.ndarray, build_dir: Path) -> dict[int, int]:
    """Instructions per kernel call on the Cortex-M4 (QEMU, -icount), on the first two images."""
    from edgecnn.codegen import hostrun, qemu

    k = int(np.prod(gen.output_shape))
    host = hostrun.run_host(hostrun.compile_host(gen, build_dir / "host" / "exe"), x[:2], k).outputs
    return dict(qemu.check(gen, x[:2], host, build_dir / "fw", profile_layers=True).layer_instructions or {})


def summarize(rows: list, n_images: int, cortex_m4: bool) -> dict:
    """The rows as dicts plus what a reader wants first: where runtimes part, where int8 loses most."""
    first = {}
    for key, label in PAIRS.items():
        r = compare.first_disagreement(rows, key)
        first[key] = None if r is None else {"pair": label, "index": r.index, "op": r.op, "name": r.name,
                                             "max_abs_diff_lsb": getattr(r, key)}
    scored = sorted((r for r in rows if r.snr_db is not None), key=lambda r: r.snr_db)
    return {"n_images": n_images, "tolerance_lsb": compare.DISAGREE_LSB, "layers": [r.as_dict() for r in rows],
            "first_disagreement": first,
            "worst_snr": [{"index": r.index, "name": r.name, "op": r.op, "snr_db": r.snr_db} for r in scored[:3]],
            "notes": ("C engine built unfused (one kernel call per op, same integers as the fused engine), so every "
                      "op's output exists; arena offsets and live bytes are those of the unfused plan. "
                      + ("Cortex-M4 instructions: QEMU mps2-an386 -icount, unfused engine, SIMD kernels, -Os."
                         if cortex_m4 else "Cortex-M4 instructions: not measured (pass --cortex-m4)."))}
