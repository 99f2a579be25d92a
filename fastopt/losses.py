"""Built-in objectives with parallel, deterministic mini-batch gradients.

Each objective is a jitted ``f(w, X, y, ...) -> (mean loss, gradient)`` for a
linear model, usable directly as ``minimize(fastopt.losses.logistic, w0,
jac=True, data=(X, y), batch_size=256)``:

squared   0.5 * (x.w + b - y)^2
logistic  log(1 + exp(z)) - y z, labels 0/1
huber     0.5 r^2 for |r| <= delta, else delta (|r| - delta / 2)
softmax   cross-entropy of softmax(x W + b) against one-hot rows of ``Y``,
          with optional label smoothing; ``W`` is (d, k) flattened row-major

For the one-output losses ``w`` has ``d`` entries, or ``d + 1`` with the
intercept last; for ``softmax`` ``w`` has ``d * k`` or ``(d + 1) * k``
entries (the intercept row last).

Per-row arithmetic is float64 whatever the dtype of ``X`` (accuracy of the
loss sums); the gradient comes back in the dtype of ``w``.

Speed: the one-output losses take rows in small blocks, so that the link
(for ``logistic``: one exp, one log1p and a division per row) runs as one
vectorized loop over the block instead of per-row calls into libm. Its exp
and log1p are branch-free polynomial versions written here, within 1 ulp of
libm's (fdlibm's log1p method, a degree-13 exp after Cody-Waite reduction).

Determinism: a batch of at least ``CHUNK_WORK`` multiply-adds is split
into ``NCHUNKS`` fixed chunks, each summed into its own buffer on whichever
thread runs it, and the buffers are added in chunk order. The result is the
same bits for any number of threads. The chunks run in parallel from
``PARALLEL_WORK`` (below it a thread launch costs more than it saves), or,
inside a compiled training epoch, shared with a helper thread that waits
for them (``fastopt._coop``). Batches under ``CHUNK_WORK`` are one serial pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _loopcache
from ._atomics import prefetch_row
from ._config import CACHE, FASTMATH, STRICT
from ._kernels._common import float_from_bits

__all__ = ["squared", "logistic", "huber", "softmax", "one_hot", "per_example", "NCHUNKS",
           "CHUNK_WORK", "PARALLEL_WORK"]

NCHUNKS = 8
PARALLEL_WORK = 1 << 17  # rows x outputs x features; measured in benchmarks/w2_epoch.py
# From this much work a batch is summed in NCHUNKS chunks even when serial, so
# that a compiled epoch can share them with a helper thread (``_coop``) and
# keep the bits (W2 on 2 cores: batch 256 x 100 features gains, 128 x 100
# does not; benchmarks/w2_epoch.py --coop).
CHUNK_WORK = 1 << 14
# Rows per block (a multiple of 8, at most BLOCK): the block's rows are read
# twice, once for their linear outputs and once for the gradient, the second
# time from L1 cache when the block is about BLOCK_BYTES. A larger block makes
# the link's vectorized loop cheaper per row; a smaller one streams X better
# (W2, d = 100: 16 rows beat 8 and 24-32, benchmarks/w2_epoch.py).
BLOCK = 64
BLOCK_BYTES = 16384
# The row loops prefetch X this many bytes ahead of the row they read (W2,
# 800-byte rows: the epoch 6.6 against 7.3 ms; 4 KB and 12.8 KB ahead gained less,
# and so did stopping at the end of the rows asked for: what pays is fetching the
# next chunk's and the next batch's first rows early). A hint: no result changes.
PREFETCH_BYTES = 6400

_OPTS = dict(cache=CACHE, error_model="numpy", fastmath=FASTMATH)
# The link functions below depend on the exact order of their float operations
# (Cody-Waite reduction, rounding-error terms): no reassociation there.
_EXACT = dict(cache=CACHE, error_model="numpy",
              fastmath=(FASTMATH - {"reassoc"}) if FASTMATH else False)
SQUARED, LOGISTIC, HUBER = 0, 1, 2


@njit(inline="always")
def _prefetch_rows(X):
    """How many rows ahead of the one read a row loop prefetches (PREFETCH_BYTES, at least 1)."""
    return max(1, PREFETCH_BYTES // max(1, X.shape[1] * X.itemsize))


_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with 32 bits
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
# fdlibm's log1p/log polynomial: log(1 + f) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f)
_LG1, _LG2, _LG3, _LG4 = (6.666666666666735130e-01, 3.999999999940941908e-01,
                          2.857142874366239149e-01, 2.222219843214978396e-01)
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01


@njit(inline="always")
def _exp_nonpos(x):
    """exp(x) for x <= 0, within 1 ulp, branch-free so that a loop of it vectorizes.

    Below -708 the result is exp(-708) (~3e-308) instead of a subnormal or 0:
    an absolute error under 1e-307, far below anything a loss can resolve.
    """
    x = max(x, -708.0)
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2) / 2, exact to ~1e-20
    # Taylor to degree 13: truncation < 4e-18 on |r| <= 0.347
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * float_from_bits((np.int64(k) + 1023) << 52)  # times 2^k, k in [-1021, 0]


@njit(inline="always")
def _log1p_unit(e, inv_u):
    """log1p(e) for 0 <= e <= 1 within 1 ulp (fdlibm's method, branch-free); inv_u = 1 / (1 + e)."""
    u = 1.0 + e
    c = e - (u - 1.0)  # the rounding error of u, exactly
    big = u > _SQRT2
    f = u * 0.5 - 1.0 if big else u - 1.0  # exact
    k = 1.0 if big else 0.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    big_r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + big_r) + (k * _LN2_LO + c * inv_u))) - f)


