"""Every op's output tensor, per runtime, on the same inputs: {tensor index: (N, ...) array}."""

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgecnn.convert.quiet import quiet
from edgecnn.errors import EdgecnnError


def litert_all(tflite: bytes, inputs: np.ndarray, tensors: list[int], reference_kernels: bool = True) -> dict:
    """LiteRT with experimental_preserve_all_tensors: inputs (N, ...) in the model's dtype."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    with quiet():
        it = Interpreter(model_content=tflite, num_threads=1, experimental_op_resolver_type=resolver,
                         experimental_preserve_all_tensors=True)
        it.allocate_tensors()
    din = it.get_input_details()[0]
    out = {t: [] for t in tensors}
    for x in inputs:
        it.set_tensor(din["index"], x.reshape(din["shape"]).astype(din["dtype"]))
        it.invoke()
        for t in tensors:
            out[t].append(np.array(it.get_tensor(t)))
    return {t: np.stack(v) for t, v in out.items()}


def tflm_all(tflite: bytes, inputs: np.ndarray, tensors: list[int]) -> dict:
    """The tflite_micro interpreter with kPreserveAllTensors: int8 inputs (N, ...)."""
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(tflite, arena_size=8 << 20,
                                        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    out = {t: [] for t in tensors}
    for x in inputs:
        it.set_input(x[None].astype(np.int8), 0)
        it.invoke()
        for t in tensors:
            d = it.GetTensor(t, 0)
            out[t].append(np.array(d["tensor_data"]).reshape(d["shape"]))
    return {t: np.stack(v) for t, v in out.items()}


def _dump_harness(gen) -> str:
    """A single translation unit: the model source, then ec_layer_done() writing each call's output."""
    n = gen.name
    calls = [c for c in gen.call_infos if c.kernel is not None]
    size = {c.index: c.output_bytes for c in calls}
    kind = {c.index: {"arena": 0, "output": 1, "input": 2}[c.output_place] for c in calls}
    off = {c.index: c.output_offset for c in calls}
    count = len(gen.call_infos)
    arr = lambda d, dflt: ", ".join(str(d.get(i, dflt)) for i in range(count))  # noqa: E731
    arena = f"{n}_arena + k_off[index]" if gen.arena_bytes else "NULL"
    return (f'#include <stdio.h>\n#include <stdlib.h>\n#include "{n}_model.c"\n\n'
            f"static FILE *g_dump;\nstatic int8_t g_out[{n.upper()}_OUTPUT_SIZE], g_in[{n.upper()}_INPUT_SIZE];\n"
            f"static const long k_off[{count}] = {{{arr(off, 0)}}};\nstatic const long k_size[{count}] = {{{arr(size, 0)}}};\n"
            f"static const int k_kind[{count}] = {{{arr(kind, -1)}}};\n\n"
            "void ec_layer_done(int index)\n{\n"
            f"    const int8_t *p = k_kind[index] == 0 ? {arena} : (k_kind[index] == 1 ? g_out : g_in);\n"
            "    if (k_kind[index] >= 0 && fwrite(p, 1, (size_t)k_size[index], g_dump) != (size_t)k_size[index]) {\n"
            "        exit(3);\n    }\n}\n\n"
            "int main(int argc, char **argv)\n{\n    FILE *fi;\n    if (argc < 3) {\n        return 2;\n    }\n"
            "    fi = fopen(argv[1], \"rb\");\n    g_dump = fopen(argv[2], \"wb\");\n"
            "    if (fi == NULL || g_dump == NULL) {\n        return 2;\n    }\n"
            f"    while (fread(g_in, 1, sizeof g_in, fi) == sizeof g_in) {{\n"
            f"        if ({n}_invoke(g_in, g_out) != 0) {{\n            return 1;\n        }}\n    }}\n"
            "    fclose(g_dump);\n    return 0;\n}\n")


def c_engine_all(gen, inputs: np.ndarray, cflags: tuple[str, ...] = ()) -> dict:
    """Each kernel call's output of the generated engine in gen.out_dir, {output tensor: (N, ...) int8}."""
    calls = [c for c in gen.call_infos if c.kernel is not None]
    x = np.ascontiguousarray(inputs, np.int8).reshape(len(inputs), -1)
    with tempfile.TemporaryDirectory(prefix="edgecnn-layers-") as tmp:
        main = Path(tmp) / "dump_main.c"
        main.write_text(_dump_harness(gen))
        kernels = [str(p) for p in gen.sources if not p.name.endswith("_model.c")]
        exe = Path(tmp) / "dump"
        cmd = ["gcc", "-std=c99", "-O1", "-DEC_PROFILE_LAYERS", *cflags, f"-I{gen.out_dir}", str(main), *kernels,
               "-o", str(exe)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise EdgecnnError(f"gcc failed on the per-layer dump of the C engine:\n{proc.stderr.strip()[-2000:]}")
        (Path(tmp) / "in.bin").write_bytes(x.tobytes())
        run = subprocess.run([str(exe), str(Path(tmp) / "in.bin"), str(Path(tmp) / "out.bin")], capture_output=True,
                             text=True, timeout=600)
        if run.returncode != 0:
            raise EdgecnnError(f"the per-layer dump of the C engine exited with {run.returncode}")
        raw = np.frombuffer((Path(tmp) / "out.bin").read_bytes(), np.int8)
    per_image = sum(c.output_bytes for c in calls)
    raw = raw.reshape(len(x), per_image)
    out, pos = {}, 0
    for c in calls:
        out[c.output_tensor] = raw[:, pos:pos + c.output_bytes].reshape(len(x), *c.output_shape[1:]).copy()
        pos += c.output_bytes
    return out
