"""One training epoch over mini-batches, written once and run two ways.

As with ``_loop``, ``make_epoch`` returns a plain Python closure: run as it
is for a Python objective, or under ``numba.njit`` for a Numba objective, so
that a whole epoch runs compiled. The data is a tuple of 1 to 4 arrays that
share their first axis; ``ARITY`` is a closure constant, so Numba prunes the
branches for the other arities before typing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._atomics import prefetch_row
from ._config import CACHE, STRICT
from ._loop import NONFINITE, clip_gradient, copy_into, grad_max_abs
from .schedules import eval_schedule

MAX_ARITY = 4

# st (int64):   [step count, batch within the epoch, nfev, status, n, batch_size, n_batches, gather]
# fl (float64): [loss sum of this epoch, clip_value, clip_norm, l2, l1, grad_noise eta,
#                grad_noise gamma, input_noise sigma]
IT, BATCH, NFEV, STATUS, N, BATCH_SIZE, N_BATCHES, GATHER = range(8)
LOSS_SUM, CLIP_VALUE, CLIP_NORM, L2, L1, NOISE_ETA, NOISE_GAMMA, INPUT_NOISE = range(8)


@njit(cache=CACHE)
def seed_noise(seed):
    """Seed Numba's generator (used by the noise helpers, in both loop flavours)."""
    np.random.seed(seed)


@njit(**STRICT)
def add_gaussian(a, sigma):
    """a += sigma * N(0, 1), elementwise, in place (any shape, C-contiguous)."""
    flat = a.reshape(-1)
    for i in range(flat.size):
        flat[i] += sigma * np.random.standard_normal()


