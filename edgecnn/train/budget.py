"""Choose the family member for a data set before training, within parameter and device budgets.

Candidates are scaled members (model.scaled_family) within `--max-params`.
With a device budget (`--max-arena` bytes of RAM, `--max-macs`) each probed
candidate is built untrained, converted to full-integer int8 (calibrated on a
few training images) and measured with the C engine's code generator: the
arena its static planner lays out and the MACs of its kernel calls, the
figures the firmware will have. Arena and MACs grow with width at a fixed
resolution, so the widest fitting member is found by bisection (a few
conversions, seconds). When no member at the data set's resolution fits, the
next stride-2 step is tried before giving up.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.errors import EdgecnnError
from edgecnn.model import Family, downsamplings, param_count, widest_within

CALIBRATION_IMAGES = 8
MAX_DOWNSAMPLE = 3


@dataclass(frozen=True)
class Budget:
    """Limits a member must respect (None: no limit)."""

    max_params: int = 15_000
    max_arena_bytes: int | None = None
    max_macs: int | None = None

    @property
    def has_device_limits(self) -> bool:
        return self.max_arena_bytes is not None or self.max_macs is not None

    def check(self) -> None:
        for flag, v in (("--max-params", self.max_params), ("--max-arena", self.max_arena_bytes),
                        ("--max-macs", self.max_macs)):
            if v is not None and v < 1:
                raise EdgecnnError(f"{flag} {v}: expected a positive whole number")


@dataclass(frozen=True)
class Measured:
    """One candidate's figures from the int8 model and the C engine's planner."""

    family: Family
    params: int
    macs: int
    arena_bytes: int
    weights_bytes: int
    over: tuple[str, ...]  # the limits it exceeds, e.g. ("arena 25600 > 16000",)

    @property
    def fits(self) -> bool:
        return not self.over

    def as_dict(self) -> dict:
        return {"family": self.family.name, "widths": [b.filters for b in self.family.blocks],
                "params": self.params, "macs": self.macs, "arena_bytes": self.arena_bytes,
                "weights_bytes": self.weights_bytes, "fits": self.fits, "over": list(self.over)}


def measure(family: Family, calib_x: np.ndarray, budget: Budget) -> Measured:
    """Build `family` untrained, convert to int8 on `calib_x` (N, H, W, C) uint8, run the C code generator."""
    from edgecnn.codegen import generate
    from edgecnn.convert.feed import RANGES, to_model_units
    from edgecnn.convert.quantize import to_int8_tflite
    from edgecnn.model import build_model

    model = build_model(family)
    # The converter drops an all-zero bias, which a trained head never has: without this the
    # untrained model's weights would be 4 bytes per class short (arena and MACs do not change).
    head = model.get_layer("head_dense")
    kernel, bias = head.get_weights()
    head.set_weights([kernel, np.full_like(bias, 1e-3)])
    tflite = to_int8_tflite(model, to_model_units(calib_x[:CALIBRATION_IMAGES], RANGES["0,1"]))  # pixels / 255
    with tempfile.TemporaryDirectory(prefix="edgecnn-budget-") as tmp:
        path = Path(tmp) / "candidate.tflite"
        path.write_bytes(tflite)
        gen = generate(path, Path(tmp) / "c", "candidate")
    params = param_count(family)
    over = []
    if params > budget.max_params:
        over.append(f"params {params} > {budget.max_params}")
    if budget.max_arena_bytes is not None and gen.arena_bytes > budget.max_arena_bytes:
        over.append(f"arena {gen.arena_bytes} B > {budget.max_arena_bytes}")
    if budget.max_macs is not None and gen.macs > budget.max_macs:
        over.append(f"MACs {gen.macs} > {budget.max_macs}")
    return Measured(family, params, gen.macs, gen.arena_bytes, gen.weights_bytes, tuple(over))


def _widest_fitting(members: list[Family], probe) -> Measured | None:
    """The widest member whose measurement fits, by bisection over members sorted narrowest first."""
    lo = probe(members[0])
    if not lo.fits:
        return None
    hi = probe(members[-1]) if len(members) > 1 else lo
    if hi.fits:
        return hi
    i_lo, i_hi = 0, len(members) - 1  # members[i_lo] fits, members[i_hi] does not
    best = lo
    while i_hi - i_lo > 1:
        mid = (i_lo + i_hi) // 2
        m = probe(members[mid])
        if m.fits:
            i_lo, best = mid, m
        else:
            i_hi = mid
    return best


def choose_family(input_shape: tuple[int, int, int], num_classes: int, budget: Budget, calib_x: np.ndarray,
                  say=lambda line: None) -> tuple[Measured, list[Measured]]:
    """(the chosen member's figures, every measured candidate's figures, in probing order).

    Without device limits the widest member within --max-params is taken (and measured once, for the
    record). `say` receives one line per measured candidate.
    """
    budget.check()
    measured: list[Measured] = []

    def probe(fam: Family) -> Measured:
        m = measure(fam, calib_x, budget)
        measured.append(m)
        verdict = "fits" if m.fits else "over: " + ", ".join(m.over)
        say(f"candidate {fam.name}: {m.params} params, {m.macs} MACs, arena {m.arena_bytes} B, "
            f"weights {m.weights_bytes} B -> {verdict}")
        return m

    d0 = downsamplings(input_shape)
    for d in range(d0, MAX_DOWNSAMPLE + 1):
        if min(input_shape[:2]) // 2 ** (d + 2) < 1:
            break
        members = widest_within(input_shape, num_classes, budget.max_params, d)
        if not members:
            continue
        chosen = _widest_fitting(members, probe) if budget.has_device_limits else probe(members[-1])
        if chosen is not None:
            return chosen, measured
    if not measured:
        raise EdgecnnError(f"no member of the model family for {input_shape[0]}x{input_shape[1]}x{input_shape[2]} "
                           f"with {num_classes} classes has at most {budget.max_params} parameters "
                           f"(the narrowest has {min_params(input_shape, num_classes)}); raise --max-params")
    smallest = min(measured, key=lambda m: (m.arena_bytes, m.macs))
    raise EdgecnnError(f"no member of the model family fits the budget: the smallest measured, {smallest.family.name}, "
                       f"needs {smallest.arena_bytes} B of arena and {smallest.macs} MACs "
                       f"({', '.join(smallest.over)}); raise --max-arena / --max-macs")


def min_params(input_shape, num_classes: int) -> int:
    """Parameters of the narrowest member (for messages)."""
    return param_count(widest_within(input_shape, num_classes, 10**9)[0])
