"""Models with several inputs or outputs: how their values are packed, fed and compared.

One packing everywhere after the int8 pivot: a sample is the concatenation of
every input, flattened, in the .tflite's input order (N, sum of input sizes);
the outputs likewise (N, sum of output sizes). The C harness reads and writes
exactly these bytes, the runners split and join with `split` and `join`, and
each output is compared on its own columns (`columns`).

The data options (`--data`, `--dataset`, `--input-range`) bring images to one
image input; with several inputs or outputs they do not apply: such a model is
verified on seeded random int8 inputs (accuracy unknown), and a float model is
calibrated on seeded random float inputs (CALIB_WHY).
"""

import numpy as np

from edgecnn.convert import feed

CALIB_MEAN, CALIB_STD = 0.0, 1.0
CALIB_WHY = (f"seeded normal float inputs (mean {CALIB_MEAN:g}, std {CALIB_STD:g}, seed {feed.RANDOM_SEED} + "
             "input index): --data/--dataset feed one image input, so a model with several inputs or outputs "
             "is calibrated without data; its int8 ranges may not fit real inputs")


def counts(src) -> tuple[int, int]:
    """(inputs, outputs) of a frontends.ModelSource."""
    if src.keras is not None:
        return len(src.keras.inputs), len(src.keras.outputs)
    from edgecnn.convert.quantize import tflite_io_all

    q_ins, q_outs, _ = tflite_io_all(src.tflite)
    return len(q_ins), len(q_outs)


def input_shapes(src) -> list[tuple]:
    """(1, ...) shape of every input of a ModelSource, in the model's order."""
    if src.keras is not None:
        return [(1, *t.shape[1:]) for t in src.keras.inputs]
    from edgecnn.convert.quantize import tflite_io_all

    return [tuple(q.shape) for q in tflite_io_all(src.tflite)[0]]


def sizes(shapes) -> list[int]:
    return [int(np.prod(s[1:], dtype=np.int64)) for s in shapes]


def split(x: np.ndarray, shapes) -> list[np.ndarray]:
    """(N, sum of sizes) -> one (N, *shape[1:]) array per shape."""
    x = np.asarray(x).reshape(len(x), -1)
    bounds = np.cumsum([0, *sizes(shapes)])
    return [x[:, a:b].reshape((len(x), *s[1:])) for a, b, s in zip(bounds[:-1], bounds[1:], shapes)]


def join(parts: list[np.ndarray]) -> np.ndarray:
    """One (N, ...) array per tensor -> (N, sum of sizes), in the given order."""
    return np.concatenate([np.asarray(p).reshape(len(p), -1) for p in parts], axis=1)


def columns(shapes) -> list[slice]:
    """The column range of each tensor in the packed (N, sum of sizes) layout."""
    bounds = np.cumsum([0, *sizes(shapes)])
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def quantize(x: np.ndarray, q_ins) -> np.ndarray:
    """Packed float inputs in model units -> packed int8, each input with its own scale and zero point."""
    parts = split(x, [q.shape for q in q_ins])
    return join([feed.quantize(p, q.scale, q.zero_point) for p, q in zip(parts, q_ins)])


def random_inputs(q_ins, n: int = feed.N_RANDOM, seed: int = feed.RANDOM_SEED) -> np.ndarray:
    """Packed (n, sum of sizes) float32: each input seeded uniform int8 values (seed + index), dequantized."""
    return join([feed.random_inputs(q.shape, q, n, seed + i) for i, q in enumerate(q_ins)])


def make_feed(src, n_in: int, n_out: int, *, dataset, data, input_range, calibration_samples: int) -> feed.Feed:
    """A Feed for a model with several inputs or outputs: random calibration, evaluation made from the int8 model.

    feed.x is None here; pivot.make fills it with `random_inputs` of the int8 model's inputs.
    """
    io = f"the model has {n_in} input(s) and {n_out} output(s)"
    notes = [f"{opt} does not apply: {io}; it is verified on seeded random inputs"
             for opt, v in (("--data", data), ("--dataset", dataset), ("--input-range", input_range)) if v is not None]
    calib, calib_desc = None, ""
    if not src.is_int8:
        calib = [np.random.default_rng(feed.RANDOM_SEED + i).normal(CALIB_MEAN, CALIB_STD,
                                                                    (calibration_samples, *s[1:])).astype(np.float32)
                 for i, s in enumerate(input_shapes(src))]
        calib_desc = f"{calibration_samples} {CALIB_WHY}"
    desc = f"{feed.N_RANDOM} seeded random int8 inputs per model input (seed {feed.RANDOM_SEED} + input index)"
    return feed.Feed(calib, None, None, [], desc, False, "random", None, "not an image model (several inputs or "
                     "outputs)", notes, calib_desc)


def check_target(target: str, supports: bool) -> str | None:
    """None when a target builds models with several inputs or outputs, else why not."""
    if supports:
        return None
    return (f"target {target}: models with several inputs or outputs are not supported by this target yet "
            "(c and tflite-micro build them)")


def io_entries(q_list, names) -> list[dict]:
    """Manifest entries of several inputs or outputs: name, shape, dtype, scale, zero point."""
    return [{"name": n, **q.as_dict()} for q, n in zip(q_list, names)]

