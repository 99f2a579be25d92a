"""The W1-W4 workloads of PERFORMANCE.md and their peers, defined once.

No benchmarks live here (no ``time_``/``track_``/``peakmem_`` names): the
``bench_*`` suites and ``compare.py`` build on these factories, so that asv's
peer benchmarks and the comparison table time the same code.

A factory does any compile or warm-up itself and returns a zero-argument
callable doing one unit of work: one optimizer step (W1), one epoch (W2),
one whole ``minimize`` run (W3). W4 workloads are Python source run in a
fresh interpreter (``cold_start``). A peer that is not installed raises
``Missing``, a ``NotImplementedError``: asv's way of skipping a benchmark.

Workloads (PERFORMANCE.md):

W1  one step, in place, ``p`` and ``g`` standard normal, the optimizer's defaults;
W2  one epoch of mini-batch Adam (lr 1e-3) on the mean logistic loss, no
    intercept, from w = 0, no shuffling; 200,000 x 100 batch 256 and
    100,000 x 20 batch 32 (the data of ``w2_epoch.make_data``);
W3  Adam (lr 1e-3) on the Rosenbrock function from (-1.2, 1, -1.2, ...),
    gtol = 0 so that every run does all its iterations: N = 2 with 10,000
    iterations and N = 1000 with 2,000;
W4  a fresh interpreter: ``import fastopt``; its first ``minimize`` (the
    numba disk cache warm), with a built-in and with a user's jitted objective.
"""

from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np

F64, F32 = "float64", "float32"

# W1: sizes of the asv grid; float32 for Adam only (the other kernels share its code path).
STEP_SIZES = (100, 10_000, 1_000_000)
STEP_DTYPES = (F64, F32)
BIG = 10_000_000  # peakmem and the bandwidth-bound row of W1

# W2
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8
W2_CASES = {  # label -> (rows, features, batch)
    "200000x100 batch 256": (200_000, 100, 256),
    "100000x20 batch 32": (100_000, 20, 32),
}

# W3
W3_CASES = {  # label -> (N, iterations)
    "N=2 10000 it": (2, 10_000),
    "N=1000 2000 it": (1000, 2_000),
}


class Missing(NotImplementedError):
    """A peer library is not installed (asv reports the benchmark as skipped)."""


