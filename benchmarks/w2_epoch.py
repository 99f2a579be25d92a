#!/usr/bin/env python
"""W2 of PERFORMANCE.md: one training epoch of logistic regression, fastopt against its peers.

    python benchmarks/w2_epoch.py [--quick] [--rounds R] [--skip-threads] [--breakdown]
                                  [--threshold] [--coop] [--shuffled] [--markdown FILE]

In ONE process, interleaved over rounds (median per implementation), one
epoch of mini-batch Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no
shuffling, the partial last batch included) on the mean logistic loss of a
linear model without intercept, from w = 0:

* fastopt: ``minimize(fastopt.losses.logistic, w0, method="adam", jac=True,
  data=(X, y), batch_size=B, options={"epochs": 1, "lr": 1e-3, "shuffle": False})``
* jax + optax: ``optax.adam`` stepped by ``jax.lax.scan`` over the full
  batches under ``jax.jit`` (x64), then the partial batch, same loss
  (``logaddexp(0, z) - y z``), same order. Data reshaped outside the timing.
* torch: a Python loop, ``torch.optim.Adam(fused=True)``,
  ``binary_cross_entropy_with_logits`` + ``backward`` (float64).
* numpy: a Python loop, ``X_b @ w``, ``X_b.T @ (p - y_b)``, Adam in place.
* scikit-learn: ``SGDClassifier(loss="log_loss")``, one epoch of per-sample
  SGD (constant eta0 = 1e-3, no penalty): not the same algorithm, the
  reference point PERFORMANCE.md gives.

Workloads: 200,000 x 100 float64 with batch 256 (782 steps) and 100,000 x 20
with batch 32 (3125 steps); data from a fixed seed, labels drawn from a
logistic model. "final loss" is the full-data mean loss at the returned
weights; fastopt and jax must agree (the same algorithm on the same data):
their epoch losses and weights are compared and printed.

Also (unless --skip-threads): batch 4096 (200,000 x 100, and 20,000 x 100
which stays in L3 cache), fastopt in fresh subprocesses with
NUMBA_NUM_THREADS=1 and =2 alternated over rounds: the time ratio (target
>= 1.5x) and whether the returned x is bit-identical.

--breakdown  where fastopt's epoch goes: the loss alone over the same
             batches (a jitted loop), the Adam kernel alone (782 calls), an
             epoch with a trivial jitted objective (loop + Adam), the whole
             ``minimize`` and its compiled epoch (``result.time``).
--threshold  batch 256 / 1024 / 4096 timed in subprocesses with
             ``losses.PARALLEL_WORK`` forced to 1 (always parallel) or to
             2**62 (always serial), 2 threads, Numba cache off: whether
             parallelism pays at each size (the base for PARALLEL_WORK).
--coop       the cooperative epoch (helper threads share each batch's
             chunks, ``fastopt._coop``) against the serial epoch on the same
             batches, from 64 to 1024 rows: the base for ``losses.CHUNK_WORK``.
--shuffled   the 200,000 x 100 epoch shuffled (fastopt's default), against
             jax gathering each batch of the same order inside its scan. No
             target: what a user who keeps the default gets.

Machines are noisy: read the ratios (same process, interleaved rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # benchmark this checkout, not an installed copy

import numpy as np  # noqa: E402

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def make_data(n, d, seed=0):
    """X (n, d) standard normal, y ~ Bernoulli(sigmoid(X w*)), |w*| ~ 1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    return X, y


def full_loss(w, X, y):
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


# --------------------------------------------------------------------------
# implementations: each make_* returns run() -> (epoch mean loss or None, w)
# --------------------------------------------------------------------------

def make_fastopt(X, y, bs):
    import fastopt
    from fastopt import losses
    w0 = np.zeros(X.shape[1])
    opts = {"epochs": 1, "lr": LR, "shuffle": False}

    def run():
        r = fastopt.minimize(losses.logistic, w0, method="adam", jac=True, data=(X, y),
                             batch_size=bs, options=opts)
        return r.fun, r.x

    return run


