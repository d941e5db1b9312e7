"""Golden comparisons of the C engine against LiteRT (reference kernels) and TFLM.

Int8 outputs must agree within a stated tolerance (1 LSB: LiteRT's reference
FULLY_CONNECTED requantizes in double precision, the engine and TFLM in
fixed point); top-1 must agree except where the reference has a tie.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

TOLERANCE_LSB = 1


@dataclass(frozen=True)
class Comparison:
    """C engine vs one reference on the same inputs."""

    reference: str  # "litert_builtin_ref" or "tflm"
    n_inputs: int
    max_abs_diff: int
    n_values_differing: int
    top1_agreement: float
    top1_mismatches_not_ties: int
    tolerance_lsb: int
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"C vs {self.reference}: {self.n_inputs} inputs, max |diff| {self.max_abs_diff} LSB, "
                f"{self.n_values_differing} values differ, top-1 agreement {self.top1_agreement:.4f}, "
                f"{self.top1_mismatches_not_ties} non-tie top-1 mismatches -> {'pass' if self.passed else 'FAIL'}")


def random_inputs(shape: tuple[int, ...], n: int = 1000, seed: int = 0) -> np.ndarray:
    """(n, *shape[1:]) int8: all -128, all 127, both alternating extremes, then seeded uniform."""
    per = int(np.prod(shape[1:]))
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(n, per), dtype=np.int64).astype(np.int8)
    alt = np.where(np.arange(per) % 2 == 0, -128, 127).astype(np.int8)
    special = [np.full(per, -128, np.int8), np.full(per, 127, np.int8), alt, -1 - alt]
    for i, row in enumerate(special[:n]):
        x[i] = row
    return x.reshape((n, *shape[1:]))


def litert_reference(tflite_path: Path, inputs: np.ndarray) -> np.ndarray:
    """(N, ...) int8 inputs -> (N, output size) int8 outputs with LiteRT's BUILTIN_REF kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(tflite_path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    if len(it.get_input_details()) > 1 or len(it.get_output_details()) > 1:
        return _litert_packed(it, inputs)
    i_in, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for x in inputs:
        it.set_tensor(i_in["index"], x.reshape(i_in["shape"]).astype(np.int8))
        it.invoke()
        outs.append(it.get_tensor(o["index"]).reshape(-1).copy())
    return np.stack(outs)


def tflm_reference(tflite_path: Path, inputs: np.ndarray) -> np.ndarray:
    """The same with the tflite_micro Python interpreter (TFLM's kernels)."""
    from tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(Path(tflite_path).read_bytes())
    n_in, n_out = _io_counts(tflite_path)
    if n_in > 1 or n_out > 1:
        return _tflm_packed(it, inputs, n_in, n_out)
    shape = it.get_input_details(0)["shape"]
    outs = []
    for x in inputs:
        it.set_input(x.reshape(shape).astype(np.int8), 0)
        it.invoke()
        outs.append(np.asarray(it.get_output(0)).reshape(-1).copy())
    return np.stack(outs)


def _io_counts(tflite_path: Path) -> tuple[int, int]:
    from edgecnn.codegen.tflite_reader import read_tflite

    g = read_tflite(tflite_path)
    return len(g.inputs), len(g.outputs)


def _litert_packed(it, inputs: np.ndarray) -> np.ndarray:
    """Several inputs or outputs: packed int8 inputs (N, sum of sizes) -> packed outputs (edgecnn/convert/multiio.py)."""
    from edgecnn.convert.multiio import join, split

    dins, douts = it.get_input_details(), it.get_output_details()
    outs = []
    for row in np.asarray(inputs).reshape(len(inputs), -1):
        for d, part in zip(dins, split(row[None], [tuple(d["shape"]) for d in dins])):
            it.set_tensor(d["index"], part.astype(np.int8))
        it.invoke()
        outs.append(join([it.get_tensor(d["index"]) for d in douts])[0])
    return np.stack(outs)


def _tflm_packed(it, inputs: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    from edgecnn.convert.multiio import join, split

    shapes = [tuple(it.get_input_details(i)["shape"]) for i in range(n_in)]
    outs = []
    for row in np.asarray(inputs).reshape(len(inputs), -1):
        for i, part in enumerate(split(row[None], shapes)):
            it.set_input(part.astype(np.int8), i)
        it.invoke()
        outs.append(join([np.asarray(it.get_output(i)) for i in range(n_out)])[0])
    return np.stack(outs)


def compare(reference: str, c_out: np.ndarray, ref_out: np.ndarray, tolerance_lsb: int = TOLERANCE_LSB) -> Comparison:
    """c_out, ref_out: (N, K) int8. Top-1 mismatches count only where the reference's max is unique."""
    c = c_out.astype(np.int32).reshape(len(c_out), -1)
    r = ref_out.astype(np.int32).reshape(len(ref_out), -1)
    diff = np.abs(c - r)
    top_c, top_r = c.argmax(1), r.argmax(1)
    ties = (r == r.max(1, keepdims=True)).sum(1) > 1
    c_ties = (c == c.max(1, keepdims=True)).sum(1) > 1
    # A tie in either output makes the argmax an arbitrary pick among equals.
    mismatch = (top_c != top_r) & ~ties & ~c_ties
    max_diff = int(diff.max()) if diff.size else 0
    return Comparison(reference, len(c), max_diff, int((diff > 0).sum()), float((top_c == top_r).mean()),
                      int(mismatch.sum()), tolerance_lsb, max_diff <= tolerance_lsb and not mismatch.any())