def need(module: str):
    """Import ``module`` or raise ``Missing``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Missing(f"{module} is not installed ({e})") from None


THREADS = None  # torch's thread count; None: all CPUs (compare.py --threads sets it)


def _torch():
    torch = need("torch")
    torch.set_num_threads(THREADS or os.cpu_count() or 1)
    return torch


def _jax():
    jax = need("jax")
    need("optax")
    jax.config.update("jax_enable_x64", True)
    return jax


# ---------------------------------------------------------------------------- W1


def step_data(n: int, dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


def fastopt_step(method: str, n: int, dtype: str, **hyper):
    """``opt.step(g)`` through the public API, after a first step (state allocated)."""
    import fastopt

    p, g = step_data(n, dtype)
    opt = fastopt.optimizers.CLASSES[method](p, **hyper)
    opt.step(g)
    step = opt.step
    return lambda: step(g)


TORCH_MODES = (("fused", {"fused": True}), ("foreach", {"foreach": True}),
               ("for-loop", {"foreach": False}))


def torch_step(method: str, n: int, dtype: str, **hyper):
    """``torch.optim.<Class>.step()`` with ``p.grad`` set: fused where torch has it on CPU.

    Returns (callable, mode) with mode the first of fused / foreach / for-loop
    that torch accepts for this optimizer.
    """
    from fastopt.registry import REGISTRY

    name = REGISTRY[method].torch
    if name is None:
        raise Missing(f"torch.optim has no counterpart of {method}")
    torch = _torch()
    p, g = step_data(n, dtype)
    tp = torch.from_numpy(p).requires_grad_(True)
    tp.grad = torch.from_numpy(g)
    for mode, flags in TORCH_MODES:
        try:
            opt = getattr(torch.optim, name)([tp], **hyper, **flags)
            opt.step()
        except (TypeError, RuntimeError, ValueError):
            continue
        step = opt.step
        return (lambda: step()), mode
    raise Missing(f"torch.optim.{name} refused every mode")


class NumpyAdam:
    """Adam with torch's defaults, as anyone would write it in NumPy (stays in p's dtype)."""

    def __init__(self, p, lr=LR, betas=(B1, B2), eps=EPS):
        self.p, self.lr, self.betas, self.eps = p, lr, betas, eps
        self.m, self.v, self.t = np.zeros_like(p), np.zeros_like(p), 0

    def step(self, g):
        self.t += 1
        b1, b2 = self.betas
        m, v = self.m, self.v
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        self.p -= (self.lr / bc1) * m / (np.sqrt(v) / math.sqrt(bc2) + self.eps)


def numpy_step(n: int, dtype: str):
    p, g = step_data(n, dtype)
    opt = NumpyAdam(p)
    opt.step(g)
    step = opt.step
    return lambda: step(g)


def jax_step(n: int, dtype: str):
    """``optax.adam`` update + apply under ``jax.jit``, buffers donated (in place)."""
    jax = _jax()
    import jax.numpy as jnp
    import optax

    p, g = step_data(n, dtype)
    opt = optax.adam(LR, b1=B1, b2=B2, eps=EPS)

    def update(params, state, grad):
        updates, state = opt.update(grad, state, params)
        return optax.apply_updates(params, updates), state

    update = jax.jit(update, donate_argnums=(0, 1))
    grad = jnp.asarray(g)
    box = [jnp.asarray(p), None]
    box[1] = opt.init(box[0])

    def step():
        box[0], box[1] = update(box[0], box[1], grad)
        box[0].block_until_ready()

    with warnings.catch_warnings():  # "donated buffers were not usable" on old CPU backends
        warnings.simplefilter("ignore")
        step()
        step()
    return step


_STREAM = {}


def stream_limit(n: int, dtype: str):
    """The floor of an Adam step: a parallel loop reading p, g, m, v and writing p, m, v.

    One add per element and no other arithmetic (the W1 "streaming-bandwidth
    limit" of PERFORMANCE.md).
    """
    if "kernel" not in _STREAM:
        from numba import njit, prange

        @njit(parallel=True, error_model="numpy", cache=False)
        def kernel(p, g, a, b):
            for i in prange(p.size):
                x, y = p[i], a[i]
                p[i] = g[i] + b[i]
                a[i] = x
                b[i] = y

        _STREAM["kernel"] = kernel
    kernel = _STREAM["kernel"]
    p, g = step_data(n, dtype)
    a, b = np.zeros_like(p), np.zeros_like(p)
    kernel(p, g, a, b)
    return lambda: kernel(p, g, a, b)


# ---------------------------------------------------------------------------- W2


def w2_data(n: int, d: int, seed: int = 0):
    """X (n, d) standard normal, y ~ Bernoulli(sigmoid(X w*)): the data of w2_epoch.py."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    return X, y


class W2Data:
    """Mixin: the W2 data sets written once per asv run (``setup_cache``), loaded per case.

    Every class that inherits it shares the one ``setup_cache`` (asv keys the
    cache by where the function is defined), so the data is generated once.
    """

    timeout = 300.0

    def setup_cache(self):
        paths = {}
        for label, (n, d, _) in W2_CASES.items():
            X, y = w2_data(n, d)
            base = Path.cwd() / f"w2_{n}x{d}"
            np.save(f"{base}_X.npy", X)
            np.save(f"{base}_y.npy", y)
            paths[label] = (f"{base}_X.npy", f"{base}_y.npy")
        return paths

    @staticmethod
    def load(paths, case):
        fx, fy = paths[case]
        return np.load(fx), np.load(fy), W2_CASES[case][2]


def logistic_loss(w, X, y) -> float:
    """The full-data mean logistic loss (the quality of a W2 result); intercept last if any."""
    d = X.shape[1]
    z = X @ w[:d] + (w[d] if w.size > d else 0.0)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fastopt_epoch(X, y, bs, loss="logistic", method="adam", lr=LR, jitted=True):
    """One epoch of ``minimize(losses.<loss>, w0, jac=True, data=(X, y), batch_size=bs)``.

    The epoch runs compiled (compiled once here, outside the timing); with
    ``jitted=False`` the loss is wrapped in a Python function, which runs the
    same loop source in Python (no compile). ``X, y`` may be ``(X, Y)`` for
    the softmax loss. Returns run() -> (epoch loss, w).
    """
    import fastopt
    from fastopt import losses

    fun = getattr(losses, loss)
    if not jitted:
        jit_fun = fun

        def fun(w, X, y):  # noqa: F811 - a Python objective
            return jit_fun(w, X, y)

    size = X.shape[1] * (y.shape[1] if y.ndim == 2 else 1)
    w0 = np.zeros(size)
    opts = {"epochs": 1, "lr": lr, "shuffle": False}

    def run():
        r = fastopt.minimize(fun, w0, method=method, jac=True, data=(X, y), batch_size=bs,
                             options=opts)
        return r.fun, r.x

    run()
    return run


class HelperShare:
    """The share of the cooperative epochs' chunks that a helper thread computed.

    ``with HelperShare() as h: ...`` counts, over the data-mode ``minimize``
    calls made inside, the chunks each epoch's helper threads computed
    (``fastopt._coop``'s counters) against all the chunks of its batches.
    ``h.share`` is about 0.5 with 2 threads on two free cores, near 0 when the
    helper got no core (the epoch's thread then did every chunk itself), and
    None when no cooperative epoch ran (a serial or ``prange`` epoch). A
    benchmark's diagnostic: it reads fastopt's private counters.
    """

    def __enter__(self):
        from fastopt import _coop

        self._coop, self._new_pool, self.pools = _coop, _coop.new_pool, []

        def new_pool(*args, **kwargs):
            pool = self._new_pool(*args, **kwargs)
            self.pools.append(pool)
            return pool

        _coop.new_pool = new_pool
        return self

    def __exit__(self, *exc):
        self._coop.new_pool = self._new_pool

    @property
    def share(self) -> float | None:
        from fastopt.losses import NCHUNKS

        c = self._coop
        ctls = [pool[0] for pool in self.pools]
        chunks = sum(int(ctl[c.SEQ]) for ctl in ctls) * NCHUNKS
        return sum(int(ctl[c.HELPED]) for ctl in ctls) / chunks if chunks else None

    def sentence(self) -> str | None:
        """The share, said for a report (None when no cooperative epoch ran)."""
        share = self.share
        if share is None:
            return None
        return (f"fastopt's cooperative epoch: its helper thread computed {share:.0%} of "
                "the batches' chunks over the measured calls (about 50% when both cores are "
                "free for it, near 0 when it got no core).")


def _jax_adam_step():
    """(opt, step): ``optax.adam`` and ``step((w, state), Xb, yb) -> ((w, state), loss)``,
    one step on the mean logistic loss of a batch."""
    jax = _jax()
    import jax.numpy as jnp
    import optax

    opt = optax.adam(LR, b1=B1, b2=B2, eps=EPS)

    def loss(w, Xb, yb):
        z = Xb @ w
        return jnp.mean(jnp.logaddexp(0.0, z) - yb * z)

    vg = jax.value_and_grad(loss)

    def step(carry, Xb, yb):
        w, state = carry
        f, g = vg(w, Xb, yb)
        upd, state = opt.update(g, state, w)
        return (optax.apply_updates(w, upd), state), f

    return opt, step


def jax_epoch(X, y, bs):
    """``optax.adam`` stepped by ``jax.lax.scan`` over the batches under ``jax.jit`` (x64)."""
    jax = _jax()
    import jax.numpy as jnp

    n, d = X.shape
    nb = n // bs
    Xf = jnp.asarray(X[: nb * bs].reshape(nb, bs, d))
    yf = jnp.asarray(y[: nb * bs].reshape(nb, bs))
    Xr, yr = jnp.asarray(X[nb * bs:]), jnp.asarray(y[nb * bs:])
    opt, adam_step = _jax_adam_step()

    def step(carry, batch):
        return adam_step(carry, *batch)

    @jax.jit
    def epoch(w):
        (w, state), fs = jax.lax.scan(step, (w, opt.init(w)), (Xf, yf))
        total = jnp.sum(fs) * bs
        if Xr.shape[0]:
            (w, state), f = step((w, state), (Xr, yr))
            total = total + f * Xr.shape[0]
        return w, total / n

    w0 = jnp.zeros(d)

    def run():
        w, f = jax.block_until_ready(epoch(w0))
        return float(f), np.asarray(w)

    run()
    return run


def shuffled_order(n, seed):
    """The row order of fastopt's first shuffled epoch with ``options["seed"] = seed``.

    ``minimize`` draws a seed for the objective's noise from the generator
    first, then each epoch's permutation.
    """
    rng = np.random.default_rng(seed)
    rng.integers(2 ** 31)
    return rng.permutation(n)


def jax_epoch_shuffled(X, y, bs, seed):
    """``jax_epoch`` over the rows in a new random order: each batch gathered (``Xj[idx]``)
    inside the jitted scan; the order drawn with NumPy per call, as fastopt draws it."""
    jax = _jax()
    import jax.numpy as jnp

    n, d = X.shape
    nb = n // bs
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    opt, adam_step = _jax_adam_step()

    def step(carry, idx):
        return adam_step(carry, Xj[idx], yj[idx])

    @jax.jit
    def epoch(w, order):
        (w, state), fs = jax.lax.scan(step, (w, opt.init(w)), order[: nb * bs].reshape(nb, bs))
        total = jnp.sum(fs) * bs
        if n > nb * bs:
            (w, state), f = step((w, state), order[nb * bs:])
            total = total + f * (n - nb * bs)
        return w, total / n

    w0 = jnp.zeros(d)

    def run():
        order = jnp.asarray(shuffled_order(n, seed))
        w, f = jax.block_until_ready(epoch(w0, order))
        return float(f), np.asarray(w)

    run()
    return run


def torch_epoch(X, y, bs):
    """A Python loop: ``binary_cross_entropy_with_logits``, ``backward``, fused Adam (float64)."""
    torch = _torch()
    import torch.nn.functional as F

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n, d = X.shape

    def run():
        w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w], lr=LR, betas=(B1, B2), eps=EPS, fused=True)
        total = 0.0
        for lo in range(0, n, bs):
            xb, yb = Xt[lo:lo + bs], yt[lo:lo + bs]
            opt.zero_grad()
            f = F.binary_cross_entropy_with_logits(xb @ w, yb)
            f.backward()
            opt.step()
            total += f.item() * xb.shape[0]
        return total / n, w.detach().numpy().copy()

    run()
    return run


