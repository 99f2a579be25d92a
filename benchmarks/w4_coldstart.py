#!/usr/bin/env python
"""W4 of PERFORMANCE.md: cold start, each case in fresh Python processes.

    python benchmarks/w4_coldstart.py [--quick] [--repeats R] [--root DIR] [--profile]
                                      [--markdown FILE]

Wall time of a fresh ``python -c ...`` measured from the parent (median of R
runs after one warm-up run that fills Numba's disk cache), and the phases the
child reports itself:

* ``python -c pass``, ``import numba``, and one call of a one-line
  ``@njit(cache=True)`` function (the floor under any Numba library);
* ``import fastopt`` (target <= 0.5 s);
* a built-in objective's first ``minimize``: ``fastopt.problems.rosenbrock``,
  N=2, Adam, 10,000 iterations (compiled path; target <= 1.0 s for the whole
  process), and ``fastopt.losses.logistic`` in data mode (2,000 x 10, batch 32,
  one epoch);
* a user's own ``@numba.njit(cache=True)`` Rosenbrock in a module of its own
  (written to a temporary directory), same run (target <= 1.5 s), and the
  same function typed into the ``-c`` code, which Numba cannot disk-cache;
* the peer: import jax + optax, jit a ``fori_loop`` of the N=2 case, run it.

``--root DIR`` measures the fastopt checkout in DIR (default: this one), so
that a patched copy can be compared with the same script.
``--profile`` runs one more fresh process per fastopt case and lists what
its first ``minimize`` compiled (Numba functions, seconds each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_workloads import USER_ROSENBROCK  # noqa: E402  (the suite's one copy)

PRELUDE = """
import time
_t0 = time.perf_counter()
import sys
sys.path.insert(0, {root!r})
"""


def _logistic_case(n: int, d: int, call: str) -> str:
    """A case's source: the first data-mode minimize of losses.logistic on n x d random data."""
    return f"""
        import numpy as np
        import fastopt
        from fastopt import losses
        rng = np.random.default_rng(0)
        X = rng.standard_normal(({n}, {d})); y = (rng.random({n}) < 0.5) * 1.0
        _t1 = time.perf_counter()
        r = fastopt.minimize(losses.logistic, np.zeros({d}), method="adam", jac=True, data=(X, y),
                             {call})
        _t2 = time.perf_counter()
        """


