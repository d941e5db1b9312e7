"""The dependency-free C inference engine: int8 .tflite -> C99 sources.

`generate()` reads the int8 flatbuffer, lowers every op through the table in
`ops.py`, fuses conv blocks (`fusion.py`), plans one static arena
(`planner.py`) and writes `<name>_model.h`, `<name>_model.c` and the kernels.
Importing this package imports neither TensorFlow nor LiteRT.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from edgecnn.errors import EdgecnnError

KERNELS_DIR = Path(__file__).resolve().parent / "kernels"


@dataclass(frozen=True)
class GenerateResult:
    """What was written and the figures the manifest reports."""

    out_dir: Path
    name: str  # C prefix
    files: tuple[Path, ...]  # every file written, headers and sources
    sources: tuple[Path, ...]  # the .c files to compile
    arena_bytes: int
    weights_bytes: int  # const arrays: weights, biases, multipliers, shifts
    macs: int
    ops: tuple[str, ...]  # distinct TFLite ops of the model
    calls: tuple[str, ...]  # kernel call sequence, e.g. "ec_chain_s8(CONV_2D+MAX_POOL_2D)"
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    model_sha256: str
    fused: bool
    call_macs: tuple[int, ...] = ()  # MACs of each kernel call, in the order of `calls`
    call_infos: tuple = ()  # layerinfo.CallInfo per call: output place, live arena bytes, weights
    # Several inputs or outputs: one emit_multi.Port each (invoke takes input0.., output0..); else ().
    inputs: tuple = ()
    outputs: tuple = ()

    @property
    def multi_io(self) -> bool:
        return bool(self.inputs)


def c_name(name: str) -> str:
    """A C identifier prefix from a build name: `fashion-mnist` -> `fashion_mnist`."""
    out = re.sub(r"[^0-9A-Za-z_]", "_", name).lower()
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", out):
        raise EdgecnnError(f"name {name!r} does not make a C identifier; expected letters, digits, '-' or '_', "
                           "not starting with a digit")
    return out


def generate(tflite_path, out_dir, name: str, *, labels=(), fuse: bool = True, command: str | None = None,
             input_range: tuple[float, float] | None = None, input_reference=None) -> GenerateResult:
    """Write the C engine for an int8 .tflite model into `out_dir`.

    labels: class names for the header (may be empty). fuse: compute
    conv [-> 1x1 conv] [-> max pool] blocks pixel by pixel (smaller arena,
    same output). command: the command line recorded in the provenance. input_range: the
    (lo, hi) pixels map to, written to the header (None: not an image input / not known);
    with a range the engine also gets `<name>_input_from_u8`, integer-only and bit-identical
    to input_reference, the build's Python quantization uint8 (256,) -> int8 (256,)
    (default: inputmap.float_path).
    """
    from edgecnn import __version__
    from edgecnn.codegen import emit, fold, fusion, inputmap, layerinfo, ops, planner
    from edgecnn.codegen.tflite_reader import read_tflite

    prefix = c_name(name)
    graph = fold.fold_constants(read_tflite(tflite_path))
    calls = ops.lower_graph(graph)
    if fuse:
        calls = fusion.fuse(graph, calls)
    plan = planner.plan(graph, calls)
    t_in, t_out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    command = command or f"edgecnn.codegen.generate({Path(tflite_path).name!r}, name={name!r})"
    weights_bytes = sum(a.nbytes for c in calls for a in c.consts)
    macs = sum(c.macs for c in calls)

    def prov(what: str) -> str:
        return emit.provenance(__version__, graph.sha256, Path(tflite_path).name, command, what)

    facts = emit.ModelFacts(prefix, prov(f"{prefix}_model: API of the generated int8 inference engine."),
                            t_in.shape, t_out.shape, float(t_in.scale[0]), int(t_in.zero_point[0]),
                            float(t_out.scale[0]), int(t_out.zero_point[0]), tuple(str(s) for s in labels),
                            plan.arena_bytes, weights_bytes, macs, input_range,
                            None if input_range is None else
                            inputmap.input_map(float(t_in.scale[0]), int(t_in.zero_point[0]), input_range, input_reference))
    if len(graph.inputs) > 1 or len(graph.outputs) > 1:
        from edgecnn.codegen import emit_multi

        facts = emit.ModelFacts(**{**facts.__dict__, "labels": (), "input_range": None, "input_map": None,
                                   "inputs": emit_multi.ports(graph, graph.inputs),
                                   "outputs": emit_multi.ports(graph, graph.outputs)})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {out / f"{prefix}_model.h": _header(facts)}
    src_facts = emit.ModelFacts(**{**facts.__dict__, "provenance": prov(f"{prefix}_model: weights, parameters and layer sequence.")})
    written[out / f"{prefix}_model.c"] = emit.source(src_facts, graph, calls, plan)
    for k in sorted(KERNELS_DIR.glob("ec_*.[ch]")):
        written[out / k.name] = prov(f"{k.name}: edgecnn int8 kernel library (copied verbatim below).") + k.read_text()
    for path, text in written.items():
        path.write_text(text)
    files = tuple(written)
    return GenerateResult(out, prefix, files, tuple(p for p in files if p.suffix == ".c"), plan.arena_bytes,
                          weights_bytes, macs, tuple(sorted({op.opcode for op in graph.operators})),
                          tuple(f"{c.kernel or 'alias'}({'+'.join(c.ops)})" for c in calls), t_in.shape, t_out.shape,
                          facts.input_scale, facts.input_zero_point, facts.output_scale, facts.output_zero_point,
                          graph.sha256, fuse, tuple(c.macs for c in calls), layerinfo.call_infos(graph, calls, plan),
                          facts.inputs, facts.outputs)


def _header(facts) -> str:
    from edgecnn.codegen import emit, emit_multi

    return emit_multi.header(facts) if facts.inputs else emit.header(facts)


__all__ = ["GenerateResult", "generate", "c_name", "KERNELS_DIR"]
