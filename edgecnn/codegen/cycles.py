"""Cortex-M4 cycle estimate from the instruction stream the firmware really executes.

QEMU runs the firmware with `-d in_asm,exec,nochain`: every translated block is
logged once with its instructions, every executed block as one `Trace` line
(streamed through a FIFO, never stored). Between the blocks of the firmware's
`ec_trace_begin` and `ec_trace_end` markers (main.c, -DEC_CYCLE_TRACE) the
executions of each (block, next block) pair are counted; each instruction is
then weighted with its cost from the Cortex-M4 Technical Reference Manual
(Table 3-1, zero wait states) and the successor tells whether a block's final
branch was taken.

Three figures, all for an ideal zero-wait-state Cortex-M4 (no flash wait
states, no bus contention, no caches or flash accelerators):
- best: every pipeline refill P = 1, neighbouring single loads/stores after a
  load always pipelined (1 cycle), IT folded, divides 2 cycles;
- estimate: P = 1, or 2 when the target is a 32-bit instruction that is not
  word aligned; a single load/store after a single load costs 1 cycle unless
  its address register is that load's result (TRM 3.3.2), STR with an
  immediate offset 1 cycle, IT 1, divides 7 (the middle of 2-12);
- worst: P = 3, no load/store pipelining, stores 2, PC-relative loads 3,
  divides 12.
Exception entries (SysTick) add 12 cycles each.

The worst case also holds for unaligned data: the M4 splits an unaligned LDR/STR into two or three
accesses (TRM 3.3.2: +1 cycle for a halfword-aligned word, +2 for a byte-aligned word, +1 for a
byte-aligned halfword). The trace has no data addresses, so for every kernel call that touches a
channel count or depth that is not a whole number of words (layerinfo.CallInfo.word_aligned),
each single LDR/STR/LDRH/STRH it executes (not SP- or PC-relative) is charged its largest penalty:
a second traced run, built with -DEC_PROFILE_LAYERS, attributes the executed blocks to calls.
"""

import bisect
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from edgecnn.errors import EdgecnnError

CONDS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")
LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrt", "ldrbt", "ldrht", "ldrsbt", "ldrsht"}
STORES = {"str", "strb", "strh", "strex", "strt", "strbt", "strht"}
MULTI = {"ldm", "ldmia", "ldmfd", "ldmdb", "pop", "stm", "stmia", "stmea", "stmdb", "stmfd", "push"}
# (best, estimate, worst) cycles of instructions whose cost does not depend on their neighbours.
FIXED = {"sdiv": (2, 7, 12), "udiv": (2, 7, 12), "ldrd": (3, 3, 3), "strd": (3, 3, 3), "it": (0, 1, 1),
         "mrs": (1, 1, 2), "msr": (1, 1, 2), "dmb": (1, 1, 4), "dsb": (1, 1, 4), "isb": (2, 2, 4)}
