#!/usr/bin/env python
"""W3 of PERFORMANCE.md: the minimize loop's overhead, Adam on the Rosenbrock function.

    python benchmarks/w3_minimize.py [--quick] [--rounds R] [--lr LR] [--parts]
                                     [--markdown FILE]

In ONE process, interleaved over rounds (median per implementation): Adam
(lr 1e-3 by default, betas (0.9, 0.999), eps 1e-8) from the standard start
(x[::2] = -1.2, the rest 1) for a fixed number of iterations (gtol=0, so
nothing stops early), N=2 x 10,000 iterations and N=1000 x 2,000:

* fastopt compiled: ``minimize(fastopt.problems.rosenbrock, x0, jac=True,
  method="adam", options={"maxiter": it, "lr": lr, "gtol": 0})``: the jitted
  (f, g) makes the whole loop run compiled;
* fastopt compiled, in place: the same with ``rosenbrock_inplace(x, g) -> f``
  and ``jac="inplace"``: the objective writes its gradient into one buffer
  instead of returning a new array each iteration;
* jax + optax: ``jax.lax.fori_loop`` under ``jax.jit`` (x64), ``jax.grad``
  of the same formula, ``optax.adam``;
* torch: a Python loop, ``torch.optim.Adam`` (default implementation),
  autograd of the same formula (float64);
* numpy: a Python loop, hand-written Adam calling ``rosen_np`` below.

Python path (second table): ``minimize(rosen_np, x0, jac=True, ...)`` with
the plain-NumPy (f, g) function (fastopt's Python loop) against the bare
numpy Adam loop calling the same ``rosen_np``; target <= 1.2x.

The final f of fastopt, jax and numpy must agree (the same algorithm); it is
printed with the largest relative difference of x.

--parts   per-iteration costs of the compiled path's pieces, each in its
          own jitted loop: the objective (with and without its gradient
          allocation), the Adam kernel, one ``pow``, ``grad_max_abs``, an
          n-element slice copy; and fastopt's whole loop per iteration.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

B1, B2, EPS = 0.9, 0.999, 1e-8
CASES = [(2, 10_000), (1000, 2_000)]
INPLACE = "fastopt compiled, jac='inplace' (rosenbrock_inplace)"


def x_start(n):
    x = np.ones(n)
    x[::2] = -1.2
    return x


def rosen_np(x):
    """Rosenbrock (f, g) in plain NumPy: the "user's Python function"."""
    a = x[1:] - x[:-1] ** 2
    b = 1.0 - x[:-1]
    f = float(np.sum(100.0 * a * a + b * b))
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * a - 2.0 * b
    g[1:] += 200.0 * a
    return f, g


def make_fastopt(n, iters, lr, inplace=False):
    import fastopt
    from fastopt.problems import rosenbrock, rosenbrock_inplace
    x0 = x_start(n)
    opts = {"maxiter": iters, "lr": lr, "gtol": 0}
    fun, jac = (rosenbrock_inplace, "inplace") if inplace else (rosenbrock, True)

    def run():
        r = fastopt.minimize(fun, x0, method="adam", jac=jac, options=opts)
        return r.fun, r.x

    return run


def make_fastopt_python(n, iters, lr):
    import fastopt
    x0 = x_start(n)
    opts = {"maxiter": iters, "lr": lr, "gtol": 0}

    def run():
        r = fastopt.minimize(rosen_np, x0, method="adam", jac=True, options=opts)
        return r.fun, r.x

    return run


def make_numpy(n, iters, lr):
    x0 = x_start(n)

    def run():
        x = x0.copy()
        m = np.zeros(n)
        v = np.zeros(n)
        f, g = rosen_np(x)
        for t in range(1, iters + 1):
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * g * g
            x -= (lr / (1 - B1 ** t)) * m / (np.sqrt(v) / np.sqrt(1 - B2 ** t) + EPS)
            f, g = rosen_np(x)
        return f, x

    return run


def make_jax(n, iters, lr):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    def rosen(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    opt = optax.adam(lr, b1=B1, b2=B2, eps=EPS)
    vg = jax.value_and_grad(rosen)

    @jax.jit
    def solve(x):
        def body(i, carry):
            x, state = carry
            g = jax.grad(rosen)(x)
            upd, state = opt.update(g, state, x)
            return optax.apply_updates(x, upd), state

        x, _ = jax.lax.fori_loop(0, iters, body, (x, opt.init(x)))
        return vg(x)[0], x

    x0 = jnp.asarray(x_start(n))

    def run():
        f, x = jax.block_until_ready(solve(x0))
        return float(f), np.asarray(x)

    return run


def make_torch(n, iters, lr):
    import torch

    x0 = torch.from_numpy(x_start(n))

    def run():
        x = x0.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr, betas=(B1, B2), eps=EPS)
        for _ in range(iters):
            opt.zero_grad()
            f = torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
            f.backward()
            opt.step()
        with torch.no_grad():
            f = torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        return float(f), x.detach().numpy().copy()

    return run


def available(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def interleaved(runs, rounds):
    results = {k: r() for k, r in runs.items()}  # warm-up (compiles) and results
    times = {k: [] for k in runs}
    for _ in range(rounds):
        for k, r in runs.items():
            t0 = time.perf_counter()
            r()
            times[k].append(time.perf_counter() - t0)
    return results, {k: statistics.median(v) for k, v in times.items()}


def compiled_table(lr, rounds, out, torch_rounds):
    for n, iters in CASES:
        runs = {"fastopt compiled (jitted rosenbrock)": make_fastopt(n, iters, lr),
                INPLACE: make_fastopt(n, iters, lr, inplace=True)}
        if available("jax") and available("optax"):
            runs["jax + optax fori_loop (jit)"] = make_jax(n, iters, lr)
        runs["python + numpy loop"] = make_numpy(n, iters, lr)
        results, med = interleaved(runs, rounds)
        if available("torch"):
            tr = {"torch loop (Adam)": make_torch(n, iters, lr)}
            r2, m2 = interleaved(tr, torch_rounds)
            results.update(r2)
            med.update(m2)
        base = med["fastopt compiled (jitted rosenbrock)"]
        out.append(f"\n### N={n}, {iters:,} iterations, lr {lr:g} (median of {rounds} interleaved "
                   f"rounds; torch {torch_rounds})\n")
        out.append("| implementation | ms | time / fastopt's | final f |")
        out.append("|---|---|---|---|")
        for k in results:
            out.append(f"| {k} | {med[k] * 1e3:.3f} | {med[k] / base:.2f}x | {results[k][0]:.10g} |")
        fx = results["fastopt compiled (jitted rosenbrock)"][1]
        notes = []
        for k in results:
            if k.startswith("fastopt"):
                continue
            rel = np.max(np.abs(results[k][1] - fx) / np.maximum(np.abs(fx), 1e-300))
            notes.append(f"{k.split(' ')[0]} {rel:.1e}")
        jx = med.get("jax + optax fori_loop (jit)")
        verdict = "" if jx is None else "".join(
            f"{label} vs jax: {med[k] / jx:.2f}x jax's time "
            f"(target <= 1: {'PASS' if med[k] <= jx else 'MISS'}). "
            for label, k in (("compiled path", "fastopt compiled (jitted rosenbrock)"),
                             ("in place", INPLACE)))
        out.append(f"\n{verdict}max relative difference of x from fastopt's: " + ", ".join(notes))


def python_table(lr, rounds, out):
    out.append(f"\n### Python objective (plain NumPy rosen_np), lr {lr:g}: fastopt's Python loop "
               f"vs a bare numpy Adam loop calling the same function\n")
    out.append("| case | bare numpy loop ms | fastopt minimize ms | ratio (target <= 1.2) | same x |")
    out.append("|---|---|---|---|---|")
    for n, iters in CASES:
        runs = {"bare": make_numpy(n, iters, lr), "fastopt": make_fastopt_python(n, iters, lr)}
        results, med = interleaved(runs, rounds)
        ratio = med["fastopt"] / med["bare"]
        rel = np.max(np.abs(results["fastopt"][1] - results["bare"][1])
                     / np.maximum(np.abs(results["bare"][1]), 1e-300))
        out.append(f"| N={n}, {iters:,} it | {med['bare'] * 1e3:.1f} | {med['fastopt'] * 1e3:.1f} | "
                   f"{ratio:.2f}x ({'PASS' if ratio <= 1.2 else 'MISS'}) | max rel diff {rel:.1e} |")


def parts_table(lr, out, reps=7):
    from numba import njit

    import fastopt
    from fastopt._kernels.adam import adam_kernel
    from fastopt._loop import grad_max_abs
    from fastopt.problems import _rosenbrock, rosenbrock

    @njit
    def p_fun(x, k):
        t = 0.0
        for _ in range(k):
            f, g = rosenbrock(x)
            t += f + g[0]
        return t

    @njit
    def p_fun_noalloc(x, g, k):
        t = 0.0
        for _ in range(k):
            t += _rosenbrock(x, g)
        return t

    @njit
    def p_kernel(p, g, s, c, h, k):
        for i in range(k):
            adam_kernel(p, g, s, c, h, float(i + 1))

    @njit
    def p_pow(b, k):
        t = 0.0
        for i in range(k):
            t += b ** float(i + 1)
        return t

    @njit
    def p_gmax(g, k):
        t = 0.0
        for _ in range(k):
            t += grad_max_abs(g)
        return t

    @njit
    def p_copy(a, b, k):
        for _ in range(k):
            a[:] = b

    def fused(inplace):
        """A floor, not fastopt: one hand-fused loop (Adam's math written out, bias
        corrections as running products instead of pow, the finite/history/x_good
        bookkeeping of minimize's loop), around the objective with its own gradient
        array (``inplace=False``, as ``rosenbrock`` returns it) or one written in place."""
        b1, b2, eps = 0.9, 0.999, 1e-8

        @njit(error_model="numpy", fastmath={"nsz", "afn"})
        def loop(x0, k, hist):
            x = x0.copy()
            n = x.size
            m, v, x_good, gbuf = np.zeros(n), np.zeros(n), np.empty(n), np.empty(n)
            p1, p2 = 1.0, 1.0
            for it in range(k):
                if inplace:
                    f = _rosenbrock(x, gbuf)
                    g = gbuf
                else:
                    f, g = rosenbrock(x)
                gm = 0.0
                for i in range(n):
                    gm = max(gm, abs(g[i]))
                if not (abs(f) < np.inf and gm < np.inf):
                    break
                for i in range(n):
                    x_good[i] = x[i]
                hist[it] = f
                p1 *= b1
                p2 *= b2
                c2, step = 1.0 / np.sqrt(1.0 - p2), -lr / (1.0 - p1)
                for i in range(n):
                    mi = m[i] * b1 + (1.0 - b1) * g[i]
                    vi = v[i] * b2 + (1.0 - b2) * g[i] * g[i]
                    m[i], v[i] = mi, vi
                    x[i] += step * mi / (np.sqrt(vi) * c2 + eps)
            return x

        return loop

    fused_alloc, fused_inplace = fused(False), fused(True)

    out.append("\n### Per-iteration cost of the compiled path's pieces (ns, median of "
               f"{reps}; each piece in its own jitted loop)\n")
    out.append("| piece | " + " | ".join(f"N={n}" for n, _ in CASES) + " |")
    out.append("|---|" + "---|" * len(CASES))
    rows = {}
    for n, iters in CASES:
        x = x_start(n)
        g = np.full(n, 1e-3)
        opt = fastopt.Adam(x.copy(), lr=lr)
        s, c, h = opt._kernel_arguments()
        k = 1_000_000 // max(1, n // 2) if n < 100 else 20_000
        pieces = {
            "rosenbrock(x): f, new g (as minimize calls it)": lambda: p_fun(x, k),
            "_rosenbrock(x, g): no allocation": lambda: p_fun_noalloc(x, g.copy(), k),
            "adam_kernel (bias powers carried, no pow)": lambda: p_kernel(x.copy(), g, s.copy(), c, h, k),
            "one beta ** t (libm pow)": lambda: p_pow(0.999, k),
            "grad_max_abs(g)": lambda: p_gmax(g, k),
            "x_good[:] = x": lambda: p_copy(g.copy(), x, k),
            # as many iterations per call as the W3 case (the history array stays as small)
            "floor: hand-fused loop, objective allocating its gradient": (
                lambda: [fused_alloc(x, iters, hist) for _ in range(k // iters)]),
            "floor: hand-fused loop, gradient written in place": (
                lambda: [fused_inplace(x, iters, hist) for _ in range(k // iters)]),
        }
        hist = np.empty(iters)
        run = make_fastopt(n, iters, lr)
        for f in pieces.values():
            f()
        run()
        for name, f in pieces.items():
            ts = []
            for _ in range(reps):
                t0 = time.thread_time()
                f()
                ts.append(time.thread_time() - t0)
            rows.setdefault(name, []).append(statistics.median(ts) / k * 1e9)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            run()
            ts.append(time.perf_counter() - t0)
        rows.setdefault("whole minimize, per iteration", []).append(statistics.median(ts) / iters * 1e9)
    for name, vals in rows.items():
        out.append(f"| {name} | " + " | ".join(f"{v:.0f}" for v in vals) + " |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--parts", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 21)
    import numba
    out = [f"W3 (python {sys.version.split()[0]}, numpy {np.__version__}, numba {numba.__version__}, "
           f"{os.cpu_count()} CPUs)"]
    compiled_table(args.lr, rounds, out, torch_rounds=1 if args.quick else 3)
    python_table(args.lr, max(3, rounds // 3), out)
    if args.parts:
        parts_table(args.lr, out)
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
