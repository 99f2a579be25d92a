#!/usr/bin/env python
"""W1 (PERFORMANCE.md): one optimizer step, fastopt against its peers, in ONE process.

    python benchmarks/w1_step.py [--quick] [--markdown FILE]

measures, interleaved in one process (median of >= 7 timeit-style repeats,
after a warm-up that keeps compile time out):

* fastopt ``Adam.step(grad)`` through the public API, n = 1e2, 1e4, 1e6, 1e7
  (float64) and 1e6 (float32);
* ``torch.optim.Adam(fused=True).step()`` with ``p.grad`` set (2 threads);
* a naive NumPy Adam step (vectorized expressions, in place where reasonable);
* the streaming-bandwidth limit: a parallel Numba (prange) loop reading the 4
  arrays and writing the 3 that an Adam step reads and writes;
* every other registry optimizer at n = 1e4 and 1e6 (float64) against its
  torch counterpart (the fastest of fused / foreach / for-loop that torch
  accepts on CPU), with the bandwidth limit for its own array count;

and prints Markdown tables with the PERFORMANCE.md targets (PASS/MISS). Peers
that are not installed (torch) are skipped.

Extra studies (they back the "W1 findings" in benchmarks/README.md):

    --crossover   serial loop vs prange for the Adam kernel (float64, float32)
                  over 2k..1M elements, one subprocess per FASTOPT_PARALLEL_MIN
                  setting with its own NUMBA_CACHE_DIR, alternated over rounds
    --overhead    where the microseconds of ``opt.step`` go at n = 100
    --tuned       what the optimizer classes measure on their first steps
                  (serial twin vs prange kernel, ``_Timed``) and which they
                  keep, every optimizer, float64 and float32, 4k..512k
    --inspect     float32 promotion and vectorization in the kernels' LLVM IR
                  and assembly; ns/element at n = 1e4 (serial) with
                  FASTOPT_FASTMATH=0 and 1 (subprocesses, cache off)
    --all         the W1 tables and all three studies

Machines are noisy: read the ratios (peers measured in the same run, same
interleaved rounds), not the absolute times.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and str(ROOT) not in sys.path:
    # Run as a script: benchmark this checkout. Imported (by asv), leave sys.path alone.
    sys.path.insert(0, str(ROOT))

F64, F32 = "float64", "float32"
W1_CASES = [(100, F64), (10_000, F64), (1_000_000, F64), (10_000_000, F64), (1_000_000, F32)]
OTHER_SIZES = [10_000, 1_000_000]
# (label, registry name, hyperparameters given to both fastopt and torch)
EXTRA_CONFIGS = [("sgd (momentum=0.9)", "sgd", {"momentum": 0.9})]
CROSSOVER_SIZES = [2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 131_072, 262_144, 524_288,
                   1_048_576]
SERIAL_MIN = str(10 ** 15)  # FASTOPT_PARALLEL_MIN that keeps every size serial
SETTLE = 0.01  # s of sleep between contenders (see measure)


# -- timing ------------------------------------------------------------------------


def _calibrate(timer: timeit.Timer, target: float) -> int:
    """Inner loop count so that one repeat lasts >= target seconds (also a warm-up)."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target or number >= 10 ** 7:
            return number
        grow = target / max(elapsed, 1e-9) * 1.2
        number = int(min(max(number * 2, number * grow), 10 ** 7))