@njit(**_EXACT)
def _link_block(kind, z, y, m, delta, loss):
    """For rows r < m: loss[r] = loss of the row, z[r] (the linear output) -> dloss/dz.

    One loop per kind, branch-free, so that each vectorizes across rows.
    """
    if kind == LOGISTIC:
        # log(1 + exp(z)) - y z = max(z, 0) - y z + log1p(exp(-|z|))
        for r in range(m):
            zr = z[r]
            yr = y[r]
            e = _exp_nonpos(-abs(zr))
            inv_u = 1.0 / (1.0 + e)
            loss[r] = (max(zr, 0.0) - yr * zr) + _log1p_unit(e, inv_u)
            z[r] = (inv_u if zr > 0 else e * inv_u) - yr  # sigmoid(z) - y
    elif kind == SQUARED:
        for r in range(m):
            res = z[r] - y[r]
            loss[r] = 0.5 * res * res
            z[r] = res
    else:
        for r in range(m):
            res = z[r] - y[r]
            a = abs(res)
            quad = a <= delta
            loss[r] = 0.5 * res * res if quad else delta * (a - 0.5 * delta)
            z[r] = res if quad else (delta if res > 0 else -delta)


@njit(**_OPTS)
def _glm_rows(lo, hi, grad, args):
    """Add the rows lo..hi-1 to ``grad``; return their summed loss.

    Compiled on its own, not inlined (so is ``_softmax_rows``): every
    function that sums rows (the loss, its twins, a cooperative epoch's
    threads) then runs the same machine code on them, and gets the same bits.
    Inlined, the loss sum's vectorized reduction was compiled differently
    in different callers.

    Rows go in blocks (8 to BLOCK rows, about BLOCK_BYTES of ``X``): the
    linear outputs of the block (one pass over each row), the link of the
    whole block in one vectorized call, then the gradient (a second pass over
    the rows, now in L1 cache, 8 rows per pass over ``grad``). A short block
    is padded with zeros to a multiple of 8 for the link, so that it
    vectorizes too; the padding never reaches the loss or the gradient.

    The first pass, the one from memory, reads ``X`` row after row in
    address order: reading rows side by side there (the dot products of 2
    or 8 rows in one loop, or the previous block's gradient interleaved with
    the dot products) ran the W2 epoch 1.5-2x slower, though faster from cache.
    """
    w, X, y, kind, delta = args
    d = X.shape[1]
    ahead, n_rows = _prefetch_rows(X), X.shape[0]
    intercept = w.size == d + 1
    b = np.float64(w[d]) if intercept else 0.0
    block = min(BLOCK, max(8, BLOCK_BYTES // (8 * max(d, 1)) // 8 * 8))
    buf = np.empty((3, block))  # z then dloss/dz; labels; losses (np.zeros would be a parfor)
    z, yb, loss = buf[0], buf[1], buf[2]
    total = 0.0
    for start in range(lo, hi, block):
        m = min(block, hi - start)
        for r in range(m):
            i = start + r
            if i + ahead < n_rows:
                prefetch_row(X, i + ahead)
            s = 0.0
            for j in range(d):
                s += np.float64(X[i, j]) * np.float64(w[j])
            z[r] = s + b
            yb[r] = y[i]
        padded = min(block, (m + 7) // 8 * 8)
        for r in range(m, padded):
            z[r] = 0.0
            yb[r] = 0.0
        _link_block(kind, z, yb, padded, delta, loss)
        for r in range(m):
            total += loss[r]
        r = 0
        while r + 8 <= m:  # 8 rows per pass over grad: grad[j] is loaded and stored once
            i = start + r
            a0, a1, a2, a3 = z[r], z[r + 1], z[r + 2], z[r + 3]
            a4, a5, a6, a7 = z[r + 4], z[r + 5], z[r + 6], z[r + 7]
            for j in range(d):
                grad[j] += (a0 * X[i, j] + a1 * X[i + 1, j] + a2 * X[i + 2, j]
                            + a3 * X[i + 3, j] + a4 * X[i + 4, j] + a5 * X[i + 5, j]
                            + a6 * X[i + 6, j] + a7 * X[i + 7, j])
            r += 8
        for r in range(r, m):
            i = start + r
            a = z[r]
            for j in range(d):
                grad[j] += a * X[i, j]
        if intercept:
            s = 0.0
            for r in range(m):
                s += z[r]
            grad[d] += s
    return total


@njit(inline="always")
def _chunks_parallel(rows, n, work, bufs, sums, args, ctx):
    if work < PARALLEL_WORK:  # a thread launch would cost more than it saves
        _chunks_serial(rows, n, work, bufs, sums, args, ctx)
    else:
        for c in prange(NCHUNKS):
            sums[c] = _chunk_sum(rows, n, c, bufs[c], args)


@njit(inline="always")
def _chunks_serial(rows, n, work, bufs, sums, args, ctx):
    for c in range(NCHUNKS):
        sums[c] = _chunk_sum(rows, n, c, bufs[c], args)


@njit(inline="always")
def _chunk_bounds(c, n):
    """Rows first..last-1 of chunk ``c`` of rows 0..n-1 (of NCHUNKS fixed ones)."""
    return c * n // NCHUNKS, (c + 1) * n // NCHUNKS


@njit(inline="always")
def _chunk_sum(rows, n, c, buf, args):
    """Chunk ``c`` of rows 0..n-1 (of NCHUNKS fixed ones) into the zeroed ``buf``; its loss sum."""
    for j in range(buf.size):
        buf[j] = 0
    first, last = _chunk_bounds(c, n)
    return rows(first, last, buf, args)


@njit(**STRICT)
def _combine(bufs, sums, grad):
    """grad += the chunks' buffers, in chunk order; the chunks' loss sum, in chunk order.

    Without fast-math (``_config.STRICT``): under the losses' flags LLVM
    regrouped the eight sums differently in different functions holding
    them (the loss, its twins, a cooperative epoch), and their bits differed.
    """
    total = 0.0
    for c in range(NCHUNKS):
        total += sums[c]
        for j in range(grad.size):
            grad[j] += bufs[c, j]
    return total


@njit(**STRICT)
def _mean(total, grad, n):
    """grad /= n in place; total / n (as products with 1 / n)."""
    scale = 1.0 / max(n, 1)
    for j in range(grad.size):
        grad[j] *= scale
    return total * scale


@njit(inline="always")
def _reduce_rows(rows, n, work, w, args, ctx=0, chunks=_chunks_parallel):
    """(mean loss, gradient) over rows 0..n-1: ``rows(lo, hi, grad, args)`` adds a range.

    From CHUNK_WORK the rows go in NCHUNKS fixed chunks, each into its own
    buffer, summed in chunk order: the same bits whoever computes the chunks,
    in order or in parallel (above PARALLEL_WORK), on any number of threads.
    ``chunks(rows, n, work, bufs, sums, args, ctx)`` computes them: the
    serial twins pass ``_chunks_serial``, a cooperative epoch ``_coop``'s
    (``ctx`` is then its pool of helper threads).

    Only explicit loops here: inside a ``parallel=True`` function Numba turns
    ``np.zeros`` and whole-array arithmetic into parallel regions of their
    own, each costing a thread launch (several per batch otherwise).
    """
    grad = np.empty_like(w)
    m = w.size
    for j in range(m):
        grad[j] = 0
    if work < CHUNK_WORK:
        total = rows(0, n, grad, args)
    else:
        bufs = np.empty((NCHUNKS, m), dtype=w.dtype)
        sums = np.empty(NCHUNKS)
        chunks(rows, n, work, bufs, sums, args, ctx)
        total = _combine(bufs, sums, grad)
    return _mean(total, grad, n), grad


@njit(inline="always")
def _reduce_rows_serial(rows, n, work, w, args, ctx=0):
    return _reduce_rows(rows, n, work, w, args, ctx, _chunks_serial)


@njit(inline="always")
def _glm_check(w, X, y):
    if w.size != X.shape[1] and w.size != X.shape[1] + 1:
        raise ValueError("w must have X.shape[1] or X.shape[1] + 1 entries")
    if y.shape[0] != X.shape[0]:
        raise ValueError("X and y must have the same number of rows")


@njit(inline="always")
def _glm(w, X, y, kind, delta, reduce=_reduce_rows, ctx=0):
    _glm_check(w, X, y)
    n, d = X.shape
    return reduce(_glm_rows, n, n * d, w, (w, X, y, kind, delta), ctx)


@njit(**_OPTS)
def _softmax_rows(lo, hi, grad, args):
    """Add rows lo..hi-1 of the softmax cross-entropy to ``grad``; return their summed loss.

    ``w`` and the gradient are (d, k) matrices flattened row by row, so a
    class's weights are k apart. Read that way, with k known only at run
    time, each multiply-add went through memory (z[c], grad[j * k + c]) and
    nothing vectorized. Here the weights are first laid out one class per
    row (``wt``) and the rows' gradient summed the same way (``gt``, float64),
    so the linear outputs are dot products and the gradient axpys over
    contiguous rows of ``d``: 3.7x faster (200,000 x 100, k = 4, batch 256, one
    thread: 36 against 134 ms an epoch). ``gt`` reaches ``grad`` once, at the end.
    """
    w, X, Y, smoothing = args
    d = X.shape[1]
    k = Y.shape[1]
    intercept = w.size == (d + 1) * k
    wt = np.empty((k, d))
    for j in range(d):
        for c in range(k):
            wt[c, j] = w[j * k + c]
    gt = np.zeros((k, d))
    buf = np.empty((2, k))
    z, p = buf[0], buf[1]
    off = 1.0 - smoothing
    share = smoothing / k
    ahead, n_rows = _prefetch_rows(X), X.shape[0]
    total = 0.0
    for i in range(lo, hi):
        if i + ahead < n_rows:
            prefetch_row(X, i + ahead)
        for c in range(k):
            s = np.float64(w[d * k + c]) if intercept else 0.0
            for j in range(d):
                s += np.float64(X[i, j]) * wt[c, j]
            z[c] = s
        zmax = z[0]
        for c in range(1, k):
            zmax = max(zmax, z[c])
        norm = 0.0
        for c in range(k):
            z[c] -= zmax  # z_c - zmax <= 0: log p_c = z_c - log(norm), never log(0)
            p[c] = np.exp(z[c])
            norm += p[c]
        log_norm = np.log(norm)
        inv_norm = 1.0 / norm
        for c in range(k):
            target = off * Y[i, c] + share
            if target != 0:
                total -= target * (z[c] - log_norm)
            p[c] = p[c] * inv_norm - target  # dloss/dz_c
        for c in range(k):
            pc = p[c]
            for j in range(d):
                gt[c, j] += pc * X[i, j]
        if intercept:
            for c in range(k):
                grad[d * k + c] += p[c]
    for j in range(d):
        for c in range(k):
            grad[j * k + c] += gt[c, j]
    return total


@njit(inline="always")
def _softmax_check(w, X, Y):
    d, k = X.shape[1], Y.shape[1]
    if Y.shape[0] != X.shape[0]:
        raise ValueError("X and Y must have the same number of rows")
    if w.size != d * k and w.size != (d + 1) * k:
        raise ValueError("w must have X.shape[1] * k or (X.shape[1] + 1) * k entries, k = Y.shape[1]")


@njit(inline="always")
def _softmax(w, X, Y, smoothing, reduce=_reduce_rows, ctx=0):
    _softmax_check(w, X, Y)
    n, d = X.shape
    return reduce(_softmax_rows, n, n * d * Y.shape[1], w, (w, X, Y, smoothing), ctx)


# Each public loss is itself the parallel, cached function: Numba's disk cache
# corrupts a cached function that calls a cached parallel one under a second
# signature (a segfault on load, numba issue #8578), so the shared cores are
# inlined instead.


@njit(parallel=True, **_OPTS)
def squared(w, X, y):
    """Mean of ``0.5 * (X @ w[:d] + b - y) ** 2`` and its gradient.

    Parameters
    ----------
    w : ndarray, shape (d,) or (d + 1,)
        Weights, with the intercept ``b`` last when there are ``d + 1``.
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    (float, ndarray)
        The mean loss and its gradient with respect to ``w``.
    """
    return _glm(w, X, y, SQUARED, 0.0)


@njit(parallel=True, **_OPTS)
def logistic(w, X, y):
    """Mean logistic loss ``log(1 + exp(z)) - y z``, ``z = X @ w[:d] + b``, labels 0/1.

    Parameters
    ----------
    w : ndarray, shape (d,) or (d + 1,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Labels 0 or 1 (values in between act as soft labels).

    Returns
    -------
    (float, ndarray)
    """
    return _glm(w, X, y, LOGISTIC, 0.0)


@njit(parallel=True, **_OPTS)
def huber(w, X, y, delta=1.0):
    """Mean Huber loss of the residual ``r = X @ w[:d] + b - y``.

    ``0.5 r^2`` where ``|r| <= delta``, ``delta * (|r| - delta / 2)`` beyond.

    Parameters
    ----------
    w : ndarray, shape (d,) or (d + 1,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    delta : float
        The threshold between the quadratic and the linear part.

    Returns
    -------
    (float, ndarray)
    """
    return _glm(w, X, y, HUBER, delta)


@njit(parallel=True, **_OPTS)
def softmax(w, X, Y, label_smoothing=0.0):
    """Mean softmax cross-entropy of a linear model with ``k`` classes.

    Parameters
    ----------
    w : ndarray, shape (d * k,) or ((d + 1) * k,)
        ``W`` of shape (d, k) (then the intercept row) flattened row-major.
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, k)
        One-hot targets (``one_hot(labels, k)``).
    label_smoothing : float in [0, 1]
        Targets become ``(1 - label_smoothing) * Y + label_smoothing / k``.

    Returns
    -------
    (float, ndarray)
    """
    return _softmax(w, X, Y, label_smoothing)


# Serial twins of the four losses: the same rows and chunks, reduced in the
# same order by a plain loop (the same bits). They keep Numba's parallel
# pipeline, which compiles the row loops a few percent faster, but contain no
# parallel region. A compiled epoch over small batches calls them; with no
# parfor in it, it can be disk-cached (numba issue #8578).
@njit(parallel=True, **_OPTS)
def _squared_serial(w, X, y):
    return _glm(w, X, y, SQUARED, 0.0, _reduce_rows_serial)


@njit(parallel=True, **_OPTS)
def _logistic_serial(w, X, y):
    return _glm(w, X, y, LOGISTIC, 0.0, _reduce_rows_serial)


@njit(parallel=True, **_OPTS)
def _huber_serial(w, X, y, delta=1.0):
    return _glm(w, X, y, HUBER, delta, _reduce_rows_serial)


@njit(parallel=True, **_OPTS)
def _softmax_serial(w, X, Y, label_smoothing=0.0):
    return _softmax(w, X, Y, label_smoothing, _reduce_rows_serial)


#: public loss -> its serial twin
SERIAL_TWINS = {squared: _squared_serial, logistic: _logistic_serial, huber: _huber_serial,
                softmax: _softmax_serial}


# Ranged twins: ``ranged(w, X, y, lo, hi, a, grad) -> (f, grad)``, the loss
# over the rows lo..hi-1 of X and y, its gradient written into ``grad``
# (``a``: huber's delta, softmax's label_smoothing, else ignored). Below
# CHUNK_WORK they give the serial twin's bits on (X[lo:hi], y[lo:hi]) (the
# same compiled row sum, the same mean) without the two views and the new
# gradient array: each view and each array costs atomic reference-count
# updates, and a small-batch epoch (W2: 32 rows x 20) spent 23% of its time
# on them on the Intel test host. Inlined by the epoch; from CHUNK_WORK on
# (where no epoch calls them) they fall back to the serial twin's code.
@njit(inline="always")
def _rows_into(rows, lo, hi, args, grad):
    n = hi - lo
    for j in range(grad.size):
        grad[j] = 0
    return _mean(rows(lo, hi, grad, args), grad, n), grad


@njit(inline="always")
def _copy_out(f, g, grad):
    for j in range(grad.size):
        grad[j] = g[j]
    return f, grad


def _glm_ranged(kind):
    @njit(inline="always")
    def ranged(w, X, y, lo, hi, a, grad):
        _glm_check(w, X, y)
        if (hi - lo) * X.shape[1] >= CHUNK_WORK:
            f, g = _glm(w, X[lo:hi], y[lo:hi], kind, a, _reduce_rows_serial)
            return _copy_out(f, g, grad)
        return _rows_into(_glm_rows, lo, hi, (w, X, y, kind, a), grad)

    return ranged


@njit(inline="always")
def _softmax_ranged(w, X, Y, lo, hi, a, grad):
    _softmax_check(w, X, Y)
    if (hi - lo) * X.shape[1] * Y.shape[1] >= CHUNK_WORK:
        f, g = _softmax(w, X[lo:hi], Y[lo:hi], a, _reduce_rows_serial)
        return _copy_out(f, g, grad)
    return _rows_into(_softmax_rows, lo, hi, (w, X, Y, a), grad)


#: public loss -> (its ranged twin, the default of its extra argument)
RANGED_TWINS = {squared: (_glm_ranged(SQUARED), 0.0), logistic: (_glm_ranged(LOGISTIC), 0.0),
                huber: (_glm_ranged(HUBER), 1.0), softmax: (_softmax_ranged, 0.0)}


# Inline twins: the same code for Numba to inline (parallel chunks and all)
# into a caller compiled with the losses' options, which then gives the same
# bits as the public function. A compiled epoch over large batches inlines
# one: its parallel region is then its own, and it can be disk-cached, which
# it cannot while it calls the parallel loss (numba issue #8578).
@njit(inline="always")
def _squared_inline(w, X, y):
    return _glm(w, X, y, SQUARED, 0.0)


@njit(inline="always")
def _logistic_inline(w, X, y):
    return _glm(w, X, y, LOGISTIC, 0.0)


@njit(inline="always")
def _huber_inline(w, X, y, delta=1.0):
    return _glm(w, X, y, HUBER, delta)


@njit(inline="always")
def _softmax_inline(w, X, Y, label_smoothing=0.0):
    return _softmax(w, X, Y, label_smoothing)


#: public loss -> its inline twin
INLINE_TWINS = {squared: _squared_inline, logistic: _logistic_inline, huber: _huber_inline,
                softmax: _softmax_inline}


def one_hot(labels, k: int | None = None, dtype=np.float64) -> np.ndarray:
    """One-hot rows for integer class labels 0..k-1.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
    k : int, optional
        Number of classes; ``max(labels) + 1`` by default.
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (n, k)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iub":
        raise TypeError("labels must be a 1-D array of integers")
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be >= 0")
    k = int(labels.max()) + 1 if k is None else int(k)
    if labels.size and labels.max() >= k:
        raise ValueError(f"labels must be < k = {k}")
    out = np.zeros((labels.size, k), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def per_example(example):
    """Turn a jitted per-example loss into a parallel, deterministic batch objective.

    Parameters
    ----------
    example : numba.njit function
        ``example(w, x_i, y_i, grad) -> float``: the loss of one example
        (``x_i = X[i]``, ``y_i = y[i]``), adding its gradient into ``grad``
        (an array like ``w``) rather than returning it, so that no array is
        allocated per example.

    Returns
    -------
    numba.njit function
        ``batch(w, X, y) -> (mean loss, mean gradient)``, computed like the
        built-in losses: serial for small batches, otherwise in fixed chunks
        reduced in a fixed order (the same bits for any thread count). Like
        a built-in loss it carries a serial twin (``batch.serial_twin``) and
        an inline twin (``batch.inline_twin``), with the same bits: when
        ``example`` is ``njit(cache=True)``, a data-mode epoch over it (the
        serial twin for small batches, the inline one for larger) is
        disk-cached, keyed by ``example``'s code and source file, so a new
        process loads it instead of compiling it.
    """
    from numba.core.registry import CPUDispatcher

    if not isinstance(example, CPUDispatcher):
        raise TypeError("example must be a numba.njit function "
                        f"example(w, x_i, y_i, grad) -> loss, got {type(example).__name__}")

    @njit(inline="always")
    def rows(lo, hi, grad, args):
        w, X, y = args
        total = 0.0
        for i in range(lo, hi):
            total += example(w, X[i], y[i], grad)
        return total

    @njit(inline="always")
    def core(w, X, y, reduce):
        n = X.shape[0]
        if y.shape[0] != n:
            raise ValueError("X and y must have the same number of rows")
        return reduce(rows, n, X.size, w, (w, X, y))

    @njit(parallel=True, error_model="numpy")
    def batch(w, X, y):
        return core(w, X, y, _reduce_rows)

    @njit(parallel=True, error_model="numpy")  # as SERIAL_TWINS: no prange inside
    def batch_serial(w, X, y):
        return core(w, X, y, _reduce_rows_serial)

    @njit(inline="always")  # as INLINE_TWINS
    def batch_inline(w, X, y):
        return core(w, X, y, _reduce_rows)

    batch.__doc__ = f"Batch objective of the per-example loss {example.__name__}."
    batch.serial_twin = batch_serial
    batch.inline_twin = batch_inline
    if _loopcache.closure_cacheable(batch_serial):  # example is njit(cache=True)
        _loopcache.cache_loop(batch_serial, batch_serial, None, "per_example twin")
        # its parallel region is its own (it calls only example): reloadable
        _loopcache.cache_loop(batch, batch, None, "per_example batch", own_parfors=True)
    return batch


def serial_twin(fun):
    """The serial twin of a built-in loss or of a ``per_example`` objective, else None."""
    return SERIAL_TWINS.get(fun) or getattr(fun, "serial_twin", None)


def inline_twin(fun):
    """The inline twin of a built-in loss or of a ``per_example`` objective, else None.

    A caller that inlines it and is compiled with ``fun``'s own options
    (``_config.compile_options(fun)``) gives ``fun``'s bits.
    """
    return INLINE_TWINS.get(fun) or getattr(fun, "inline_twin", None)