CASES = {
    "python -c pass": ("", None),
    "import numba": ("import numba", None),
    "import fastopt": ("import fastopt", 0.5),
    "floor: one call of a cached @njit function (no fastopt)": ("""
        sys.path.insert(0, @USER_DIR@)
        from w4_floor import one
        _t1 = time.perf_counter()
        one(1.0)
        _t2 = time.perf_counter()
        """, None),
    # fastopt skips CPython's shutdown garbage collections (fastopt/_exit.py):
    # the floor with the same exit, for a like-for-like comparison.
    "floor + gc.freeze() at exit (fastopt's exit)": ("""
        import atexit, gc
        atexit.register(gc.freeze)
        sys.path.insert(0, @USER_DIR@)
        from w4_floor import one
        _t1 = time.perf_counter()
        one(1.0)
        _t2 = time.perf_counter()
        """, None),
    "built-in: problems.rosenbrock, N=2, 10k Adam steps": (BUILTIN := """
        import numpy as np
        import fastopt
        from fastopt.problems import rosenbrock
        _t1 = time.perf_counter()
        r = fastopt.minimize(rosenbrock, np.array([-1.2, 1.0]), method="adam", jac=True,
                             options={"maxiter": 10000, "lr": 1e-3, "gtol": 0})
        _t2 = time.perf_counter()
        assert r.nit == 10000
        """, 1.0),
    "the same, FASTOPT_FAST_EXIT=0 (CPython's exit)": (
        "\n        import os\n        os.environ['FASTOPT_FAST_EXIT'] = '0'" + BUILTIN, None),
    "built-in: losses.logistic, data mode, 1 epoch": (_logistic_case(2000, 10, "batch_size=32, "
                                                                      'options={"epochs": 1}'), 1.0),
    # Full batch (the default batch_size=None): the epoch inlines the parallel
    # loss and is loaded from Numba's disk cache (it compiled in every process,
    # ~3 s, before the fifth session).
    "built-in: losses.logistic, data mode, full batch 20,000 x 50, 20 epochs": (
        _logistic_case(20000, 50, 'options={"epochs": 20, "lr": 0.1}'), None),
    # Batches of 256 x 100 (from losses.CHUNK_WORK): the cooperative epoch, with
    # helper threads in its own parallel region, loaded from the disk cache.
    "built-in: losses.logistic, data mode, batch 256 x 100 (cooperative epoch)": (
        _logistic_case(20000, 100, 'batch_size=256, options={"epochs": 1}'), None),
    "user @njit(cache=True) rosenbrock in its module, N=2, 10k Adam steps": ("""
        import numpy as np
        import fastopt
        sys.path.insert(0, @USER_DIR@)
        from w4_user_objective import rosen
        _t1 = time.perf_counter()
        r = fastopt.minimize(rosen, np.array([-1.2, 1.0]), method="adam", jac=True,
                             options={"maxiter": 10000, "lr": 1e-3, "gtol": 0})
        _t2 = time.perf_counter()
        assert r.nit == 10000
        """, 1.5),
    # Above FASTOPT_PARALLEL_MIN parameters the loop inlines the parallel kernel
    # and is disk-cached too (it compiled in every process before the fifth session).
    "user @njit(cache=True) rosenbrock in its module, N=100,000, 200 Adam steps": ("""
        import numpy as np
        import fastopt
        sys.path.insert(0, @USER_DIR@)
        from w4_user_objective import rosen
        _t1 = time.perf_counter()
        r = fastopt.minimize(rosen, np.where(np.arange(100000) % 2 == 0, -1.2, 1.0),
                             method="adam", jac=True, options={"maxiter": 200, "gtol": 0})
        _t2 = time.perf_counter()
        assert r.nit == 200
        """, None),
    "user @njit rosenbrock typed into -c (cannot be disk-cached)": ("""
        @ROSEN@
        import fastopt
        _t1 = time.perf_counter()
        r = fastopt.minimize(rosen, np.array([-1.2, 1.0]), method="adam", jac=True,
                             options={"maxiter": 10000, "lr": 1e-3, "gtol": 0})
        _t2 = time.perf_counter()
        assert r.nit == 10000
        """, None),
    "peer: jax + optax, N=2 fori_loop, 10k steps": ("""
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import optax
        _t1 = time.perf_counter()
        opt = optax.adam(1e-3)
        def rosen(x):
            return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        @jax.jit
        def solve(x):
            def body(i, c):
                x, s = c
                u, s = opt.update(jax.grad(rosen)(x), s, x)
                return optax.apply_updates(x, u), s
            return jax.lax.fori_loop(0, 10000, body, (x, opt.init(x)))[0]
        x = jax.block_until_ready(solve(jnp.array([-1.2, 1.0])))
        _t2 = time.perf_counter()
        """, None),
}

EPILOGUE = """
import json
_t3 = time.perf_counter()
_p = {{"total_in_process": _t3 - _t0}}
if "_t1" in globals():
    _p["import"] = _t1 - _t0
    _p["first_call"] = _t2 - _t1
print("@@" + json.dumps(_p))
"""


# The user's objective as a user writes it: in a module of their own, with
# Numba's disk cache (what "disk cache warm" in PERFORMANCE.md's W4 means).
USER_DIR = Path(tempfile.gettempdir()) / "fastopt_w4_user"
# What any Numba library pays in a fresh process: import numba, Numba's
# first-use setup, loading one function from the disk cache, and exit.
FLOOR_MODULE = "import numba\n\n\n@numba.njit(cache=True)\ndef one(x):\n    return x + 1.0\n"


def user_dir() -> Path:
    """The directory holding the user's module (rewritten only when it changes)."""
    USER_DIR.mkdir(exist_ok=True)
    for name, text in (("w4_user_objective.py", USER_ROSENBROCK.format(options="cache=True")),
                       ("w4_floor.py", FLOOR_MODULE)):
        path = USER_DIR / name
        if not path.exists() or path.read_text() != text:  # a rewrite would void Numba's cache
            path.write_text(text)
    return USER_DIR