def measure(timers: dict, repeats: int, target: float, settle: float = 0.0) -> dict:
    """Median seconds per call of each timer, repeats interleaved (order rotated per round).

    Interleaving spreads slow phases of a shared machine over all contenders,
    so that ratios stay meaningful even when absolute times drift. ``settle``
    seconds of sleep between two contenders let the previous one's OpenMP
    workers stop spinning (torch and Numba each keep a pool that spins a few
    ms after a parallel region, and would steal the next contender's cores).
    """
    names = list(timers)
    for name in names:  # warm-up: a few calls each
        timers[name].timeit(3)
    numbers = {name: _calibrate(timers[name], target) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            if settle and len(names) > 1:
                time.sleep(settle)
            samples[name].append(timers[name].timeit(numbers[name]) / numbers[name])
    return {name: {"median": statistics.median(v), "min": min(v), "number": numbers[name],
                   "repeats": len(v)} for name, v in samples.items()}


def _us(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 1000 else (f"{us:.1f}" if us >= 10 else f"{us:.2f}")


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


# -- contenders ----------------------------------------------------------------------


def _data(n: int, dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


def _optimizer_class(name: str):
    import fastopt
    from fastopt.registry import REGISTRY

    return getattr(fastopt, REGISTRY[name].class_name)


def _kernel_args(opt):
    """(flat p, slots, scalars, h) of a one-array fastopt optimizer after its first step."""
    if hasattr(opt, "_kernel_arguments"):
        s, c, h = opt._kernel_arguments()
        return opt._entries[0][0].flat, s, c, h
    e = opt._entries[0][0]
    return e.flat, e.slots, e.scalars, opt._hyper[0]


def fastopt_timer(name: str, n: int, dtype: str, hyper: dict):
    """Timer of ``opt.step(g)`` and the number of state rows the step reads and writes."""
    p, g = _data(n, dtype)
    opt = _optimizer_class(name)(p, **hyper)
    opt.step(g)  # compiles (or loads from the disk cache) and allocates the state
    slots = _kernel_args(opt)[1].shape[0]
    return timeit.Timer("opt.step(g)", globals={"opt": opt, "g": g}), slots


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


TORCH_MODES = {"fused": {"fused": True}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}


def torch_timer(torch_name: str, n: int, dtype: str, hyper: dict, mode: str):
    """Timer of ``opt.step()`` with ``p.grad`` set, or None if torch refuses ``mode`` on CPU."""
    torch = _torch()
    if torch is None or torch_name is None:
        return None
    p, g = _data(n, dtype)
    tp = torch.from_numpy(p).requires_grad_(True)
    tp.grad = torch.from_numpy(g)
    try:
        opt = getattr(torch.optim, torch_name)([tp], **hyper, **TORCH_MODES[mode])
        opt.step()
    except (TypeError, RuntimeError, ValueError):
        return None
    return timeit.Timer("opt.step()", globals={"opt": opt, "keep": (tp, p, g)})


def numpy_timer(n: int, dtype: str):
    from bench_workloads import NumpyAdam  # the one NumPy Adam of the suite and the scripts

    p, g = _data(n, dtype)
    opt = NumpyAdam(p)
    opt.step(g)
    return timeit.Timer("step(g)", globals={"step": opt.step, "g": g})


_STREAM: dict = {}


def _stream_kernel(slots: int):
    """prange loop reading p, g and ``slots`` state arrays and writing p and the state.

    The values rotate (state <- p, p <- g + last state row): one add per element
    so that every load is used (a dead load would be dropped); no other arithmetic.
    """
    if slots not in _STREAM:
        from numba import njit, prange

        if slots == 0:
            def kernel(p, g):
                for i in prange(p.size):
                    p[i] = g[i] + p[i]
        elif slots == 1:
            def kernel(p, g, a):
                for i in prange(p.size):
                    x = p[i]
                    p[i] = g[i] + a[i]
                    a[i] = x
        elif slots == 2:
            def kernel(p, g, a, b):
                for i in prange(p.size):
                    x, y = p[i], a[i]
                    p[i] = g[i] + b[i]
                    a[i] = x
                    b[i] = y
        elif slots == 3:
            def kernel(p, g, a, b, c):
                for i in prange(p.size):
                    x, y, z = p[i], a[i], b[i]
                    p[i] = g[i] + c[i]
                    a[i] = x
                    b[i] = y
                    c[i] = z
        else:
            raise ValueError(slots)
        _STREAM[slots] = njit(parallel=True, error_model="numpy", cache=False)(kernel)
    return _STREAM[slots]


def stream_timer(n: int, dtype: str, slots: int):
    p, g = _data(n, dtype)
    state = list(np.zeros((slots, n), dtype=dtype))
    kernel = _stream_kernel(slots)
    kernel(p, g, *state)
    names = ", ".join(f"s{i}" for i in range(slots))
    args = ", ".join(["p", "g"] + ([names] if slots else []))
    env = {"k": kernel, "p": p, "g": g, **{f"s{i}": a for i, a in enumerate(state)}}
    return timeit.Timer(f"k({args})", globals=env)


# -- W1 tables -----------------------------------------------------------------------


def _w1_target(n: int, dtype: str, fo: float, ratio: float | None, frac: float):
    """(target text, PASS/MISS) from PERFORMANCE.md, or ('—', '') where it sets none."""
    def verdict(ok):
        return "PASS" if ok else "MISS"

    need_torch = "n/a (no torch)"
    if (n, dtype) == (100, F64):
        text = "<= 3 us and >= 10x torch"
        if ratio is None:
            return text, verdict(fo <= 3e-6) + " (3 us only; no torch)"
        return text, verdict(fo <= 3e-6 and ratio >= 10)
    if (n, dtype) == (10_000, F64):
        return ">= 4x torch", need_torch if ratio is None else verdict(ratio >= 4)
    if (n, dtype) == (1_000_000, F64):
        return ">= 2x torch", need_torch if ratio is None else verdict(ratio >= 2)
    if (n, dtype) == (1_000_000, F32):
        return ">= 1.2x torch", need_torch if ratio is None else verdict(ratio >= 1.2)
    if (n, dtype) == (10_000_000, F64):
        return ">= 0.9 of limit", verdict(frac >= 0.9)
    return "—", ""


def run_w1(repeats: int, target: float) -> list[str]:
    torch = _torch()
    rows, best_rows = [], []
    for n, dtype in W1_CASES:
        timers = {"fastopt": None, "torch": None, "numpy": None, "stream": None}
        timers["fastopt"], slots = fastopt_timer("adam", n, dtype, {})
        timers["torch"] = torch_timer("Adam", n, dtype, {}, "fused") if torch else None
        timers["numpy"] = numpy_timer(n, dtype)
        timers["stream"] = stream_timer(n, dtype, slots)
        res = measure({k: t for k, t in timers.items() if t is not None}, repeats, target, SETTLE)
        for stat, out in (("median", rows), ("min", best_rows)):
            t = {k: res[k][stat] if k in res else None for k in timers}
            fo = t["fastopt"]
            ratio = t["torch"] / fo if t["torch"] else None
            frac = t["stream"] / fo
            tgt, verdict = _w1_target(n, dtype, fo, ratio, frac)
            out.append(f"| {n:.0e} | {dtype} | {_us(fo)} | {_us(t['torch'])} | {_ratio(ratio)} | "
                       f"{_us(t['numpy'])} | {_us(t['stream'])} | {_ratio(frac)} | {tgt} | {verdict} |")
        print(rows[-1], flush=True)
        del timers, res
        gc.collect()
    cols = ["| n | dtype | fastopt us | torch fused us | torch/fastopt | numpy us | stream-limit us | "
            "limit/fastopt | target | result |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    return (["### W1: Adam step through the public API (median, us per step)", ""] + cols + rows
            + ["", "Same runs, best repeat (min) of each contender: the least disturbed by other "
               "processes on a shared machine.", ""] + cols + best_rows)


def run_other(repeats: int, target: float) -> list[str]:
    from fastopt.registry import REGISTRY

    torch = _torch()
    configs = [(name, name, {}) for name in REGISTRY if name != "adam"] + EXTRA_CONFIGS
    rows = []
    for label, name, hyper in configs:
        spec = REGISTRY[name]
        for n in OTHER_SIZES:
            timers = {}
            timers["fastopt"], slots = fastopt_timer(name, n, F64, hyper)
            if torch is not None and spec.torch:
                for mode in TORCH_MODES:
                    t = torch_timer(spec.torch, n, F64, hyper, mode)
                    if t is not None:
                        timers["torch " + mode] = t
            timers["stream"] = stream_timer(n, F64, slots)
            res = measure(timers, repeats, target, SETTLE)
            fo = res["fastopt"]["median"]
            peers = {k[6:]: v["median"] for k, v in res.items() if k.startswith("torch ")}
            best = min(peers, key=peers.get) if peers else None
            tt = peers[best] if best else None
            limit = res["stream"]["median"]
            rows.append(f"| {label} | {n:.0e} | {_us(fo)} | "
                        f"{_us(tt) + f' ({best})' if best else '—'} | "
                        f"{_ratio(tt / fo if tt else None)} | {_us(limit)} ({2 + slots}r/{1 + slots}w) | "
                        f"{_ratio(limit / fo)} |")
            print(rows[-1], flush=True)
            del timers, res
            gc.collect()
    head = ["### Every other optimizer, float64 (median, us per step)", "",
            "torch: the fastest mode it accepts on CPU (fused, foreach or the for-loop), "
            "same hyperparameters (torch's defaults unless shown).", "",
            "| optimizer | n | fastopt us | torch us (mode) | torch/fastopt | stream-limit us "
            "(arrays read/written) | limit/fastopt |",
            "|---|---|---|---|---|---|---|"]
    return head + rows


# -- study: PARALLEL_MIN crossover --------------------------------------------------


def _kernel_clone(kernel, **frozen):
    """The njit kernel compiled again from its source with some module globals replaced.

    Numba freezes globals such as PRANGE_MIN into the compiled code; a clone
    with its own globals lets one process hold the serial and the prange
    variant of the same kernel and time them interleaved.
    """
    import types

    from numba import njit

    from fastopt._config import KERNEL_OPTIONS

    f = kernel.py_func
    g = dict(f.__globals__, **frozen)
    clone = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    return njit(**dict(KERNEL_OPTIONS, cache=False))(clone)


CROSSOVER_HYPER = {"sgd": {"momentum": 0.9}}  # a state buffer, as in real use


def _worker_crossover(sizes: list[int], gap_calls: int, gap: float, inprocess: bool,
                      optimizer: str = "adam") -> dict:
    from fastopt import _config

    out = {"parallel_min": _config.PARALLEL_MIN, "hot": {}, "gap": {}, "hot_min": {}, "gap_min": {}}
    kernels = None
    for dtype in (F64, F32):
        for n in sizes:
            p, g = _data(n, dtype)
            opt = _optimizer_class(optimizer)(p, **CROSSOVER_HYPER.get(optimizer, {}))
            opt.step(g)
            pf, s, c, h = _kernel_args(opt)
            if kernels is None:
                kernels = ({"serial": _kernel_clone(opt.spec.kernel, PRANGE_MIN=int(SERIAL_MIN)),
                            "prange": _kernel_clone(opt.spec.kernel, PRANGE_MIN=1)}
                           if inprocess else {"this": opt.spec.kernel})
            timers = {}
            for name, kernel in kernels.items():
                kernel(pf, g, s, c, h, 2.0)
                timers[name] = timeit.Timer("k(p, g, s, c, h, 2.0)", globals={
                    "k": kernel, "p": pf, "g": g, "s": s, "c": c, "h": h})
            # many short repeats: their minimum is the cost on an undisturbed machine
            res = measure(timers, 31, 0.001)
            times = {name: [] for name in kernels}
            for _ in range(gap_calls):  # threads idle before each call, as after a gradient
                for name, kernel in kernels.items():
                    time.sleep(gap)
                    t0 = time.perf_counter()
                    kernel(pf, g, s, c, h, 2.0)
                    times[name].append(time.perf_counter() - t0)
            for name in kernels:
                out["hot"][f"{name}/{dtype}/{n}"] = res[name]["median"]
                out["gap"][f"{name}/{dtype}/{n}"] = statistics.median(times[name])
                out["hot_min"][f"{name}/{dtype}/{n}"] = res[name]["min"]
                out["gap_min"][f"{name}/{dtype}/{n}"] = min(times[name])
    return out


TUNED_SIZES = [4_096, 8_192, 16_384, 32_768, 65_536, 131_072, 262_144, 524_288]


def run_tuned(quick: bool) -> list[str]:
    """Per optimizer, dtype and size: the medians ``_Timed`` took of the serial twin and
    the prange kernel over an array's first steps, and the one the class kept."""
    from fastopt._optimizer import _Timed
    from fastopt.registry import REGISTRY

    sizes = TUNED_SIZES[::2] if quick else TUNED_SIZES
    lines = ["### Serial twin or prange: what each optimizer class measured and kept (_Timed)", "",
             f"Medians of {_Timed.ROUNDS} timed steps each (us) over an array's first steps, "
             "serial and prange in alternate pairs, the second step of each pair timed; the "
             "faster is kept (ties: serial). Back-to-back steps.", "",
             "| optimizer | dtype | " + " | ".join(f"{n:,}" for n in sizes) + " |",
             "|---|---|" + "---|" * len(sizes)]
    for name in REGISTRY:
        for dtype in (F64, F32):
            cells = []
            for n in sizes:
                p, g = _data(n, dtype)
                opt = _optimizer_class(name)(p, **CROSSOVER_HYPER.get(name, {}))
                entry = opt._flat[0][0]
                timed = entry.kernel
                while entry.kernel is timed:
                    opt.step(g)
                serial, parallel = (t / 1e3 for t in timed.medians())
                kept = "prange" if entry.kernel is timed.kernels[1] else "serial"
                cells.append(f"{serial:.1f} / {parallel:.1f} {kept}")
            lines.append(f"| {name} | {dtype} | " + " | ".join(cells) + " |")
    lines += ["", "Each cell: serial us / prange us, then the one kept."]
    return lines


def _run_worker(kind: str, env_extra: dict, extra_args: list[str]) -> dict:
    env = dict(os.environ, **env_extra)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", kind] + extra_args
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _crossover_table(title: str, sizes, get, gap: float, stat: str) -> list[str]:
    sfx = "" if stat == "median" else "_min"
    lines = [title + f" — {stat} of the repeats", "",
             "hot = back-to-back calls (worker threads still spinning); after idle = each call "
             f"after a {gap * 1e3:.0f} ms sleep (threads parked, as after a gradient computation). "
             "speedup = serial time / prange time.", "",
             "| n | f64 serial us | f64 prange us | f64 speedup hot | f64 speedup after idle | "
             "f32 serial us | f32 prange us | f32 speedup hot | f32 speedup after idle |",
             "|---|---|---|---|---|---|---|---|---|"]
    crossing = {}
    for n in sizes:
        cells = [f"{n:,}"]
        for dtype in (F64, F32):
            s_hot, p_hot = get("serial", "hot" + sfx, dtype, n), get("prange", "hot" + sfx, dtype, n)
            s_gap, p_gap = get("serial", "gap" + sfx, dtype, n), get("prange", "gap" + sfx, dtype, n)
            cells += [_us(s_hot), _us(p_hot), f"{s_hot / p_hot:.2f}", f"{s_gap / p_gap:.2f}"]
            for mode, sp in (("hot", s_hot / p_hot), ("after idle", s_gap / p_gap)):
                crossing.setdefault((dtype, mode), []).append((n, sp))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for (dtype, mode), pts in crossing.items():
        # smallest size from which prange wins at every larger size
        wins = [n for i, (n, _) in enumerate(pts) if all(sp > 1 for _, sp in pts[i:])]
        below = [n for n, _ in pts if wins and n < wins[0]]
        where = (f"between {below[-1]:,} and {wins[0]:,}" if below else f"at or below {wins[0]:,}") \
            if wins else f"above {pts[-1][0]:,} (or not consistently)"
        lines.append(f"* {dtype}, {mode}: prange wins from {where} elements")
    return lines


def run_crossover(quick: bool, optimizer: str = "adam") -> list[str]:
    """Two methods: one subprocess per FASTOPT_PARALLEL_MIN (own NUMBA_CACHE_DIR),
    alternated over rounds; and one process timing a serial and a prange clone
    of the kernel interleaved (robust when the machine's load drifts)."""
    sizes = CROSSOVER_SIZES[1:-2] if quick else CROSSOVER_SIZES
    rounds = 1 if quick else 3
    gap_calls = 31 if quick else 101
    gap = 0.002
    tmp = Path(tempfile.mkdtemp(prefix="fastopt_parallel_min_"))
    settings = {"serial": SERIAL_MIN, "prange": "1"}
    runs: dict[str, list[dict]] = {k: [] for k in settings}
    worker_args = ["--sizes", ",".join(map(str, sizes)), "--gap-calls", str(gap_calls),
                   "--gap", str(gap), "--optimizer", optimizer]
    try:
        for r in range(rounds):
            order = list(settings) if r % 2 == 0 else list(settings)[::-1]
            for name in order:
                env = {"FASTOPT_PARALLEL_MIN": settings[name], "FASTOPT_CACHE": "1",
                       "NUMBA_CACHE_DIR": str(tmp / name)}
                res = _run_worker("crossover", env, worker_args)
                if str(res["parallel_min"]) != settings[name]:
                    raise RuntimeError(f"worker saw PARALLEL_MIN={res['parallel_min']}")
                runs[name].append(res)
                print(f"  crossover round {r + 1}/{rounds}: {name} done", flush=True)
        env = {"NUMBA_CACHE_DIR": str(tmp / "clones")}
        inproc = _run_worker("crossover", env, worker_args + ["--inprocess"])
        print("  crossover in-process clones done", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def from_subprocesses(name, mode, dtype, n):
        pick = min if mode.endswith("_min") else statistics.median
        return pick(run[mode][f"this/{dtype}/{n}"] for run in runs[name])

    def from_clones(name, mode, dtype, n):
        return inproc[mode][f"{name}/{dtype}/{n}"]

    lines = []
    label = optimizer + "".join(f" ({k}={v})" for k, v in CROSSOVER_HYPER.get(optimizer, {}).items())
    for stat in ("median", "min"):
        lines += _crossover_table(
            f"### PARALLEL_MIN: {label} kernel called directly, serial vs prange, one subprocess per "
            f"FASTOPT_PARALLEL_MIN ({rounds} alternated rounds)", sizes, from_subprocesses, gap, stat)
        lines += [""] + _crossover_table(
            f"### PARALLEL_MIN, cross-check: serial and prange clones of the {label} kernel timed "
            "interleaved in one process", sizes, from_clones, gap, stat) + [""]
    return lines


# -- study: opt.step overhead at n = 100 --------------------------------------------


def run_overhead(repeats: int, target: float) -> list[str]:
    import cProfile
    import pstats

    from numba import njit

    n = 100
    p, g = _data(n, F64)
    opt = _optimizer_class("adam")(p)
    opt.step(g)
    kernel = opt.spec.kernel
    pf, s, c, h = _kernel_args(opt)

    @njit
    def noop6(p, g, s, c, h, t):
        pass

    @njit
    def noop0():
        pass

    noop6(pf, g, s, c, h, 1.0)
    noop0()
    env = {"opt": opt, "g": g, "k": kernel, "noop6": noop6, "noop0": noop0, "pf": pf, "s": s,
           "c": c, "h": h, "e": opt._entries[0][0] if hasattr(opt, "_entries") else None}
    stmts = {
        "opt.step(g) (public API)": "opt.step(g)",
        "kernel(p, g, s, c, h, t) via the Numba dispatcher": "k(pf, g, s, c, h, 2.0)",
        "no-op njit, same 6 arguments (dispatch + unboxing)": "noop6(pf, g, s, c, h, 2.0)",
        "no-op njit, no arguments": "noop0()",
        # private helpers, by the names they had: rows whose helper is gone are skipped
        "opt._grad_list(g) (gradient checks, before 6d54f8b)": "opt._grad_list(g)",
        "opt._checked_grads(g) (gradient checks)": "opt._checked_grads(g)",
        "g.reshape(-1)": "g.reshape(-1)",
        "float(e.step)": "float(e.step)",
        "scan param_groups for edits": "for group in opt.param_groups:\n    if group.edited: pass",
    }
    timers = {}
    for label, stmt in stmts.items():
        t = timeit.Timer(stmt, globals=env)
        try:
            t.timeit(1)
        except Exception:  # a private helper that changed: skip its row
            continue
        timers[label] = t
    torch = _torch()
    if torch is not None:
        timers["torch.optim.Adam(fused=True).step(), n=100"] = torch_timer("Adam", n, F64, {}, "fused")
    res = measure(timers, repeats, target)
    total = res["opt.step(g) (public API)"]["median"]
    lines = ["### opt.step overhead, Adam, n = 100, float64 (median ns per call)", "",
             "| what | ns | share of opt.step |", "|---|---|---|"]
    for label, r in res.items():
        lines.append(f"| {label} | {r['median'] * 1e9:,.0f} | {r['median'] / total:.0%} |")
    kern = res["kernel(p, g, s, c, h, t) via the Numba dispatcher"]["median"]
    noop = res["no-op njit, same 6 arguments (dispatch + unboxing)"]["median"]
    lines += ["", f"* Python path around the kernel: {(total - kern) * 1e9:,.0f} ns; Numba dispatch "
                  f"and unboxing: {noop * 1e9:,.0f} ns; kernel work (incl. its prologue): "
                  f"{(kern - noop) * 1e9:,.0f} ns.",
              f"* target <= 3 us per opt.step at n=100: "
              f"{'PASS' if total <= 3e-6 else 'MISS'} ({total * 1e6:.2f} us)"]
    # cProfile: which Python functions the time is spent in (cProfile inflates every call).
    prof = cProfile.Profile()
    calls = 20000
    prof.enable()
    for _ in range(calls):
        opt.step(g)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (fname, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        rows.append((tt, ct, nc, f"{Path(fname).name}:{line}({func})" if line else func))
    rows.sort(reverse=True)
    lines += ["", f"cProfile of {calls:,} opt.step calls (profiler overhead included; "
                  "per opt.step call):", "", "| function | calls/step | tottime ns/step | "
                  "cumtime ns/step |", "|---|---|---|---|"]
    for tt, ct, nc, name in rows[:10]:
        lines.append(f"| `{name}` | {nc / calls:.0f} | {tt / calls * 1e9:,.0f} | {ct / calls * 1e9:,.0f} |")
    return lines


# -- study: IR / asm / fastmath ----------------------------------------------------


def _functions(ir: str) -> dict[str, str]:
    """LLVM IR text split into {function name: body}."""
    out, name, body = {}, None, []
    for line in ir.splitlines():
        if line.startswith("define "):
            name = line.split("@", 1)[1].split("(", 1)[0].strip('"')
            body = [line]
        elif name is not None:
            body.append(line)
            if line.startswith("}"):
                out[name] = "\n".join(body)
                name = None
    return out


def _ir_summary(text: str) -> dict:
    import re

    widths = sorted({f"<{w} x {t}>" for w, t in re.findall(r"<(\d+) x (float|double)>", text)})
    flags = re.findall(r"= f(?:mul|add|sub|div) ((?:[a-z]+ )*)(?:<\d+ x )?(?:float|double)", text)
    return {"vectors": widths, "fpext": len(re.findall(r"\bfpext\b", text)),
            "double_ops": len(re.findall(r"= f(?:add|sub|mul|div) (?:[a-z]+ )*double\b", text)),
            "flags": sorted({f.strip() for f in flags})}


INSPECT_VARIANTS = {  # label -> njit options replacing the kernel's own (same source)
    "FASTMATH=1": {},
    "FASTMATH=0": {"fastmath": False},
    "fastmath=True": {"fastmath": True},
}


def _ir_of(kernel, dtype: str) -> dict:
    import re

    sig = next(sg for sg in kernel.signatures if str(sg[0].dtype) == dtype)
    funcs = _functions(kernel.inspect_llvm(sig))
    serial = [v for k, v in funcs.items() if "_kernels" in k and not k.startswith(("cpython.", "cfunc."))]
    body = [v for k, v in funcs.items() if "parfor_gufunc" in k and not k.startswith("__gufunc__")]
    asm = kernel.inspect_asm(sig)
    return {"serial": _ir_summary("\n".join(serial)), "prange": _ir_summary("\n".join(body)),
            "asm": {k: len(re.findall(pat, asm)) for k, pat in (
                ("zmm", r"%zmm\d+"), ("ymm", r"%ymm\d+"), ("packed sqrt/div", r"\bv(?:sqrt|div)p[sd]\b"),
                ("float->double converts", r"\bvcvt(?:ps2pd|ss2sd)\b"))}}


def _worker_inspect(kernel_names: list[str], n: int) -> dict:
    """IR/asm of each kernel as configured, and ns/element of fastmath variants timed interleaved."""
    import types

    from numba import njit

    from fastopt import _config
    from fastopt.registry import REGISTRY

    out = {"fastmath": sorted(_config.KERNEL_FASTMATH) if _config.KERNEL_FASTMATH else False,
           "parallel_min": _config.PARALLEL_MIN, "kernels": {}}

    def variant(kernel, options):
        if not options:
            return kernel
        f = kernel.py_func
        clone = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
        return njit(**dict(_config.KERNEL_OPTIONS, cache=False, **options))(clone)

    variants = dict(INSPECT_VARIANTS)
    for name in kernel_names:
        hyper = CROSSOVER_HYPER.get(name, {})
        kernel = REGISTRY[name].kernel
        extra = {"error_model='python'": {"error_model": "python"}} if name == "adam" else {}
        compiled = {label: variant(kernel, opts) for label, opts in {**variants, **extra}.items()}
        for dtype in (F64, F32):
            p, g = _data(n, dtype)
            opt = _optimizer_class(name)(p, **hyper)
            opt.step(g)
            pf, s, c, h = _kernel_args(opt)
            timers = {}
            for label, k in compiled.items():
                k(pf, g, s, c, h, 2.0)
                timers[label] = timeit.Timer("k(p, g, s, c, h, 2.0)", globals={
                    "k": k, "p": pf, "g": g, "s": s, "c": c, "h": h})
            res = measure(timers, 41, 0.003)
            out["kernels"][f"{name}/{dtype}"] = {
                label: {"ns_per_element": res[label]["median"] / n * 1e9,
                        "ns_per_element_min": res[label]["min"] / n * 1e9,
                        **_ir_of(compiled[label], dtype)} for label in compiled}
    return out


def run_inspect(quick: bool) -> list[str]:
    from fastopt.registry import REGISTRY

    names, seen = [], set()
    for name, spec in REGISTRY.items():
        if spec.kernel not in seen:
            seen.add(spec.kernel)
            names.append(name)
    if quick:
        names = ["adam"]
    n = 10_000
    tmp = Path(tempfile.mkdtemp(prefix="fastopt_inspect_"))
    try:
        env = {"FASTOPT_FASTMATH": "1", "FASTOPT_CACHE": "0", "FASTOPT_PARALLEL_MIN": SERIAL_MIN,
               "NUMBA_CACHE_DIR": str(tmp)}
        res = _run_worker("inspect", env, ["--kernels", ",".join(names), "--n", str(n)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def vec(summary):
        return ", ".join(summary["vectors"]) or "scalar only"

    labels = list(INSPECT_VARIANTS)
    lines = [f"### Kernels: LLVM IR vector types, float->double promotion, ns/element "
             f"(n = {n:,}, serial loop)", "",
             "As configured (FASTOPT_FASTMATH=1): vector types in the serial loop's function and in "
             "the prange body (the parfor gufunc Numba outlines); fpext = float->double conversions "
             "anywhere in them (0: float32 data never goes through float64). ns/element: median "
             "(min) of 41 interleaved repeats of the kernel compiled three ways from the same "
             "source: FASTMATH=1 (fastopt's flags, no nnan/ninf), FASTMATH=0 (what "
             "FASTOPT_FASTMATH=0 compiles), fastmath=True (all flags). Note: vectors in the IR do "
             "not prove the vector loop is the one that runs (see the README).", "",
             "| kernel | dtype | serial loop vectors | prange body vectors | fpext serial/prange | "
             "asm zmm refs | " + " | ".join(f"ns/el {lb}" for lb in labels) + " | FASTMATH=0 vectors |",
             "|---|---|---|---|---|---|" + "---|" * len(labels) + "---|"]
    for key, r in res["kernels"].items():
        name, dtype = key.split("/")
        cur = r["FASTMATH=1"]
        times = " | ".join(f"{r[lb]['ns_per_element']:.2f} ({r[lb]['ns_per_element_min']:.2f})"
                           for lb in labels)
        lines.append(f"| {name} | {dtype} | {vec(cur['serial'])} | {vec(cur['prange'])} | "
                     f"{cur['serial']['fpext']}/{cur['prange']['fpext']} | {cur['asm']['zmm']} | "
                     f"{times} | {vec(r['FASTMATH=0']['serial'])} |")
    lines += ["", f"Adam compiled from the same source with other options (serial loop, n = {n:,}, "
              "interleaved):", "", "| variant | dtype | ns/element median (min) | serial loop vectors "
              "| fp flags on the arithmetic |", "|---|---|---|---|---|"]
    for dtype in (F64, F32):
        r = res["kernels"].get(f"adam/{dtype}", {})
        for label, v in r.items():
            lines.append(f"| {label} | {dtype} | {v['ns_per_element']:.2f} ({v['ns_per_element_min']:.2f}) "
                         f"| {vec(v['serial'])} | {'; '.join(v['serial']['flags']) or 'none'} |")
    return lines


# -- main ----------------------------------------------------------------------------


class LoadMeter:
    """CPUs kept busy by OTHER processes while this run measured (Linux /proc/stat).

    On a shared machine this is the first thing to read: at 1.0 of 2 CPUs busy
    elsewhere, parallel kernels lose most of their second core.
    """

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        ticks = list(map(int, fields))
        t = os.times()
        return time.monotonic(), sum(ticks) - ticks[3] - ticks[4], t.user + t.system + \
            t.children_user + t.children_system

    def others(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        wall = end[0] - self.start[0]
        busy = (end[1] - self.start[1]) / hz
        own = end[2] - self.start[2]
        return max(0.0, (busy - own) / wall) if wall > 0 else None



def _environment() -> list[str]:
    import numba

    from fastopt import _config

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = _torch()
    _stream_kernel(0)(np.zeros(4), np.zeros(4))  # starts Numba's thread pool
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "?"
    return [f"- {time.strftime('%Y-%m-%d %H:%M')}, {cpu}, {os.cpu_count()} CPUs; Python "
            f"{platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__} "
            f"({layer}, {numba.config.NUMBA_NUM_THREADS} threads), "
            + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
               else "torch: not installed"),
            f"- fastopt: kernels' prange from {_config.PRANGE_MIN} elements, "
            + ("optimizer classes time serial vs prange up to "
               f"{_config.TUNE_MAX} (_Timed); " if _config.TUNE else "no timing; ")
            + f"loops' PARALLEL_MIN={_config.PARALLEL_MIN_F64} (float64) / "
            f"{_config.PARALLEL_MIN} (float32), kernel fast-math flags={sorted(_config.KERNEL_FASTMATH or [])}, "
            f"CACHE={_config.CACHE}; NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR', '(default)')}"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="7 short repeats (a smoke run)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    ap.add_argument("--repeats", type=int, help="repeats per measurement (>= 7; default 11, quick 7)")
    ap.add_argument("--crossover", action="store_true", help="PARALLEL_MIN study (subprocesses)")
    ap.add_argument("--overhead", action="store_true", help="opt.step overhead at n=100")
    ap.add_argument("--inspect", action="store_true", help="IR/asm/fastmath study (subprocesses)")
    ap.add_argument("--tuned", action="store_true",
                    help="what the optimizer classes time and keep (serial vs prange)")
    ap.add_argument("--all", action="store_true", help="W1 tables and all studies")
    ap.add_argument("--fresh-cache", action="store_true",
                    help="compile into a temporary NUMBA_CACHE_DIR (ignores stale disk caches)")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", help=argparse.SUPPRESS)
    ap.add_argument("--gap-calls", type=int, default=101, help=argparse.SUPPRESS)
    ap.add_argument("--gap", type=float, default=0.002, help=argparse.SUPPRESS)
    ap.add_argument("--kernels", help=argparse.SUPPRESS)
    ap.add_argument("--inprocess", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--optimizer", default="adam", help=argparse.SUPPRESS)
    ap.add_argument("--crossover-optimizers", default="adam", metavar="NAMES",
                    help="comma-separated registry names for --crossover (default: adam)")
    ap.add_argument("--n", type=int, default=10_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._worker == "crossover":
        print(json.dumps(_worker_crossover([int(x) for x in args.sizes.split(",")],
                                           args.gap_calls, args.gap, args.inprocess,
                                           args.optimizer)))
        return 0
    if args._worker == "inspect":
        print(json.dumps(_worker_inspect(args.kernels.split(","), args.n)))
        return 0

    tmp_cache = None
    if args.fresh_cache:
        tmp_cache = tempfile.mkdtemp(prefix="fastopt_w1_cache_")
        os.environ["NUMBA_CACHE_DIR"] = tmp_cache  # before Numba is imported
    repeats = args.repeats or (7 if args.quick else 11)
    if repeats < 7:
        ap.error("--repeats must be >= 7")
    target = 0.005 if args.quick else 0.02
    studies_only = (args.crossover or args.overhead or args.inspect or args.tuned) and not args.all
    out = ["## W1 peer comparison (benchmarks/w1_step.py)", ""] + _environment() + [
        f"- median of {repeats} interleaved repeats, each >= {target * 1e3:.0f} ms of back-to-back "
        "calls, after a warm-up", ""]
    print("\n".join(out), flush=True)
    header_end = len(out) - 1
    meter = LoadMeter()
    try:
        sections = []
        if not studies_only:
            sections.append(run_w1(repeats, target))
            sections.append(run_other(repeats, target))
        if args.overhead or args.all:
            sections.append(run_overhead(max(repeats, 15), 0.01))
        if args.crossover or args.all:
            for name in args.crossover_optimizers.split(","):
                sections.append(run_crossover(args.quick, name.strip()))
        if args.tuned or args.all:
            sections.append(run_tuned(args.quick))
        if args.inspect or args.all:
            sections.append(run_inspect(args.quick))
    finally:
        if tmp_cache:
            shutil.rmtree(tmp_cache, ignore_errors=True)
    others = meter.others()
    if others is not None:
        out.insert(header_end,
                   f"- other processes kept {others:.2f} of {os.cpu_count()} CPUs busy on average "
                   "during this run" + (" (results disturbed: rerun on a quiet machine)"
                                        if others > 0.25 else ""))
    for sec in sections:
        out += sec + [""]
    text = "\n".join(out)
    print("\n" + text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