def numpy_epoch(X, y, bs):
    """A Python loop: ``X_b @ w``, ``X_b.T @ (p - y_b)``, Adam in place."""
    n, d = X.shape

    def run():
        w, m, v = np.zeros(d), np.zeros(d), np.zeros(d)
        total, t = 0.0, 0
        for lo in range(0, n, bs):
            xb, yb = X[lo:lo + bs], y[lo:lo + bs]
            z = xb @ w
            total += float(np.sum(np.logaddexp(0.0, z) - yb * z))
            g = xb.T @ (0.5 * (1.0 + np.tanh(0.5 * z)) - yb)
            g /= xb.shape[0]
            t += 1
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * g * g
            w -= (LR / (1 - B1 ** t)) * m / (np.sqrt(v) / np.sqrt(1 - B2 ** t) + EPS)
        return total / n, w

    return run


SKLEARN_MODELS = ("SGDClassifier", "MLPClassifier adam", "MLPClassifier sgd")


def sklearn_epoch(X, y, bs, model="SGDClassifier"):
    """One epoch of a scikit-learn linear classifier, as close to W2 as it allows.

    * ``SGDClassifier(loss="log_loss")``: per-sample SGD (constant eta0 = 1e-3),
      the reference PERFORMANCE.md gives (not the same algorithm);
    * ``MLPClassifier(hidden_layer_sizes=())``, a logistic regression, with
      solver ``adam`` (mini-batch Adam, W2's algorithm plus an intercept) or
      ``sgd`` (plain mini-batch SGD), batch ``bs``, lr 1e-3, no penalty.
    """
    need("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    if model == "SGDClassifier":
        from sklearn.linear_model import SGDClassifier

        def make():
            return SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant",
                                 eta0=LR, max_iter=1, tol=None, shuffle=False,
                                 fit_intercept=False, average=False)
    elif model.startswith("MLPClassifier "):
        from sklearn.neural_network import MLPClassifier

        solver = model.split()[1]

        def make():
            return MLPClassifier(hidden_layer_sizes=(), solver=solver, batch_size=bs,
                                 learning_rate_init=LR, alpha=0.0, max_iter=1, shuffle=False,
                                 beta_1=B1, beta_2=B2, epsilon=EPS, momentum=0.0,
                                 nesterovs_momentum=False, learning_rate="constant",
                                 n_iter_no_change=10 ** 9, tol=0.0, random_state=0)
    else:
        raise ValueError(f"unknown scikit-learn model {model!r}")

    def run():
        clf = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        if hasattr(clf, "coefs_"):  # MLPClassifier: weights, then the intercept
            return None, np.concatenate([np.ravel(clf.coefs_[0]), np.ravel(clf.intercepts_[0])])
        return None, np.ravel(clf.coef_).copy()

    run()
    return run


