#!/usr/bin/env python
"""fastopt against its peers on W1-W4 of PERFORMANCE.md, in one process, as one Markdown table.

    python benchmarks/compare.py [--quick] [--rounds R] [--only W1,W3] [--stat median|min]
                                 [--threads T]
                                 [--output docs/_generated/benchmark_table.md | --no-write]

Runs the workloads of ``bench_workloads.py`` (the ones the asv suite's
``Peer*`` benchmarks time) for fastopt and every installed peer (torch,
jax + optax, NumPy, scikit-learn; a missing one is left out), interleaved
over rounds in this process (W4: fresh subprocesses), and writes the median
times and the ratios ``peer time / fastopt time`` (above 1: fastopt is
faster) with the PERFORMANCE.md targets to ``docs/_generated/benchmark_table.md``
(the docs' benchmark page includes it) and stdout.

Machines are noisy: read the ratios of one run, not absolute times across
runs. The load average before and after is printed with the table; on a
busy machine, run again. There, two-thread work (Numba's prange, torch's
intra-op pool) waits for a core at every parallel region: ``--stat min``
and ``--threads 1`` show what the code does without the neighbours. The per-workload scripts (``w1_step.py``,
``w2_epoch.py`` ...) go deeper into each workload; this one is the summary.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):  # this checkout's fastopt, and bench_workloads
    if path not in sys.path:
        sys.path.insert(0, path)

OUTPUT = ROOT / "docs" / "_generated" / "benchmark_table.md"
TARGETS = {  # PERFORMANCE.md: (workload, case) -> (peer, minimum of peer time / fastopt time)
    ("W1", (100, "float64")): ("torch", 10.0),
    ("W1", (10_000, "float64")): ("torch", 4.0),
    ("W1", (1_000_000, "float64")): ("torch", 2.0),
    ("W1", (1_000_000, "float32")): ("torch", 1.2),
    ("W1", (10_000_000, "float64")): ("limit", 0.9),
}
W1_CASES = [(100, "float64"), (10_000, "float64"), (1_000_000, "float64"),
            (10_000_000, "float64"), (1_000_000, "float32")]
OTHER_SIZES = (10_000, 1_000_000)
W4_LIMITS = {"import fastopt": 0.5, "first minimize, built-in objective": 1.0,
             "first minimize, user's jitted objective": 1.5}


# ----------------------------------------------------------------------- timing


def _calibrate(run, target: float) -> int:
    """Calls per sample so that one sample lasts about ``target`` seconds."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            run()
        elapsed = time.perf_counter() - t0
        if elapsed >= target or number >= 1 << 20:
            return number
        number = int(min(number * max(2.0, 1.2 * target / max(elapsed, 1e-9)), 1 << 20))


STAT = statistics.median  # --stat min: the best sample (least disturbed by other processes)


def measure(runs: dict, rounds: int, target: float, budget: float) -> dict:
    """Seconds per call of each runner (median of the samples, or ``STAT``), samples
    interleaved (order rotated per round).

    A runner whose samples have used ``budget`` seconds stops after 3 samples
    (the slow peers: a torch loop of 10,000 iterations takes seconds).
    """
    names = list(runs)
    number = {k: _calibrate(runs[k], target) for k in names}
    samples = {k: [] for k in names}
    spent = dict.fromkeys(names, 0.0)
    for r in range(rounds):
        for k in names[r % len(names):] + names[: r % len(names)]:
            if len(samples[k]) >= 3 and spent[k] > budget:
                continue
            time.sleep(0.01)  # let the previous runner's thread pool stop spinning
            t0 = time.perf_counter()
            for _ in range(number[k]):
                runs[k]()
            dt = time.perf_counter() - t0
            spent[k] += dt
            samples[k].append(dt / number[k])
    return {k: STAT(v) for k, v in samples.items()}