def _fill(body: str) -> str:
    body = textwrap.dedent(body).replace("@USER_DIR@", repr(str(user_dir())))
    return body.replace("@ROSEN@\n", USER_ROSENBROCK.format(options=""))


def code_for(body: str, root: Path) -> str:
    return PRELUDE.format(root=str(root)) + _fill(body) + EPILOGUE.format()


def run_child(code: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(p.stderr[-3000:])
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("@@")][-1]
    return wall, json.loads(line[2:])


def available(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


PROFILE_CHILD = """
import time, sys
sys.path.insert(0, {root!r})
import numba.core.dispatcher as _d
_orig = _d.compiler.compile_extra
_log = []
def _ce(*a, **k):
    t = time.perf_counter()
    r = _orig(*a, **k)
    f = a[2]
    _log.append((time.perf_counter() - t, f.__module__ + "." + getattr(f, "__qualname__", "?")))
    return r
_d.compiler.compile_extra = _ce
import numba.core.caching as _c
_lo = _c.Cache.load_overload
_loads = []
def _load(self, sig, target_context):
    t = time.perf_counter()
    r = _lo(self, sig, target_context)
    _loads.append((time.perf_counter() - t, self._name if hasattr(self, "_name") else "?", r is not None))
    return r
_c.Cache.load_overload = _load
{body}
import json
print("@@" + json.dumps(dict(compiles=sorted(_log, reverse=True)[:8],
                             loads=sorted(_loads, reverse=True)[:5])))
"""


def profile(root: Path, out: list) -> None:
    out.append("\n### What the first minimize compiles (fresh process, cache warm)\n")
    for name in ("built-in: problems.rosenbrock, N=2, 10k Adam steps",
                 "built-in: losses.logistic, data mode, 1 epoch",
                 "user @njit(cache=True) rosenbrock in its module, N=2, 10k Adam steps",
                 "user @njit rosenbrock typed into -c (cannot be disk-cached)"):
        body = _fill(CASES[name][0]).replace("_t1 = time.perf_counter()", "").replace(
            "_t2 = time.perf_counter()", "")
        code = PROFILE_CHILD.format(root=str(root), body=body)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if p.returncode:
            out.append(f"{name}: failed: {p.stderr[-500:]}")
            continue
        info = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("@@")][-1][2:])
        out.append(f"* {name}: compiled " + ", ".join(
            f"`{n.replace('fastopt.', '')}` {t:.2f} s" for t, n in info["compiles"][:5]) +
            "; slowest cache loads " + ", ".join(f"{n} {t:.2f} s" for t, n, _ in info["loads"][:3]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--root", type=Path, default=ROOT, help="fastopt checkout to measure")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)
    reps = args.repeats or (3 if args.quick else 7)
    out = [f"W4 cold start (fresh processes; median of {reps} after a warm-up run; "
           f"fastopt from {args.root}; NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR', '(default)')})\n",
           "| case | process wall s | import s | first call s | target |",
           "|---|---|---|---|---|"]
    for name, (body, target) in CASES.items():
        if "jax" in name and not (available("jax") and available("optax")):
            out.append(f"| {name} | (jax/optax not installed) | | | |")
            continue
        code = code_for(body, args.root)
        run_child(code)  # warm-up: fills the disk cache
        walls, phases = [], []
        for _ in range(reps):
            w, p = run_child(code)
            walls.append(w)
            phases.append(p)
        wall = statistics.median(walls)
        imp = statistics.median(p.get("import", float("nan")) for p in phases)
        first = statistics.median(p.get("first_call", float("nan")) for p in phases)
        verdict = "" if target is None else f"<= {target} s: {'PASS' if wall <= target else 'MISS'}"
        fmt = (lambda v: "" if v != v else f"{v:.2f}")  # noqa: E731
        out.append(f"| {name} | {wall:.2f} | {fmt(imp)} | {fmt(first)} | {verdict} |")
    if args.profile:
        profile(args.root, out)
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