# Streaming fits: one estimator ``partial_fit`` call per small batch, where
# the per-call overhead (validation, optimizer state in and out) is the cost.
PARTIAL_FIT = (2_000, 20, 32)  # rows, features, rows per partial_fit call


def partial_fit_data(seed: int = 0):
    """(X, y) for the partial_fit workload: standardized features, 0/1 labels."""
    n, d, _ = PARTIAL_FIT
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


def _partial_fit_runner(model, X, y):
    """``run()``: the model's next partial_fit, over the next batch of rows (cycling)."""
    bs = PARTIAL_FIT[2]
    batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, X.shape[0] - bs + 1, bs)]
    state = {"k": 0}

    def run():
        Xb, yb = batches[state["k"] % len(batches)]
        state["k"] += 1
        model.partial_fit(Xb, yb)
        return model

    return run


def fastopt_partial_fit(X, y):
    """fastopt.LogisticRegression (Adam, lr 1e-3, no penalty), one partial_fit per call."""
    import fastopt

    model = fastopt.LogisticRegression(lr=LR, alpha=0.0, penalty=None, random_state=0)
    model.partial_fit(X[:PARTIAL_FIT[2]], y[:PARTIAL_FIT[2]], classes=[0.0, 1.0])
    return _partial_fit_runner(model, X, y)