def make_jax(X, y, bs):
    # One definition of the jax peer, shared with the asv suite and compare.py.
    from bench_workloads import jax_epoch

    return jax_epoch(X, y, bs)


def make_torch(X, y, bs):
    from bench_workloads import torch_epoch  # the suite's one torch peer

    return torch_epoch(X, y, bs)


def make_numpy(X, y, bs):
    from bench_workloads import numpy_epoch  # the suite's one NumPy peer

    return numpy_epoch(X, y, bs)


def make_sklearn(X, y, bs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    def run():
        clf = SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=LR,
                            max_iter=1, tol=None, shuffle=False, fit_intercept=False,
                            average=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return None, clf.coef_.ravel().copy()

    return run


PEERS = [("fastopt", make_fastopt, None), ("jax + optax (lax.scan, jit)", make_jax, "jax"),
         ("torch loop (fused Adam)", make_torch, "torch"), ("numpy loop", make_numpy, None),
         ("scikit-learn SGDClassifier (1 epoch)", make_sklearn, "sklearn")]


def available(module):
    if module is None:
        return True
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def time_interleaved(runs: dict, rounds: int) -> dict:
    for run in runs.values():  # warm-up: compiles (fastopt's epoch, jax's scan) stay out
        run()
    times = {k: [] for k in runs}
    for _ in range(rounds):
        for k, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[k].append(time.perf_counter() - t0)
    return times


def agreement(f_fast, w_fast, f_jax, w_jax) -> str:
    """How closely fastopt's epoch loss and weights match jax's."""
    return (f"epoch loss {f_fast:.15g} vs {f_jax:.15g} "
            f"(rel. diff {abs(f_fast - f_jax) / abs(f_jax):.1e}), max |w_fastopt - w_jax| / "
            f"max |w| = {np.max(np.abs(w_fast - w_jax)) / np.max(np.abs(w_jax)):.1e}")


def workload_table(n, d, bs, rounds, out):
    X, y = make_data(n, d)
    runs = {}
    for name, make, module in PEERS:
        if available(module):
            runs[name] = make(X, y, bs)
        else:
            out.append(f"({name}: {module} not installed, skipped)")
    results = {k: run() for k, run in runs.items()}
    from bench_workloads import HelperShare  # this script's directory

    with HelperShare() as helper:
        times = time_interleaved(runs, rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["fastopt"]
    steps = -(-n // bs)
    out.append(f"\n### {n:,} x {d} float64, batch {bs} ({steps} steps), one epoch, "
               f"median of {rounds} interleaved rounds\n")
    out.append("| implementation | s / epoch | time / fastopt's | final full-data loss |")
    out.append("|---|---|---|---|")
    for k in runs:
        out.append(f"| {k} | {med[k]:.4f} | {med[k] / base:.2f}x | "
                   f"{full_loss(results[k][1], X, y):.12f} |")
    if "jax + optax (lax.scan, jit)" in runs:
        jx = med["jax + optax (lax.scan, jit)"]
        fj, wj = results["jax + optax (lax.scan, jit)"]
        ff, wf = results["fastopt"]
        verdict = "PASS" if base <= jx / 2 else "MISS"
        out.append(f"\nfastopt vs jax: {jx / base:.3f}x faster (target >= 2x: {verdict}); "
                   f"same result: {agreement(ff, wf, fj, wj)}")
    said = helper.sentence()
    if said is not None:
        out.append("\n" + said)
    return med


_THREAD_CHILD = textwrap.dedent("""
    import hashlib, json, statistics, sys, time
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {here!r})
    import numba
    from w2_epoch import make_data, make_fastopt
    X, y = make_data({n}, {d})
    run = make_fastopt(X, y, {bs})
    f, x = run()
    ts = []
    for _ in range({reps}):
        t0 = time.perf_counter(); f, x = run(); ts.append(time.perf_counter() - t0)
    print(json.dumps(dict(threads=numba.config.NUMBA_NUM_THREADS, time=statistics.median(ts),
                          fun=f, x=hashlib.sha256(x.tobytes()).hexdigest())))
""")


def child(code: str, env_extra: dict) -> dict:
    env = dict(os.environ, **env_extra)
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def thread_table(rounds, out, n=200_000, d=100, bs=4096, reps=9):
    code = _THREAD_CHILD.format(root=str(ROOT), here=str(Path(__file__).parent), n=n, d=d,
                                bs=bs, reps=reps)
    res = {"1": [], "2": []}
    for _ in range(rounds):
        for t in ("1", "2"):
            res[t].append(child(code, {"NUMBA_NUM_THREADS": t}))
    t1 = statistics.median(r["time"] for r in res["1"])
    t2 = statistics.median(r["time"] for r in res["2"])
    hashes = {r["x"] for rs in res.values() for r in rs}
    ratio = t1 / t2
    out.append(f"\n### {n:,} x {d}, batch {bs}: NUMBA_NUM_THREADS=1 vs 2 "
               f"({rounds} alternated subprocess pairs, median of {reps} epochs each)\n")
    out.append("| threads | s / epoch | speed-up |")
    out.append("|---|---|---|")
    out.append(f"| 1 | {t1:.4f} | 1.00x |")
    out.append(f"| 2 | {t2:.4f} | {ratio:.2f}x (target >= 1.5x: {'PASS' if ratio >= 1.5 else 'MISS'}) |")
    out.append(f"\nx bit-identical across thread counts and runs: "
               f"{'yes' if len(hashes) == 1 else 'NO'} (sha256 {sorted(hashes)[0][:16]}...; "
               f"{len(hashes)} distinct)")


def breakdown(rounds, out, n=200_000, d=100, bs=256):
    """Where fastopt's epoch goes, each part timed alone, interleaved."""
    from numba import njit

    import fastopt
    from fastopt import losses
    from fastopt._kernels.adam import adam_kernel

    X, y = make_data(n, d)
    logistic = losses.logistic

    @njit
    def loss_only(w, X, y, bs):
        total = 0.0
        for lo in range(0, X.shape[0], bs):
            hi = min(X.shape[0], lo + bs)
            f, g = logistic(w, X[lo:hi], y[lo:hi])
            total += f * (hi - lo) + g[0]
        return total

    @njit
    def adam_only(p, g, s, c, h, steps):
        for t in range(steps):
            adam_kernel(p, g, s, c, h, float(t + 1))

    opt = fastopt.Adam(np.zeros(d), lr=LR)
    slots, scalars, h = opt._kernel_arguments()
    steps = -(-n // bs)
    w = np.full(d, 0.01)
    g = np.full(d, 1e-3)
    run = make_fastopt(X, y, bs)
    inner, outside = [], []

    def run_min():
        t0 = time.perf_counter()
        r = fastopt.minimize(losses.logistic, np.zeros(d), method="adam", jac=True,
                             data=(X, y), batch_size=bs,
                             options={"epochs": 1, "lr": LR, "shuffle": False})
        inner.append(r.time)
        outside.append(time.perf_counter() - t0 - r.time)  # paired: same call

    @njit
    def trivial(w, X, y):  # a constant gradient: what is left is the epoch loop and Adam
        g = np.empty_like(w)
        for i in range(w.size):
            g[i] = 1e-3
        return 0.5, g

    loop_only = []

    def run_trivial():
        loop_only.append(fastopt.minimize(trivial, np.zeros(d), method="adam", jac=True,
                                          data=(X, y), batch_size=bs,
                                          options={"epochs": 1, "lr": LR, "shuffle": False}).time)

    runs = {"minimize (whole call)": run_min,
            "epoch loop + Adam only (a trivial jitted objective)": run_trivial,
            "loss alone, jitted loop over the same batches": lambda: loss_only(w, X, y, bs),
            f"Adam kernel alone, {steps} calls": lambda: adam_only(w.copy(), g, slots.copy(),
                                                                   scalars, h, steps)}
    run()
    times = time_interleaved(runs, rounds)
    times["epoch loop + Adam only (a trivial jitted objective)"] = loop_only[1:]
    med = {k: statistics.median(v) for k, v in times.items()}
    total = med["minimize (whole call)"]
    inner_med = statistics.median(inner[1:])
    out.append(f"\n### Breakdown of fastopt's epoch ({n:,} x {d}, batch {bs}), "
               f"median of {rounds} interleaved rounds\n")
    out.append("| part | ms | share of minimize |")
    out.append("|---|---|---|")
    for k, v in med.items():
        out.append(f"| {k} | {v * 1e3:.2f} | {v / total:.0%} |")
    out.append(f"| compiled epoch (result.time) | {inner_med * 1e3:.2f} | {inner_med / total:.0%} |")
    rest = (med["epoch loop + Adam only (a trivial jitted objective)"]
            - med[f"Adam kernel alone, {steps} calls"])
    out.append(f"| epoch loop overhead (trivial-objective epoch - Adam) | {rest * 1e3:.2f} | "
               f"{rest / total:.0%} |")
    py = statistics.median(outside[1:])
    out.append(f"| Python around the epoch (minimize - epoch, per call) | {py * 1e3:.2f} | "
               f"{py / total:.0%} |")


_THRESHOLD_CHILD = textwrap.dedent("""
    import json, statistics, sys, time
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {here!r})
    from fastopt import losses
    losses.PARALLEL_WORK = {work}   # read when the loss compiles (cache is off)
    from w2_epoch import make_data, make_fastopt
    X, y = make_data({n}, {d})
    out = {{}}
    runs = {{bs: make_fastopt(X, y, bs) for bs in {sizes!r}}}
    for r in runs.values():
        r()
    for bs, r in runs.items():
        ts = []
        for _ in range({reps}):
            t0 = time.perf_counter(); r(); ts.append(time.perf_counter() - t0)
        out[bs] = statistics.median(ts)
    print(json.dumps(out))
""")


def threshold_table(rounds, out, n=200_000, d=100, sizes=(256, 1024, 4096), reps=7):
    res = {"serial": {bs: [] for bs in sizes}, "parallel": {bs: [] for bs in sizes}}
    for _ in range(rounds):
        for mode, work in (("serial", 2 ** 62), ("parallel", 1)):
            code = _THRESHOLD_CHILD.format(root=str(ROOT), here=str(Path(__file__).parent),
                                           work=work, n=n, d=d, sizes=list(sizes), reps=reps)
            r = child(code, {"NUMBA_NUM_THREADS": "2", "FASTOPT_CACHE": "0"})
            for bs in sizes:
                res[mode][bs].append(r[str(bs)])
    out.append(f"\n### Serial vs parallel batch gradient ({n:,} x {d}, 2 threads, "
               f"{rounds} alternated subprocess pairs)\n")
    out.append("| batch | work (rows x d) | serial s / epoch | parallel s / epoch | parallel speed-up |")
    out.append("|---|---|---|---|---|")
    for bs in sizes:
        s = statistics.median(res["serial"][bs])
        p = statistics.median(res["parallel"][bs])
        out.append(f"| {bs} | {bs * d:,} | {s:.4f} | {p:.4f} | {s / p:.2f}x |")


def coop_table(rounds, out, cases=((200_000, 100, (64, 128, 256, 512, 1024)),
                                    (100_000, 20, (256, 1024)))):
    """The cooperative epoch (batches from losses.CHUNK_WORK to PARALLEL_WORK) against the
    serial one on the same batches, in this process, interleaved: the base of CHUNK_WORK."""
    import fastopt
    from fastopt import losses

    def runner(X, y, bs, serial):
        def run():
            saved = losses.CHUNK_WORK
            if serial:  # read in Python when the epoch is chosen: the serial epoch
                losses.CHUNK_WORK = 2 ** 62
            try:
                return fastopt.minimize(losses.logistic, np.zeros(X.shape[1]), method="adam",
                                        jac=True, data=(X, y), batch_size=bs,
                                        options={"epochs": 1, "lr": LR, "shuffle": False}).time
            finally:
                losses.CHUNK_WORK = saved
        return run

    out.append(f"\n### Cooperative vs serial epoch (compiled epoch time, median of {rounds} "
               f"interleaved rounds, CHUNK_WORK = {losses.CHUNK_WORK:,})\n")
    out.append("| data | batch | work (rows x d) | serial ms | cooperative ms | speed-up |")
    out.append("|---|---|---|---|---|---|")
    for n, d, sizes in cases:
        X, y = make_data(n, d)
        for bs in sizes:
            if bs * d >= losses.PARALLEL_WORK:
                continue
            runs = {"serial": runner(X, y, bs, True), "coop": runner(X, y, bs, False)}
            for r in runs.values():
                r()
            res = {k: [] for k in runs}
            for _ in range(rounds):
                for k, r in runs.items():
                    res[k].append(r())
            s, c = statistics.median(res["serial"]), statistics.median(res["coop"])
            note = "" if bs * d >= losses.CHUNK_WORK else " (below CHUNK_WORK: both serial)"
            out.append(f"| {n:,} x {d} | {bs} | {bs * d:,}{note} | {s * 1e3:.2f} | {c * 1e3:.2f} "
                       f"| {s / c:.2f}x |")


def shuffled_table(rounds, out, n=200_000, d=100, bs=256, seed=0):
    """fastopt's default, a shuffled epoch, against jax gathering the same order's batches."""
    import fastopt
    from bench_workloads import HelperShare, jax_epoch_shuffled
    from fastopt import losses

    X, y = make_data(n, d)
    w0 = np.zeros(d)

    def fast():
        r = fastopt.minimize(losses.logistic, w0, method="adam", jac=True, data=(X, y),
                             batch_size=bs, options={"epochs": 1, "lr": LR, "seed": seed})
        return r.fun, r.x

    runs = {"fastopt (shuffle=True, the default)": fast}
    if available("jax"):
        runs["jax + optax (lax.scan, jit; X[idx] per batch)"] = jax_epoch_shuffled(X, y, bs, seed)
    results = {k: run() for k, run in runs.items()}
    with HelperShare() as helper:
        times = time_interleaved(runs, rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    names = list(runs)
    base = med[names[0]]
    out.append(f"\n### Shuffled: {n:,} x {d} float64, batch {bs}, one epoch in a new random "
               f"order (the same for both), median of {rounds} interleaved rounds\n")
    out.append("| implementation | s / epoch | time / fastopt's |")
    out.append("|---|---|---|")
    for k in names:
        out.append(f"| {k} | {med[k]:.4f} | {med[k] / base:.2f}x |")
    if len(names) > 1:
        (ff, wf), (fj, wj) = results[names[0]], results[names[1]]
        out.append(f"\nfastopt vs jax, shuffled: {med[names[1]] / base:.3f}x faster (no target); "
                   f"same result: {agreement(ff, wf, fj, wj)}")
    said = helper.sentence()
    if said is not None:
        out.append("\n" + said)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--skip-threads", action="store_true")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--threshold", action="store_true")
    ap.add_argument("--coop", action="store_true")
    ap.add_argument("--shuffled", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables here")
    args = ap.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    import numba
    out = [f"W2 (python {sys.version.split()[0]}, numpy {np.__version__}, numba {numba.__version__}, "
           f"{os.cpu_count()} CPUs, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})"]
    workload_table(200_000, 100, 256, rounds, out)
    workload_table(100_000, 20, 32, rounds, out)
    if not args.skip_threads:
        thread_table(3 if args.quick else 5, out)
        # 20,000 x 100 (16 MB) stays in L3: compute-bound, where threads can pay
        thread_table(3 if args.quick else 5, out, n=20_000, reps=41)
    if args.breakdown:
        breakdown(rounds, out)
    if args.threshold:
        threshold_table(2 if args.quick else 4, out)
    if args.coop:
        coop_table(rounds, out)
    if args.shuffled:
        shuffled_table(rounds, out)
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