@njit(cache=CACHE)
def take_rows(a, order, lo, hi, out):
    """out[j] = a[order[lo + j]] for j < hi - lo, for 1-D or 2-D ``a``.

    Rows in random order defeat the hardware prefetchers, and each read
    waits on memory: the rows a few places ahead are prefetched (8 ahead for
    rows of 256 bytes and more, up to 32 for short ones). A shuffled W2
    epoch's gathers: 26 against 16.5 ms (X, 800-byte rows), 2.7-3.8 against
    2.0 ms (y). A hint: nothing it reads changes.
    """
    src = a.reshape((a.shape[0], -1))
    dst = out.reshape((out.shape[0], -1))
    m = hi - lo
    ahead = max(8, min(32, 2048 // max(1, src.shape[1] * src.itemsize)))
    for j in range(min(ahead, m)):
        prefetch_row(src, order[lo + j])
    for j in range(m):
        if j + ahead < m:
            prefetch_row(src, order[lo + j + ahead])
        r = order[lo + j]
        for k in range(src.shape[1]):
            dst[j, k] = src[r, k]


@njit(**STRICT)
def penalize(x, g, l2, skip):
    """Add (l2 / 2) ||x||^2 (all but the last ``skip`` entries) to the loss and its gradient."""
    total = 0.0
    for i in range(x.size - skip):
        total += float(x[i]) * float(x[i])
        g[i] += l2 * x[i]
    return 0.5 * l2 * total


def make_batcher(arity: int, bounds: bool = False):
    """``batch(arrays, lo, hi)``: the tuple of row slices (views) of 1 to 4 arrays.

    With ``bounds`` (2 arrays): ``(X, y, lo, hi)``, the arrays whole, for an
    ``evaluate`` that shares the rows with other threads (``_coop``).
    """

    def batch(arrays, lo, hi):
        if bounds:
            return (arrays[0], arrays[1], lo, hi)
        if arity == 1:
            return (arrays[0][lo:hi],)
        if arity == 2:
            return (arrays[0][lo:hi], arrays[1][lo:hi])
        if arity == 3:
            return (arrays[0][lo:hi], arrays[1][lo:hi], arrays[2][lo:hi])
        return (arrays[0][lo:hi], arrays[1][lo:hi], arrays[2][lo:hi], arrays[3][lo:hi])

    def gather(arrays, buffers, order, lo, hi):
        take_rows(arrays[0], order, lo, hi, buffers[0])
        if arity >= 2:
            take_rows(arrays[1], order, lo, hi, buffers[1])
        if arity >= 3:
            take_rows(arrays[2], order, lo, hi, buffers[2])
        if arity >= 4:
            take_rows(arrays[3], order, lo, hi, buffers[3])

    return batch, gather


def make_evaluate(fun, jac, mode):
    """``evaluate(x, batch, args) -> (f, g)`` on one batch; mode 'fun' (jac=True),
    'inplace' (``fun(x, g, *batch, *args) -> f``; the last of ``args`` is ``g``, the
    buffer ``minimize_data`` appends) or 'callable'."""
    if mode == "fun":
        def evaluate(x, batch, args):
            f, g = fun(x, *(batch + args))
            return float(f), g
    elif mode == "inplace":
        def evaluate(x, batch, args):
            g = args[-1]
            return float(fun(x, g, *(batch + args[:-1]))), g
    else:
        def evaluate(x, batch, args):
            both = batch + args
            return float(fun(x, *both)), jac(x, *both)
    return evaluate


def make_inline_evaluate(fun, n_args: int):
    """``evaluate`` for a loss Numba inlines (``losses.INLINE_TWINS``): data (X, y), 0 or 1 args.

    Spelled out: Numba does not inline a call with ``*args``.
    """
    if n_args == 0:
        def evaluate(x, batch, args):
            f, g = fun(x, batch[0], batch[1])
            return float(f), g
    else:
        def evaluate(x, batch, args):
            f, g = fun(x, batch[0], batch[1], args[0])
            return float(f), g
    return evaluate


def make_ranged_evaluate(ranged, default, n_args: int):
    """``evaluate`` over a built-in loss's ranged twin (``losses.RANGED_TWINS``):
    ``batch`` is ``(X, y, lo, hi)`` (``make_batcher(2, bounds=True)``), ``args``
    is ``(grad,) + the loss's 0 or 1 args``; the gradient goes into ``grad``."""
    if n_args == 0:
        def evaluate(x, batch, args):
            X, y, lo, hi = batch
            f, g = ranged(x, X, y, lo, hi, default, args[0])
            return float(f), g
    else:
        def evaluate(x, batch, args):
            X, y, lo, hi = batch
            f, g = ranged(x, X, y, lo, hi, args[1], args[0])
            return float(f), g
    return evaluate


def _add_loss(fl, f, rows):
    fl[LOSS_SUM] += f * rows


def _noise_sigma(fl, t):
    return np.sqrt(fl[NOISE_ETA] / (1.0 + t) ** fl[NOISE_GAMMA])


# Their compiled flavour (``_config.STRICT``: under an inlined loss's flags
# ``a += f * rows`` became an FMA, unlike in the Python loop).
_add_loss_jit = njit(**STRICT)(_add_loss)
_noise_sigma_jit = njit(**STRICT)(_noise_sigma)


def _same(f):
    return f


def make_epoch(evaluate, kernel, prox, arity: int, wrap=_same, bounds: bool = False):
    """The epoch: batches ``st[BATCH]`` .. ``st[N_BATCHES] - 1`` in the given row order.

    ``kernel`` steps the optimizer; ``prox`` is its L1 proximal step
    (``OptimizerSpec.prox``), run after each step when ``fl[L1] > 0``.

    ``wrap`` is applied to the helpers built here (``numba.njit`` for the
    compiled flavour). The epoch's own float arithmetic lives in two
    helpers compiled apart without fast-math: an epoch that inlines a loss
    takes the loss's flags, under which ``a += f * rows`` could fuse into an FMA.

    ``bounds``: ``evaluate`` gets ``(X, y, lo, hi)`` instead of row views
    (``make_batcher``); not with input noise, which needs the views.
    """
    batch_of, gather = (wrap(f) for f in make_batcher(arity, bounds))
    add_loss, noise_sigma = ((_add_loss, _noise_sigma) if wrap is _same
                             else (_add_loss_jit, _noise_sigma_jit))

    def epoch(x, x_good, data, buffers, args, order, s, c, h, sched_kind, sched_params, skip,
              st, fl):
        n, size = st[N], st[BATCH_SIZE]
        while st[BATCH] < st[N_BATCHES]:
            lo = st[BATCH] * size
            hi = min(n, lo + size)
            if st[GATHER]:
                gather(data, buffers, order, lo, hi)
                batch = batch_of(buffers, 0, hi - lo)
                if fl[INPUT_NOISE] > 0:
                    add_gaussian(batch[0], fl[INPUT_NOISE])
            else:
                batch = batch_of(data, lo, hi)
            f, g = evaluate(x, batch, args)
            st[NFEV] += 1
            gmax = grad_max_abs(g)
            if not (abs(f) < np.inf and gmax == gmax):
                st[STATUS] = NONFINITE
                return g
            copy_into(x_good, x)
            if fl[L2] > 0:
                f += penalize(x, g, fl[L2], skip)
            add_loss(fl, f, hi - lo)
            t = st[IT]
            if fl[NOISE_ETA] > 0:  # annealed gradient noise, variance eta / (1 + t)^gamma
                add_gaussian(g, noise_sigma(fl, t))
            if fl[CLIP_VALUE] > 0 or fl[CLIP_NORM] > 0:
                clip_gradient(g, fl[CLIP_VALUE], fl[CLIP_NORM])
            h[0] = eval_schedule(sched_kind, sched_params, t)
            kernel(x, g, s, c, h, float(t + 1))
            if fl[L1] > 0:
                prox(x, s, c, h, float(t + 1), fl[L1], skip)
            st[IT] = t + 1
            st[BATCH] += 1
        return g

    return epoch