def sklearn_partial_fit(X, y):
    """scikit-learn's SGDClassifier(loss="log_loss") partial_fit, the streaming peer
    (per-sample SGD inside the call: not the same algorithm, the same use)."""
    need("sklearn")
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=LR,
                          random_state=0)
    model.partial_fit(X[:PARTIAL_FIT[2]], y[:PARTIAL_FIT[2]], classes=[0.0, 1.0])
    return _partial_fit_runner(model, X, y)


# Data for the fastopt-only epoch grid (every built-in loss x batch regime).
LOSSES = ("squared", "logistic", "huber", "softmax")
EPOCH_REGIMES = {  # label -> (rows, features, batch size; None = full batch)
    "full-batch": (20_000, 50, None),
    "mini-batch 256": (20_000, 50, 256),
    "sgd batch 1": (2_000, 20, 1),
}
SOFTMAX_CLASSES = 5


def loss_data(loss: str, n: int, d: int, seed: int = 0):
    """(X, y) for a built-in loss: regression targets, 0/1 labels or one-hot rows."""
    from fastopt import losses

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if loss == "softmax":
        W = rng.standard_normal((d, SOFTMAX_CLASSES)) / np.sqrt(d)
        logits = X @ W + rng.gumbel(size=(n, SOFTMAX_CLASSES))
        return X, losses.one_hot(np.argmax(logits, axis=1), SOFTMAX_CLASSES)
    w = rng.standard_normal(d) / np.sqrt(d)
    if loss == "logistic":
        return X, (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.float64)
    noise = rng.standard_normal(n) * 0.5
    if loss == "huber":
        noise[rng.random(n) < 0.05] *= 20.0  # outliers, where Huber differs from squared
    return X, X @ w + noise


# ---------------------------------------------------------------------------- W3


def rosenbrock_x0(n: int) -> np.ndarray:
    x0 = np.ones(n)
    x0[::2] = -1.2
    return x0


def rosenbrock_numpy(x):
    """Rosenbrock's value and gradient in NumPy: the plain Python objective of W3."""
    a = x[1:] - x[:-1] * x[:-1]
    b = 1.0 - x[:-1]
    f = float(100.0 * (a @ a) + b @ b)
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * a - 2.0 * b
    g[1:] += 200.0 * a
    return f, g