def _build(out_notes: list, label: str, factory, *args, **kwargs):
    """factory(*args) or None when the peer is missing (noted once)."""
    import bench_workloads as W

    try:
        return factory(*args, **kwargs)
    except W.Missing as e:
        note = f"{label}: skipped ({e})"
        if note not in out_notes:
            out_notes.append(note)
        return None


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def _n(n: int) -> str:
    """1e2, 1e4, ... for the sizes."""
    return f"{n:.0e}".replace("e+0", "e").replace("e+", "e")


def _x(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.0f}x" if ratio >= 100 else (f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x")


def _x_fine(ratio: float | None) -> str:
    """``_x`` with three decimals below 10x, for ratios beside a target (1.996x is no 2x)."""
    return f"{ratio:.3f}x" if ratio is not None and ratio < 10 else _x(ratio)


def _verdict(ratio: float | None, need: float) -> str:
    if ratio is None:
        return "n/a"
    return "PASS" if ratio >= need else "MISS"


# ----------------------------------------------------------------------- workloads


def run_w1(rounds, target, budget, summary, notes) -> list[str]:
    import bench_workloads as W

    lines = ["### W1: one optimizer step, in place (Adam, torch's defaults)", "",
             "| n | dtype | fastopt | torch fused | torch / fastopt | jax + optax (jit) | "
             "jax / fastopt | numpy | numpy / fastopt | bandwidth floor | floor / fastopt |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    below_floor = []  # targets faster than only moving the step's arrays, in this run
    for n, dtype in W1_CASES:
        runs = {"fastopt": W.fastopt_step("adam", n, dtype)}
        torch = _build(notes, "torch", W.torch_step, "adam", n, dtype)
        if torch is not None:
            runs["torch"] = torch[0]
        jax = _build(notes, "jax + optax", W.jax_step, n, dtype)
        if jax is not None:
            runs["jax"] = jax
        runs["numpy"] = W.numpy_step(n, dtype)
        runs["limit"] = W.stream_limit(n, dtype)
        med = measure(runs, rounds, target, budget)
        fo = med["fastopt"]
        ratio = {k: med[k] / fo for k in med}
        lines.append(f"| {_n(n)} | {dtype} | {_t(fo)} | " + " | ".join(
            f"{_t(med.get(k))} | {_x(ratio.get(k))}" for k in ("torch", "jax", "numpy", "limit"))
            + " |")
        print(lines[-1], flush=True)
        if ("W1", (n, dtype)) in TARGETS:
            peer, need = TARGETS[("W1", (n, dtype))]
            if peer == "torch" and "torch" in med and med["torch"] / need < med["limit"]:
                below_floor.append(f"n={_n(n)} {dtype}: {need:g}x torch fused is "
                                   f"{_t(med['torch'] / need)} a step, under the floor's "
                                   f"{_t(med['limit'])}")
            what = "torch.optim.Adam(fused=True)" if peer == "torch" else "bandwidth floor"
            summary.append((f"W1 Adam step, n={_n(n)} {dtype}", _t(fo), what, _t(med.get(peer)),
                            ratio.get(peer), f">= {need:g}x", _verdict(ratio.get(peer), need)))
        del runs
    lines += ["", "The bandwidth floor is a parallel loop that only reads the 4 arrays of an "
              "Adam step and writes 3 (PERFORMANCE.md); floor / fastopt near 1 means the step "
              "runs at memory speed.", ""]
    if below_floor:
        lines += ["A target under the floor measured in the same run cannot be met by any "
                  "implementation on this machine: " + "; ".join(below_floor) + ".", ""]

    from fastopt.registry import REGISTRY

    rows = []
    for method, spec in REGISTRY.items():
        if method == "adam":
            continue
        for n in OTHER_SIZES:
            runs = {"fastopt": W.fastopt_step(method, n, "float64")}
            torch = _build(notes, "torch", W.torch_step, method, n, "float64") if spec.torch else None
            if torch is not None:
                runs["torch"] = torch[0]
            med = measure(runs, rounds, target, budget)
            fo = med["fastopt"]
            tt = med.get("torch")
            rows.append(f"| {spec.class_name} | {_n(n)} | {_t(fo)} | "
                        f"{_t(tt)}{f' ({torch[1]})' if torch else ''} | "
                        f"{_x(tt / fo if tt else None)} |")
            print(rows[-1], flush=True)
    lines += ["#### Every other optimizer, float64, against its torch.optim counterpart", "",
              "| optimizer | n | fastopt | torch (mode) | torch / fastopt |",
              "|---|---|---|---|---|", *rows, ""]
    return lines


def run_w2(rounds, target, budget, summary, notes) -> list[str]:
    import bench_workloads as W

    lines = ["### W2: one training epoch, logistic regression, mini-batch Adam (lr 1e-3)", ""]
    for case, (n, d, bs) in W.W2_CASES.items():
        X, y = W.w2_data(n, d)
        labels = {"fastopt": "fastopt (compiled epoch)",
                  "jax": "jax + optax (lax.scan under jit)", "torch": "torch loop (fused Adam)",
                  "numpy": "numpy loop"}
        runs = {"fastopt": W.fastopt_epoch(X, y, bs)}
        for key, factory in (("jax", W.jax_epoch), ("torch", W.torch_epoch),
                             ("numpy", W.numpy_epoch)):
            run = _build(notes, labels[key], factory, X, y, bs)
            if run is not None:
                runs[key] = run
        for model in W.SKLEARN_MODELS:
            run = _build(notes, "scikit-learn", W.sklearn_epoch, X, y, bs, model)
            if run is not None:
                key = f"sklearn {model}"
                labels[key] = f"scikit-learn {model}" + (
                    " (per-sample SGD)" if model == "SGDClassifier" else f" (batch {bs})")
                runs[key] = run
        with W.HelperShare() as helper:
            med = measure(runs, rounds, target, budget)
        fo = med["fastopt"]
        lines += [f"#### {n:,} x {d} float64, batch {bs} ({-(-n // bs):,} steps)", "",
                  "| implementation | time / epoch | its time / fastopt's | full-data loss after |",
                  "|---|---|---|---|"]
        for key in runs:
            loss = W.logistic_loss(runs[key]()[1], X, y)
            lines.append(f"| {labels[key]} | {_t(med[key])} | {_x(med[key] / fo)} | {loss:.6f} |")
            print(lines[-1], flush=True)
        lines.append("")
        said = helper.sentence()
        if said is not None:
            lines += [said, ""]
            print(said, flush=True)
        if "jax" in med:
            summary.append((f"W2 epoch, {n // 1000}k x {d}, batch {bs}", _t(fo),
                            "jax + optax (lax.scan, jit)", _t(med["jax"]), med["jax"] / fo,
                            ">= 2x", _verdict(med["jax"] / fo, 2.0)))
        del runs, X, y
    lines += ["scikit-learn's MLPClassifier(hidden_layer_sizes=()) is a logistic regression "
              "with an intercept; SGDClassifier does per-sample SGD: neither is exactly W2's "
              "algorithm (the jax, torch and numpy loops are).", ""]
    lines += _partial_fit_table(rounds, target, budget, notes)
    return lines


def _partial_fit_table(rounds, target, budget, notes) -> list[str]:
    """Streaming fits: one estimator partial_fit per small batch (not a PERFORMANCE.md target)."""
    import bench_workloads as W

    n, d, bs = W.PARTIAL_FIT
    X, y = W.partial_fit_data()
    runs = {"fastopt": W.fastopt_partial_fit(X, y)}
    run = _build(notes, "scikit-learn", W.sklearn_partial_fit, X, y)
    if run is not None:
        runs["sklearn"] = run
    med = measure(runs, rounds, target, budget)
    labels = {"fastopt": "fastopt LogisticRegression (Adam)",
              "sklearn": "scikit-learn SGDClassifier (per-sample SGD)"}
    lines = [f"#### Streaming: one `partial_fit` of {bs} rows ({d} features), per call", "",
             "| implementation | time / call | its time / fastopt's |", "|---|---|---|"]
    for key in runs:
        lines.append(f"| {labels[key]} | {_t(med[key])} | {_x(med[key] / med['fastopt'])} |")
        print(lines[-1], flush=True)
    return lines + ["", "Mostly per-call overhead (input validation, optimizer state in and "
                    "out): both do little arithmetic on 32 rows.", ""]


def run_w3(rounds, target, budget, summary, notes) -> list[str]:
    import bench_workloads as W

    lines = ["### W3: minimize loop overhead, Adam (lr 1e-3) on Rosenbrock, gtol = 0", "",
             "| case | fastopt, jitted objective | fastopt, jac='inplace' | "
             "fastopt, Python objective | jax fori_loop (jit) | jax / fastopt jitted | "
             "jax / fastopt in place | bare numpy loop | fastopt Python / numpy loop | "
             "torch loop | torch / fastopt jitted |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case, (n, iters) in W.W3_CASES.items():
        runs = {"jitted": W.fastopt_minimize(n, iters, "jitted"),
                "inplace": W.fastopt_minimize(n, iters, "inplace"),
                "python": W.fastopt_minimize(n, iters, "python"),
                "numpy": W.numpy_minimize(n, iters)}
        for key, factory, label in (("jax", W.jax_minimize, "jax + optax"),
                                    ("torch", W.torch_minimize, "torch")):
            run = _build(notes, label, factory, n, iters)
            if run is not None:
                runs[key] = run
        med = measure(runs, rounds, target, budget)
        fj, fi, fp, npy = med["jitted"], med["inplace"], med["python"], med["numpy"]
        jx, tt = med.get("jax"), med.get("torch")
        lines.append(f"| {case} | {_t(fj)} | {_t(fi)} | {_t(fp)} | {_t(jx)} | "
                     f"{_x(jx / fj if jx else None)} | {_x(jx / fi if jx else None)} | "
                     f"{_t(npy)} | {fp / npy:.2f} | {_t(tt)} | {_x(tt / fj if tt else None)} |")
        print(lines[-1], flush=True)
        if jx:
            summary.append((f"W3 minimize {case}, jitted", _t(fj), "jax fori_loop (jit)",
                            _t(jx), jx / fj, ">= 1x", _verdict(jx / fj, 1.0)))
            summary.append((f"W3 minimize {case}, jitted, jac='inplace'", _t(fi),
                            "jax fori_loop (jit)", _t(jx), jx / fi, ">= 1x",
                            _verdict(jx / fi, 1.0)))
        summary.append((f"W3 minimize {case}, Python objective", _t(fp),
                        "bare numpy loop, same fun", _t(npy), npy / fp, ">= 0.83x (<= 1.2x slower)",
                        _verdict(npy / fp, 1 / 1.2)))
    lines += ["", "The Python-objective row's target is fastopt <= 1.2x the bare NumPy loop "
              "around the same function.", ""]
    return lines


def run_w4(rounds, summary, notes) -> list[str]:
    import bench_workloads as W

    env = W.fresh_env()
    scripts = dict(W.COLD_START)
    try:
        W.need("jax")
        W.need("optax")
        scripts[W.JAX_COLD_START[0]] = W.JAX_COLD_START[1]
    except W.Missing as e:
        notes.append(f"jax + optax: skipped ({e})")
    for source in scripts.values():  # warm Numba's disk cache (and the OS file cache)
        W.cold_start(source, env)
    times = {k: [] for k in scripts}
    for _ in range(rounds):
        for k, source in scripts.items():
            t0 = time.perf_counter()
            W.cold_start(source, env)
            times[k].append(time.perf_counter() - t0)
    med = {k: STAT(v) for k, v in times.items()}
    jx = med.get(W.JAX_COLD_START[0])
    lines = ["### W4: cold start, a fresh `python -c` (Numba disk cache warm)", "",
             f"{STAT.__name__.capitalize()} of {rounds} fresh processes each, wall time "
             "including interpreter start-up.",
             "", "| fresh process | time | target | result | jax's cold start / this |",
             "|---|---|---|---|---|"]
    for k, t in med.items():
        limit = W4_LIMITS.get(k)
        verdict = "" if limit is None else ("PASS" if t <= limit else "MISS")
        vs_jax = jx / t if jx and k.startswith("first minimize") else None
        lines.append(f"| {k} | {_t(t)} | {'—' if limit is None else f'<= {limit:g} s'} | "
                     f"{verdict} | {_x(vs_jax)} |")
        print(lines[-1], flush=True)
        if limit is not None:
            summary.append((f"W4 {k}", _t(t), "its target", f"{limit:g} s", limit / t,
                            f"<= {limit:g} s", verdict))
    lines.append("")
    return lines


# ----------------------------------------------------------------------- report


def _versions() -> str:
    import importlib

    parts = [f"python {platform.python_version()}"]
    for name in ("fastopt", "numpy", "numba", "scipy", "torch", "jax", "optax", "sklearn"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        parts.append(f"{'scikit-learn' if name == 'sklearn' else name} "
                     f"{getattr(mod, '__version__', '?')}")
    return ", ".join(parts)


def _revision() -> str:
    """The measured checkout's commit, "+ changes" when fastopt/ differs from it; "" outside git."""
    import subprocess

    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read only: never refresh the index
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, env=env, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "fastopt"],
                               capture_output=True, text=True, env=env, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"commit {head}" + (" + local changes" if dirty else "")


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few short rounds (a smoke run)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 9, quick 3)")
    ap.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated subset of W1,W2,W3,W4")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="statistic of the samples (min: the least disturbed, on a busy machine)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for Numba and torch (default: all CPUs, as PERFORMANCE.md)")
    ap.add_argument("--output", type=Path, default=OUTPUT, help=f"Markdown file (default {OUTPUT})")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--note", default="", help="text added to the table's header line")
    args = ap.parse_args(argv)
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    unknown = only - {"W1", "W2", "W3", "W4"}
    if unknown:
        ap.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    rounds = args.rounds or (3 if args.quick else 9)
    target = 0.02 if args.quick else 0.1   # seconds per sample
    budget = 5.0 if args.quick else 20.0   # seconds per slow runner

    global STAT
    STAT = min if args.stat == "min" else statistics.median
    import numba

    if args.threads is not None:
        import bench_workloads as W

        numba.set_num_threads(args.threads)
        W.THREADS = args.threads
    load_before = _load()
    started = time.perf_counter()
    summary, notes, sections = [], [], []
    if "W1" in only:
        sections += run_w1(rounds, target, budget, summary, notes)
    if "W2" in only:
        sections += run_w2(rounds, target, budget, summary, notes)
    if "W3" in only:
        sections += run_w3(rounds, target, budget, summary, notes)
    if "W4" in only:
        sections += run_w4(max(1, rounds // 2) if args.quick else 5, summary, notes)
    elapsed = time.perf_counter() - started

    what = ", ".join(x for x in (_revision(), args.note) if x)
    head = [
        "## fastopt against its peers (benchmarks/compare.py)", "",
        f"{datetime.date.today().isoformat()}{f' ({what})' if what else ''}, {_versions()}; "
        f"{os.cpu_count()} CPUs, "
        f"{numba.get_num_threads()} threads (Numba, torch); load average "
        f"{load_before} before, {_load()} after ({elapsed:.0f} s"
        f"{', --quick' if args.quick else ''}, {STAT.__name__} of {rounds} interleaved "
        "rounds).", "",
        "Ratios are the peer's time over fastopt's, measured side by side in one process "
        "(above 1: fastopt is faster; for W4, the target time over fastopt's); targets from "
        "PERFORMANCE.md. Compare ratios, not absolute times, across machines.", "",
        "| workload | fastopt | against | its time | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    head += [f"| {w} | {fo} | {peer} | {pt} | {_x_fine(r)} | {tgt} | {v} |"
             for w, fo, peer, pt, r, tgt, v in summary]
    head.append("")
    if notes:
        head += ["Peers not measured: " + "; ".join(notes) + ".", ""]
    text = "\n".join(head + sections).rstrip() + "\n"
    print("\n" + text)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