EXCEPTION_ENTRY = 12
# Largest extra cycles of a single load/store at an unaligned address (TRM 3.3.2).
UNALIGNED_EXTRA = {"ldr": 2, "str": 2, "ldrh": 1, "ldrsh": 1, "strh": 1}
_SP_PC_BASE = re.compile(r"\[(sp|pc)\b")
_INSN = re.compile(r"^0x([0-9a-f]+):\s+((?:[0-9a-f]{4} ?)+)\s+(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
_STOPPED = re.compile(r"^Stopped execution of TB chain before (0x[0-9a-f]+)")


@dataclass(frozen=True)
class Insn:
    addr: int
    size: int  # bytes: 2 or 4
    op: str  # mnemonic without .w/.n, condition or 's' suffix: "ldr", "b", "smlad"
    cond: bool  # a conditional branch (b<cc>, cbz, cbnz)
    args: str


@dataclass(frozen=True)
class CycleReport:
    """Instructions and cycle bounds counted between the firmware's trace markers."""

    instructions: int
    cycles_best: int
    cycles_estimate: int
    cycles_worst: int
    exception_entries: int
    inferences: int
    unaligned_allowance: int = 0  # in cycles_worst: the unaligned penalties it may include

    def per_inference(self) -> dict:
        n = max(self.inferences, 1)
        return {"instructions_per_inference": round(self.instructions / n),
                "cycles_per_inference_best": round(self.cycles_best / n),
                "cycles_per_inference_estimate": round(self.cycles_estimate / n),
                "cycles_per_inference_worst": round(self.cycles_worst / n),
                "cycles_per_inference_worst_unaligned_allowance": round(self.unaligned_allowance / n)}


def _base(mnemonic: str) -> tuple[str, bool]:
    """(base mnemonic, is a conditional branch) from capstone's spelling."""
    m = mnemonic.lower().split(".")[0]
    if m in ("cbz", "cbnz"):
        return m, True
    if m.startswith("b") and m[1:] in CONDS and m != "bl":
        return "b", m[1:] != "al"
    for known in (FIXED, LOADS, STORES, MULTI):
        if m in known:
            return m, False
    if len(m) > 2 and m[-2:] in CONDS and m not in ("bls", "blt"):  # inside an IT block: movlo, ldrne
        m = m[:-2]
    if m not in LOADS | STORES | MULTI | set(FIXED) and m.endswith("s") and len(m) > 3:
        m = m[:-1]  # flag-setting: adds, lsls, muls
    return m, False


def parse_insn(line: str) -> Insn | None:
    m = _INSN.match(line.strip())
    if m is None:
        return None
    op, cond = _base(m.group(3))
    return Insn(int(m.group(1), 16), len(m.group(2).replace(" ", "")) // 2, op, cond, m.group(4).lower())


def _regs(args: str) -> list[str]:
    return re.findall(r"\b(r\d+|sb|sl|fp|ip|sp|lr|pc)\b", args)


def _writes_pc(i: Insn) -> bool:
    if i.op in ("b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh"):
        return True
    regs = _regs(i.args)
    if i.op in ("pop", "ldm", "ldmia", "ldmfd", "ldmdb"):
        return "pc" in regs
    return bool(regs) and regs[0] == "pc" and i.op not in STORES | {"cmp", "cmn", "tst", "teq", "push"}


def _refill(target: Insn | None) -> tuple[int, int, int]:
    est = 2 if target is not None and target.size == 4 and target.addr % 4 == 2 else 1
    return 1, est, 3


def body_cost(insns: list[Insn]) -> tuple[int, int, int]:
    """(best, estimate, worst) cycles of a block's instructions, a final branch counted not taken."""
    best = est = worst = 0
    prev = None
    for i in insns:
        b, e, w = _insn_cost(i, prev)
        best, est, worst = best + b, est + e, worst + w
        prev = i
    return best, est, worst


def _insn_cost(i: Insn, prev: Insn | None) -> tuple[int, int, int]:
    regs = _regs(i.args)
    if i.op in FIXED:
        return FIXED[i.op]
    if i.op in MULTI:
        n = len(_expand_list(i.args))
        return 1 + n, 1 + n, 1 + n  # + P when the list holds pc: added as a taken branch
    if i.op in LOADS:
        after_load = prev is not None and prev.op in LOADS
        dependent = after_load and len(regs) > 1 and _regs(prev.args)[:1] == regs[1:2]
        pc_rel = len(regs) > 1 and regs[1] == "pc"
        return (1 if after_load else 2), (1 if after_load and not dependent else 2), 3 if pc_rel else 2
    if i.op in STORES:
        after_load = prev is not None and prev.op in LOADS
        reg_offset = len(regs) > 2
        return 1, (2 if reg_offset and not after_load else 1), 2
    return 1, 1, 1  # data processing, multiplies (MUL/MLA/long/SMLAD: 1 on the M4), extends, saturation


def _expand_list(args: str) -> list[str]:
    inner = args[args.find("{") + 1:args.rfind("}")] if "{" in args else ""
    out = []
    for part in (p.strip() for p in inner.split(",") if p.strip()):
        if "-" in part:
            lo, hi = (int(x.strip()[1:]) for x in part.split("-"))
            out += [f"r{k}" for k in range(lo, hi + 1)]
        else:
            out.append(part)
    return out


@dataclass
class _Block:
    pc: int
    insns: list
    body: tuple
    fallthrough: int


def _block(insns: list[Insn]) -> _Block:
    last = insns[-1]
    return _Block(insns[0].addr, insns, body_cost(insns), last.addr + last.size)


class _Counter:
    """Streams the QEMU log: blocks by host pointer, executed (block, next) pairs inside the window."""

    def __init__(self, begin: int, end: int, layer_done: int | None = None, skip: tuple = ()):
        self.begin, self.end = begin, end
        self.layer_done, self.skip = layer_done, skip  # skip: (lo, hi) address ranges not attributed
        self.layer = 0
        self.layer_pairs: dict[tuple[int, str, str], int] = {}  # (call index, block, next) -> executions
        self.blocks: dict[str, _Block] = {}
        self.pairs: dict[tuple[str, str], int] = {}
        self.inferences = 0
        self._pending: list[Insn] = []
        self._reading = False
        self._last = self._prev = None
        self._inside = False

    def feed(self, line: str) -> None:
        if line.startswith("Trace"):
            m = _TRACE.match(line)
            if m:
                self._trace(m.group(1), int(m.group(2), 16))
            return
        if line.startswith("Stopped"):
            self._last = None  # that block did not start
            return
        if line.startswith("IN:"):
            self._pending, self._reading = [], True
            return
        if self._reading:
            i = parse_insn(line)
            if i is not None:
                self._pending.append(i)
            elif not line.strip() and self._pending:
                self._reading = False

    def _trace(self, ptr: str, pc: int) -> None:
        if self._pending and self._pending[0].addr == pc and not self._reading:
            self.blocks[ptr] = _block(self._pending)
            self._pending = []
        self._commit()
        self._last = (ptr, pc)

    def _commit(self) -> None:
        if self._last is None:
            return
        ptr, pc = self._last
        if pc == self.begin:
            self._inside, self._prev = True, None
            self.inferences += 1
            self.layer = 0
            return
        if self._inside and self._prev is not None:
            key = (self._prev, ptr)
            self.pairs[key] = self.pairs.get(key, 0) + 1
            if self.layer_done is not None:
                lkey = (self.layer, self._prev, ptr)
                self.layer_pairs[lkey] = self.layer_pairs.get(lkey, 0) + 1
        if self._inside and pc == self.layer_done:
            self.layer += 1  # the hook runs after each call: what follows is the next call's
        if pc == self.end:
            self._inside, self._prev = False, None
            return
        self._prev = ptr if self._inside else None

    def _pair_cost(self, a: str, nxt: str) -> tuple[int, int, int, int, bool]:
        """(instructions, best, estimate, worst, exception taken) of block a followed by nxt."""
        blk, succ = self.blocks[a], self.blocks[nxt]
        cb, ce, cw = blk.body
        last = blk.insns[-1]
        exception = False
        if succ.pc != blk.fallthrough:
            if _writes_pc(last):
                pb, pe, pw = _refill(succ.insns[0])
                extra = 1 if last.op in ("tbb", "tbh") else 0
                cb, ce, cw = cb + pb + extra, ce + pe + extra, cw + pw + extra
            else:  # an exception taken after the block
                cb, ce, cw = cb + EXCEPTION_ENTRY, ce + EXCEPTION_ENTRY, cw + EXCEPTION_ENTRY
                exception = True
        return len(blk.insns), cb, ce, cw, exception

    def report(self) -> CycleReport:
        n = b = e = w = exc = 0
        for (a, nxt), count in self.pairs.items():
            ni, cb, ce, cw, exception = self._pair_cost(a, nxt)
            exc += count if exception else 0
            n, b, e, w = n + ni * count, b + cb * count, e + ce * count, w + cw * count
        return CycleReport(n, b, e, w, exc, self.inferences)

    def _hooked(self, blk: _Block) -> bool:
        return any(lo <= blk.pc < hi for lo, hi in self.skip)

    def unaligned_extra(self, calls) -> int:
        """Largest unaligned penalties of the single loads/stores executed by the given calls."""
        total = 0
        for (layer, a, _), count in self.layer_pairs.items():
            blk = self.blocks[a]
            if layer in calls and not self._hooked(blk):
                total += count * sum(UNALIGNED_EXTRA.get(i.op, 0) for i in blk.insns
                                     if not _SP_PC_BASE.search(i.args))
        return total

    def by_call_and_function(self, function_of) -> dict[tuple[int, str], list[int]]:
        """{(call index, function): [instructions, best, estimate, worst]} over the counted
        inferences (a -DEC_PROFILE_LAYERS firmware; the profiling hook left out);
        function_of(address) names the function a block starts in."""
        out: dict[tuple[int, str], list[int]] = {}
        for (layer, a, nxt), count in self.layer_pairs.items():
            if self._hooked(self.blocks[a]):
                continue
            ni, cb, ce, cw, _ = self._pair_cost(a, nxt)
            acc = out.setdefault((layer, function_of(self.blocks[a].pc)), [0, 0, 0, 0])
            for k, v in enumerate((ni, cb, ce, cw)):
                acc[k] += v * count
        return out


def _symbols(elf: Path) -> dict[str, tuple[int, int, str]]:
    """{name: (start address, size, nm type)} of elf's symbols (Thumb bit cleared), from one `nm -S`."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = {}
    for parts in (line.split() for line in out.splitlines()):
        if len(parts) == 4:
            syms[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16), parts[2])
        elif len(parts) == 3:  # no size (labels, absolute symbols)
            syms.setdefault(parts[2], (int(parts[0], 16) & ~1, 0, parts[1]))
    return syms


def symbol(elf: Path, name: str, syms: dict | None = None) -> int:
    syms = _symbols(elf) if syms is None else syms
    if name not in syms:
        raise EdgecnnError(f"{elf} has no symbol {name}; build it with -DEC_CYCLE_TRACE")
    return syms[name][0]


class _EveryCall:
    """unaligned_calls when nothing is known about the calls: each one is charged."""

    def __contains__(self, index) -> bool:
        return True


EVERY_CALL = _EveryCall()


def _layered_counter(elf: Path, begin: str, end: str) -> _Counter:
    """A counter that attributes blocks to kernel calls (firmware built with -DEC_PROFILE_LAYERS)."""
    syms = _symbols(elf)
    hook = [f for f in ("ec_layer_done", "systick_ticks") if f in syms]
    return _Counter(symbol(elf, begin, syms), symbol(elf, end, syms), layer_done=symbol(elf, "ec_layer_done", syms),
                    skip=tuple((syms[f][0], syms[f][0] + syms[f][1]) for f in hook))


def _run(elf: Path, counter: _Counter, timeout_s: float) -> _Counter:
    """Run elf under QEMU (-icount shift=0), streaming its block log through counter."""
    with tempfile.TemporaryDirectory(prefix="edgecnn-trace-") as tmp:
        fifo = Path(tmp) / "qemu.log"
        os.mkfifo(fifo)
        cmd = ["timeout", str(int(timeout_s)), "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting",
               "-icount", "shift=0", "-d", "in_asm,exec,nochain", "-D", str(fifo), "-kernel", str(elf)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        reader_error = []

        def read():
            try:
                with open(fifo, errors="replace") as f:
                    for line in f:
                        counter.feed(line)
            except Exception as err:  # surfaced below
                reader_error.append(err)

        t = threading.Thread(target=read)
        t.start()
        status = proc.wait()
        t.join()
    if status == 124:
        raise EdgecnnError(f"QEMU did not finish within {timeout_s:.0f} s on {elf}")
    if reader_error:
        raise reader_error[0]
    counter._commit()
    return counter


def count(elf: Path, begin: str = "ec_trace_begin", end: str = "ec_trace_end", timeout_s: float = 900,
          unaligned_calls=None) -> CycleReport:
    """Run elf under QEMU (-icount shift=0) and count cycles between the two marker functions.
    unaligned_calls (a firmware built with -DEC_PROFILE_LAYERS): the report's unaligned_allowance
    for those kernel calls, not added to its cycles."""
    if unaligned_calls is None:
        syms = _symbols(elf)
        return _run(elf, _Counter(symbol(elf, begin, syms), symbol(elf, end, syms)), timeout_s).report()
    counter = _run(elf, _layered_counter(elf, begin, end), timeout_s)
    calls = unaligned_calls if unaligned_calls is EVERY_CALL else set(unaligned_calls)
    return replace(counter.report(), unaligned_allowance=counter.unaligned_extra(calls))


def profile(elf: Path, timeout_s: float = 900) -> dict[tuple[int, str], list[int]]:
    """{(kernel call index, function): [instructions, best, estimate, worst]} summed over the
    inferences of a firmware built with -DEC_CYCLE_TRACE -DEC_PROFILE_LAYERS (aligned costs)."""
    functions = sorted((lo, name) for name, (lo, _, kind) in _symbols(elf).items() if kind in "tTwW")
    starts = [lo for lo, _ in functions]

    def function_of(pc: int) -> str:
        i = bisect.bisect_right(starts, pc) - 1
        return functions[i][1] if i >= 0 else "?"

    return _run(elf, _layered_counter(elf, "ec_trace_begin", "ec_trace_end"), timeout_s).by_call_and_function(function_of)


def model_cycles(gen, images, outputs, build_dir: Path, opt: str = "-Os", cflags: tuple[str, ...] = (),
                 timeout_s: float = 900, unaligned_calls=None) -> CycleReport:
    """Cycle bounds of the generated engine on the Cortex-M4: the QEMU firmware built with
    -DEC_CYCLE_TRACE (no calibration loop), counted over its invoke() calls on `images`.

    The worst case includes the unaligned allowance of the calls that are not word aligned:
    unaligned_calls, else those of gen.call_infos, else (nothing known) every call."""
    from edgecnn.codegen import qemu

    build_dir = Path(build_dir)
    fw = qemu.build(gen, images, outputs, build_dir, opt, (*cflags, "-DEC_CYCLE_TRACE"))
    rep = count(fw / "firmware.elf", timeout_s=timeout_s)
    if unaligned_calls is None:
        infos = getattr(gen, "call_infos", None)
        unaligned_calls = [i.index for i in infos if not i.word_aligned] if infos else EVERY_CALL
    if unaligned_calls is not EVERY_CALL and not list(unaligned_calls):
        return rep
    prof = qemu.build(gen, images, outputs, build_dir / "unaligned", opt,
                      (*cflags, "-DEC_CYCLE_TRACE", "-DEC_PROFILE_LAYERS"))
    extra = count(prof / "firmware.elf", timeout_s=timeout_s, unaligned_calls=unaligned_calls).unaligned_allowance
    return replace(rep, cycles_worst=rep.cycles_worst + extra, unaligned_allowance=extra)