def fastopt_minimize(n: int, iters: int, objective: str = "jitted", method: str = "adam",
                     lr: float = LR):
    """``fastopt.minimize`` on Rosenbrock for exactly ``iters`` iterations.

    objective: "jitted" (``fastopt.problems.rosenbrock``: the whole loop runs
    compiled, compiled here once), "inplace" (``rosenbrock_inplace`` with
    ``jac="inplace"``: compiled, the gradient written into one buffer) or
    "python" (``rosenbrock_numpy``).
    Returns run() -> OptimizeResult.
    """
    import fastopt
    from fastopt import problems

    fun, jac = {"jitted": (problems.rosenbrock, True),
                "inplace": (problems.rosenbrock_inplace, "inplace"),
                "python": (rosenbrock_numpy, True)}[objective]
    x0 = rosenbrock_x0(n)
    opts = {"maxiter": iters, "gtol": 0.0, "lr": lr}

    def run():
        return fastopt.minimize(fun, x0, method=method, jac=jac, options=opts)

    run()
    return run


def numpy_minimize(n: int, iters: int):
    """A bare hand-written Adam loop in NumPy around the same Python objective."""
    x0 = rosenbrock_x0(n)

    def run():
        x = x0.copy()
        m, v = np.zeros(n), np.zeros(n)
        for t in range(1, iters + 1):
            f, g = rosenbrock_numpy(x)
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * (g * g)
            x -= (LR / (1 - B1 ** t)) * m / (np.sqrt(v) / math.sqrt(1 - B2 ** t) + EPS)
        return x

    return run


def torch_minimize(n: int, iters: int):
    """A torch loop: autograd Rosenbrock and ``torch.optim.Adam`` (float64)."""
    torch = _torch()
    x0 = torch.from_numpy(rosenbrock_x0(n))

    def run():
        x = x0.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=LR, betas=(B1, B2), eps=EPS)
        for _ in range(iters):
            opt.zero_grad()
            f = torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
            f.backward()
            opt.step()
        return x.detach().numpy()

    return run


JAX_MINIMIZE_SRC = """
def make_jax_minimize(n, iters, lr=1e-3):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    def f(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    grad = jax.grad(f)
    opt = optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)

    @jax.jit
    def solve(x0):
        def body(i, carry):
            x, state = carry
            upd, state = opt.update(grad(x), state, x)
            return optax.apply_updates(x, upd), state
        x, _ = jax.lax.fori_loop(0, iters, body, (x0, opt.init(x0)))
        return x, f(x)

    x0 = jnp.asarray([-1.2 if i % 2 == 0 else 1.0 for i in range(n)])
    return lambda: jax.block_until_ready(solve(x0))
"""


def jax_minimize(n: int, iters: int):
    """``optax.adam`` in ``jax.lax.fori_loop`` under ``jax.jit`` (x64), compiled here once."""
    _jax()
    env: dict = {}
    exec(JAX_MINIMIZE_SRC, env)
    run = env["make_jax_minimize"](n, iters)
    run()
    return run


# ---------------------------------------------------------------------------- W4

# A user's own jitted Rosenbrock, as source for fresh processes; ``options``
# are the njit arguments (``cache=True`` when it lives in a module of its own).
USER_ROSENBROCK = """
import numba
import numpy as np


@numba.njit({options})
def rosen(x):
    g = np.zeros_like(x)
    f = 0.0
    for i in range(x.size - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        f += 100.0 * a * a + b * b
        g[i] += -400.0 * x[i] * a - 2.0 * b
        g[i + 1] += 200.0 * a
    return f, g
"""

def _user_module(name: str, source: str) -> str:
    """Code that writes ``source`` to module ``name`` in a temporary folder and puts it on
    sys.path: a user's functions in a module of their own, as Numba's disk cache needs
    (written only when the text changes; a rewrite would void Numba's cache)."""
    return textwrap.dedent(f"""
        import os, sys, tempfile
        folder = os.path.join(tempfile.gettempdir(), "fastopt_bench_user")
        os.makedirs(folder, exist_ok=True)
        path, text = os.path.join(folder, "{name}.py"), {source!r}
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as f:
                f.write(text)
        sys.path.insert(0, folder)
    """)


