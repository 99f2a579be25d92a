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

Determinism: a batch of at least ``PARALLEL_WORK`` multiply-adds is split
into ``NCHUNKS`` fixed chunks, each summed into its own buffer on whichever
thread runs it, and the buffers are added in chunk order. The result is the
same bits for any number of threads. Smaller batches run serially, where a
thread launch would cost more than it saves.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import CACHE, FASTMATH

__all__ = ["squared", "logistic", "huber", "softmax", "one_hot", "per_example", "NCHUNKS",
           "PARALLEL_WORK"]

NCHUNKS = 8
PARALLEL_WORK = 1 << 17  # rows x outputs x features; measured in benchmarks/w2_epoch.py

_OPTS = dict(cache=CACHE, error_model="numpy", fastmath=FASTMATH)
SQUARED, LOGISTIC, HUBER = 0, 1, 2


@njit(inline="always")
def _link(kind, z, y, delta):
    """(loss, dloss/dz) of one example of a one-output model."""
    if kind == SQUARED:
        r = z - y
        return 0.5 * r * r, r
    if kind == LOGISTIC:
        if z > 0:
            e = np.exp(-z)
            return z + np.log1p(e) - y * z, 1.0 / (1.0 + e) - y
        e = np.exp(z)
        return np.log1p(e) - y * z, e / (1.0 + e) - y
    r = z - y
    if abs(r) <= delta:
        return 0.5 * r * r, r
    return delta * (abs(r) - 0.5 * delta), delta if r > 0 else -delta


@njit(inline="always")
def _glm_rows(lo, hi, grad, args):
    """Add the rows lo..hi-1 to ``grad``; return their summed loss."""
    w, X, y, kind, delta = args
    d = X.shape[1]
    intercept = w.size == d + 1
    total = 0.0
    for i in range(lo, hi):
        z = float(w[d]) if intercept else 0.0
        for j in range(d):
            z += X[i, j] * w[j]
        loss, r = _link(kind, z, y[i], delta)
        total += loss
        for j in range(d):
            grad[j] += r * X[i, j]
        if intercept:
            grad[d] += r
    return total


@njit(inline="always")
def _reduce_rows(rows, n, work, w, args):
    """(mean loss, gradient) over rows 0..n-1: ``rows(lo, hi, grad, args)`` adds a range.

    Above PARALLEL_WORK the rows go in NCHUNKS fixed chunks, each into its own
    buffer, summed in chunk order: the same bits for any thread count.
    """
    grad = np.zeros_like(w)
    if work < PARALLEL_WORK:
        total = rows(0, n, grad, args)
    else:
        bufs = np.zeros((NCHUNKS, w.size), dtype=w.dtype)
        sums = np.zeros(NCHUNKS)
        for c in prange(NCHUNKS):
            sums[c] = rows(c * n // NCHUNKS, (c + 1) * n // NCHUNKS, bufs[c], args)
        total = 0.0
        for c in range(NCHUNKS):
            total += sums[c]
            grad += bufs[c]
    scale = 1.0 / max(n, 1)
    grad *= scale
    return total * scale, grad


@njit(inline="always")
def _glm(w, X, y, kind, delta):
    n, d = X.shape
    if w.size != d and w.size != d + 1:
        raise ValueError("w must have X.shape[1] or X.shape[1] + 1 entries")
    if y.shape[0] != n:
        raise ValueError("X and y must have the same number of rows")
    return _reduce_rows(_glm_rows, n, n * d, w, (w, X, y, kind, delta))


@njit(inline="always")
def _softmax_rows(lo, hi, grad, args):
    """Add rows lo..hi-1 of the softmax cross-entropy to ``grad``; return their summed loss."""
    w, X, Y, smoothing = args
    d = X.shape[1]
    k = Y.shape[1]
    z = np.empty(k)
    intercept = w.size == (d + 1) * k
    off = 1.0 - smoothing
    share = smoothing / k
    total = 0.0
    for i in range(lo, hi):
        for c in range(k):
            z[c] = float(w[d * k + c]) if intercept else 0.0
        for j in range(d):
            xij = X[i, j]
            for c in range(k):
                z[c] += xij * w[j * k + c]
        zmax = z[0]
        for c in range(1, k):
            zmax = max(zmax, z[c])
        norm = 0.0
        for c in range(k):
            z[c] = np.exp(z[c] - zmax)
            norm += z[c]
        log_norm = np.log(norm) + zmax
        for c in range(k):
            target = off * Y[i, c] + share
            # log p_c = (z_c - zmax) - log(norm); z holds exp(z_c - zmax) now
            total -= target * (np.log(z[c]) + zmax - log_norm) if target != 0 else 0.0
            z[c] = z[c] / norm - target  # dloss/dz_c
        for j in range(d):
            xij = X[i, j]
            for c in range(k):
                grad[j * k + c] += z[c] * xij
        if intercept:
            for c in range(k):
                grad[d * k + c] += z[c]
    return total


@njit(inline="always")
def _softmax(w, X, Y, smoothing):
    n, d = X.shape
    k = Y.shape[1]
    if Y.shape[0] != n:
        raise ValueError("X and Y must have the same number of rows")
    if w.size != d * k and w.size != (d + 1) * k:
        raise ValueError("w must have X.shape[1] * k or (X.shape[1] + 1) * k entries, k = Y.shape[1]")
    return _reduce_rows(_softmax_rows, n, n * d * k, w, (w, X, Y, smoothing))


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
        reduced in a fixed order (the same bits for any thread count). It is
        compiled once per process (Numba cannot disk-cache a function built
        around another user function).
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

    @njit(parallel=True, error_model="numpy")
    def batch(w, X, y):
        n = X.shape[0]
        if y.shape[0] != n:
            raise ValueError("X and y must have the same number of rows")
        return _reduce_rows(rows, n, X.size, w, (w, X, y))

    batch.__doc__ = f"Batch objective of the per-example loss {example.__name__}."
    return batch
