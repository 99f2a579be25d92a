"""The minimize iteration, written once and run two ways.

``make_loop`` returns a plain Python closure over the objective, the kernel
and a per-iteration hook. Run as it is, it drives a Python objective (and
calls Python callbacks); wrapped in ``numba.njit``, the same source runs the
whole loop compiled for a Numba objective. Only numba-compatible constructs
appear here, and every O(n) helper it calls is a cached njit function.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._config import CACHE, STRICT
from ._kernels._common import float_bits, float_from_bits
from .schedules import CONSTANT, eval_schedule

# st (int64):   [iteration, nfev, njev, status, iteration of x_good]
# fl (float64): [f at x, f at x_good, gtol, ftol, clip_value, clip_norm, fd_step]
IT, NFEV, NJEV, STATUS, GOOD_IT = 0, 1, 2, 3, 4
F, F_GOOD, GTOL, FTOL, CLIP_VALUE, CLIP_NORM, FD_STEP = 0, 1, 2, 3, 4, 5, 6

RUNNING, CONVERGED_G, CONVERGED_F, MAXITER, NONFINITE, INTERRUPTED, CALLBACK_STOP = (
    -1, 0, 4, 1, 2, 3, 99)
BAD_GRADIENT = 5  # a gradient of the wrong size: reported as a ValueError


def _max_abs(g):
    """max |g_i|, or NaN when any entry is NaN or infinite (typed per array type below)."""


@overload(_max_abs, jit_options=dict(error_model="numpy"))
def _max_abs_impl(g):
    if isinstance(g, types.Array) and g.ndim == 1 and g.dtype in (types.float64, types.float32):
        # An integer max over the IEEE bits with the sign cleared: it orders
        # like |g_i| and puts inf and NaN above every finite number. That
        # loop vectorizes; a float max with a NaN check does not (LLVM needs
        # "nnan" for it, which would also fold the check away).
        if g.dtype == types.float64:
            ity, mask, inf = np.int64, np.int64(0x7FFFFFFFFFFFFFFF), np.int64(0x7FF0000000000000)
        else:
            ity, mask, inf = np.int32, np.int32(0x7FFFFFFF), np.int32(0x7F800000)

        def impl(g):
            m = ity(0)
            for i in range(g.size):
                m = max(m, ity(float_bits(g[i]) & mask))  # ity(): Numba widens int32 & int32
            return np.nan if m >= inf else float(float_from_bits(ity(m)))

        return impl

    def loop(g):
        m = 0.0
        for i in range(g.size):
            a = abs(g[i])
            if not a < np.inf:
                return np.nan
            if a > m:
                m = a
        return m

    return loop


@njit(**STRICT)
def grad_max_abs(g):
    """max |g_i|, or NaN when any entry is NaN or infinite."""
    return _max_abs(g)


@njit(inline="always", cache=CACHE)
def copy_into(dst, src):
    """dst[:] = src for 1-D arrays of one size (checked by the caller).

    Not the slice assignment: in a function compiled per process (the loops
    over a user's objective) ``dst[:] = src`` makes Numba compile its
    shape-mismatch error message (string formatting of shape tuples), about
    2 s of the first ``minimize`` in a fresh process; and this loop
    vectorizes where the slice copy ran ~0.3 ns per element.
    """
    for i in range(dst.size):
        dst[i] = src[i]


@njit(**STRICT)
def clip_gradient(g, clip_value, clip_norm):
    """Clip in place: each entry to [-clip_value, clip_value], then the L2 norm (torch's rule)."""
    if clip_value > 0:
        lo = -clip_value
        for i in range(g.size):
            if g[i] > clip_value:
                g[i] = clip_value
            elif g[i] < lo:
                g[i] = lo
    if clip_norm > 0:
        total = 0.0
        for i in range(g.size):
            total += float(g[i]) * float(g[i])
        coef = clip_norm / (np.sqrt(total) + 1e-6)
        if coef < 1.0:
            for i in range(g.size):
                g[i] = g[i] * coef


def call(fun, a, b, args):
    """``fun(a, b, *args)``; ``b`` None: ``fun(a, *args)``."""
    return fun(a, *args) if b is None else fun(a, b, *args)


@overload(call, inline="always")
def _call_impl(fun, a, b, args):
    # Compiled, a call with *args passes its arrays through a tuple, with
    # reference count updates around it, even when args is empty. With no args
    # (and the loop's evaluate inlined), W3's loop at n = 2 runs ~32 instead of
    # ~35 ns an iteration.
    empty = isinstance(args, types.BaseTuple) and len(args) == 0
    if isinstance(b, types.NoneType):
        return (lambda fun, a, b, args: fun(a)) if empty else (
            lambda fun, a, b, args: fun(a, *args))
    return (lambda fun, a, b, args: fun(a, b)) if empty else (
        lambda fun, a, b, args: fun(a, b, *args))


def make_loop(evaluate, kernel, hook, inplace=False):
    """The loop over iterations ``st[IT]`` .. ``stop - 1`` (``history`` must have room).

    ``inplace``: ``evaluate`` writes the gradient into ``g`` and returns the
    objective alone (``make_evaluate``'s mode 'inplace'); ``g`` then stays
    the same array, which spares the compiled loop a reference count update
    per iteration (~1 ns of W3's ~36). Numba compiles only the branch taken.

    On entry ``f = fl[F]`` and ``g`` are the objective and gradient at ``x``.
    ``x_good``/``fl[F_GOOD]`` hold the last iterate whose objective and
    gradient were finite, which is what comes back after a fault.
    """

    def loop(x, g, x_good, g_good, args, s, c, h, sched_kind, sched_params, history, st, fl, stop):
        # The iteration, f, the status and the settings live in locals, written
        # back on the way out: LLVM cannot tell that the arrays the objective and
        # the kernel write are not st and fl, so it reloaded them every iteration
        # (~1 ns of W3's ~36). st[IT] stays current for evaluate's messages; what
        # an exception from a Python objective leaves for minimize to return
        # (x_good, F_GOOD, GOOD_IT, the counts) is written as it happens.
        it, f, status = st[IT], fl[F], st[STATUS]
        gtol, ftol, clip_value, clip_norm = fl[GTOL], fl[FTOL], fl[CLIP_VALUE], fl[CLIP_NORM]
        while it < stop:
            if g.size != x.size:
                status = BAD_GRADIENT
                break
            gmax = grad_max_abs(g)
            if not (abs(f) < np.inf and gmax == gmax):
                status = NONFINITE
                break
            fl[F_GOOD] = f
            copy_into(x_good, x)
            copy_into(g_good, g)
            st[GOOD_IT] = it
            history[it] = f
            if hook(it, x, f):
                status = CALLBACK_STOP
                break
            if gtol > 0 and gmax <= gtol:
                status = CONVERGED_G
                break
            if ftol > 0 and it > 0:
                f_before = history[it - 1]
                if abs(f_before - f) <= ftol * max(1.0, abs(f), abs(f_before)):
                    status = CONVERGED_F
                    break
            if clip_value > 0 or clip_norm > 0:
                clip_gradient(g, clip_value, clip_norm)
            if sched_kind != CONSTANT:  # a constant lr is in h[0] already
                h[0] = eval_schedule(sched_kind, sched_params, it)
            kernel(x, g, s, c, h, float(it + 1))
            it += 1
            st[IT] = it
            if inplace:
                f = evaluate(x, g, args, st, fl)
            else:
                f, g = evaluate(x, g, args, st, fl)
        st[STATUS], fl[F] = status, f
        return g

    return loop


def make_evaluate(fun, jac, mode):
    """``evaluate(x, g, args, st, fl) -> (f, g)`` for ``jac`` mode 'callable', 'fun' or 'fd';
    ``-> f`` for mode 'inplace' (``fun(x, g, *args) -> f``), which writes the
    new gradient into ``g``, the previous one.
    'fd' is scipy's forward difference: step ``fd_step * max(1, |x_i|)``.
    """

    if mode == "callable":
        def evaluate(x, g, args, st, fl):
            st[NFEV] += 1
            st[NJEV] += 1
            return float(call(fun, x, None, args)), call(jac, x, None, args)
    elif mode == "fun":
        def evaluate(x, g, args, st, fl):
            st[NFEV] += 1
            st[NJEV] += 1
            f, g = call(fun, x, None, args)
            return float(f), g
    elif mode == "inplace":
        def evaluate(x, g, args, st, fl):
            st[NFEV] += 1
            st[NJEV] += 1
            return float(call(fun, x, g, args))
    else:
        def evaluate(x, g, args, st, fl):
            f = float(call(fun, x, None, args))
            g = np.empty_like(x)
            for i in range(x.size):
                xi = x[i]
                step = fl[FD_STEP] * max(1.0, abs(float(xi)))
                x[i] = xi + step
                step = float(x[i]) - float(xi)  # the step actually taken in x's dtype
                g[i] = (float(call(fun, x, None, args)) - f) / step
                x[i] = xi
            st[NFEV] += x.size + 1
            st[NJEV] += 1  # scipy counts finite-difference gradients too
            return f, g

    return evaluate


@njit(cache=CACHE)
def no_hook(it, x, f):
    return False