COLD_START = {
    # label -> source run by a fresh interpreter
    "python startup": "pass",
    "import fastopt": "import fastopt",
    "first minimize, built-in objective": textwrap.dedent("""
        import fastopt
        from fastopt import problems
        fastopt.minimize(problems.rosenbrock, [-1.2, 1.0], jac=True, method="adam",
                         options={"maxiter": 10000, "gtol": 0.0})
    """),
    # The user's function in a module of its own with Numba's disk cache, as
    # "disk cache warm" in PERFORMANCE.md means (written once to a temporary
    # directory; rewriting it would void Numba's cache).
    "first minimize, user's jitted objective": _user_module(
        "bench_user_objective", USER_ROSENBROCK.format(options="cache=True")) + textwrap.dedent("""
        import numpy as np
        import fastopt
        from bench_user_objective import rosen

        fastopt.minimize(rosen, np.array([-1.2, 1.0]), jac=True, method="adam",
                         options={"maxiter": 10000, "gtol": 0.0})
    """),
    # The same function typed into ``python -c``: Numba cannot disk-cache it,
    # so its minimize loop compiles in every process (no target).
    "first minimize, user's jitted objective typed into -c": USER_ROSENBROCK.format(options="")
    + textwrap.dedent("""
        import fastopt

        fastopt.minimize(rosen, np.array([-1.2, 1.0]), jac=True, method="adam",
                         options={"maxiter": 10000, "gtol": 0.0})
    """),
    "first epoch, built-in loss": textwrap.dedent("""
        import numpy as np
        import fastopt
        from fastopt import losses
        rng = np.random.default_rng(0)
        X = rng.standard_normal((2000, 20))
        y = (rng.random(2000) < 0.5).astype(np.float64)
        fastopt.minimize(losses.logistic, np.zeros(20), jac=True, data=(X, y), batch_size=32,
                         options={"epochs": 1, "lr": 1e-3, "shuffle": False})
    """),
    "first full-batch minimize, built-in loss": textwrap.dedent("""
        import numpy as np
        import fastopt
        from fastopt import losses
        rng = np.random.default_rng(0)
        X = rng.standard_normal((20000, 50))
        y = (rng.random(20000) < 0.5).astype(np.float64)
        fastopt.minimize(losses.logistic, np.zeros(50), jac=True, data=(X, y),
                         options={"epochs": 20, "lr": 0.1})
    """),
}
# A user's per-example loss in a module of its own (njit(cache=True)), turned into
# a batch objective by losses.per_example: its data-mode epoch is disk-cached too.
USER_EXAMPLE = """
import numba


@numba.njit(cache=True)
def squared_one(w, x_i, y_i, grad):
    r = -y_i
    for j in range(w.size):
        r += x_i[j] * w[j]
    for j in range(w.size):
        grad[j] += r * x_i[j]
    return 0.5 * r * r
"""
COLD_START["first epoch, user's per_example loss"] = _user_module(
    "bench_user_example", USER_EXAMPLE) + textwrap.dedent("""
    import numpy as np
    import fastopt
    from fastopt import losses
    from bench_user_example import squared_one

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = X @ np.linspace(-1.0, 1.0, 20)
    fastopt.minimize(losses.per_example(squared_one), np.zeros(20), jac=True, data=(X, y),
                     batch_size=32, options={"epochs": 1, "lr": 1e-3, "shuffle": False})
""")
JAX_COLD_START = ("jax + optax: import, compile, run N=2",
                  JAX_MINIMIZE_SRC + "\nmake_jax_minimize(2, 10000)()\n")
IMPORT_COMPILES = textwrap.dedent("""
    import sys
    import fastopt
    from numba.core.registry import CPUDispatcher
    seen, count = set(), 0
    for name, mod in list(sys.modules.items()):
        if name == "fastopt" or name.startswith("fastopt."):
            for obj in vars(mod).values():
                if isinstance(obj, CPUDispatcher) and id(obj) not in seen:
                    seen.add(id(obj))
                    count += len(obj.overloads)
    print(count)
""")


def fresh_env() -> dict:
    """Environment of a fresh interpreter that imports the same fastopt as this process."""
    import fastopt

    root = str(Path(fastopt.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    return env


def cold_start(source: str, env: dict | None = None) -> str:
    """Run ``source`` in a fresh interpreter and return its stdout.

    The child runs in the temporary directory, so that a ``fastopt/`` folder
    in the current directory cannot shadow the one under test.
    """
    proc = subprocess.run([sys.executable, "-c", source], env=env or fresh_env(),
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    if proc.returncode:
        raise RuntimeError(f"cold start failed:\n{proc.stderr[-3000:]}")
    return proc.stdout
