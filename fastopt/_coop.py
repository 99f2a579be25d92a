"""A compiled training epoch that shares each batch's chunks with helper threads.

A mini-batch of a built-in loss between ``losses.CHUNK_WORK`` and
``losses.PARALLEL_WORK`` multiply-adds (W2: 256 rows x 100 features) is too
small for a thread launch per batch, yet one core leaves memory bandwidth
unused while it computes. Here the epoch runs on one thread of a ``prange``
and the other threads stay in a helper loop for the whole epoch: for each
batch the epoch's thread publishes the batch (its rows, a sequence number),
and every thread claims the batch's ``NCHUNKS`` fixed chunks one at a time
with a compare-and-swap, its own share first and then, from the far end,
what the others have not reached. Each chunk goes into its claimer's
buffer, and the epoch's thread adds the buffers in chunk order, as the loss
itself does: the same bits as the public loss, whoever computed which chunk.

The epoch's thread never waits long on a helper: a chunk a helper holds
longer than the epoch thread's mean chunk time (plus ~2 us) after the
epoch's thread has run out of chunks is computed again by the epoch's
thread, and the helper's late result is discarded (each result is tagged
with the batch's sequence number). So a helper that the OS preempts, or
that never starts (one Numba thread, a busy pool), costs at most that wait
per batch; it cannot stall the epoch or change its result.

While the epoch's thread sums the chunks and steps the optimizer, a helper
has nothing to compute: it prefetches its share of the next batch instead,
so that memory keeps streaming (W2: the epoch 8% faster).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from . import losses
from ._atomics import cas, cycles, load_acquire, prefetch_row, spin_pause, store_release, yield_cpu
from ._epoch import GATHER

# ctl (int64) entries; the ones threads share are a cache line (8 entries) apart.
BATCH = 0    # the published batch's tag: its sequence number * TAG
STOP = 8     # 1: the epoch is over, helpers leave
LO, HI = 16, 17  # rows of the published batch, in the data or the gather buffers
SEQ, WORKERS = 24, 25  # the last batch's sequence number; threads in the epoch
FACTOR, SLACK, LAST = 26, 27, 28  # the wait budget: FACTOR * own chunk cycles + SLACK
HELPED, TAKEN = 29, 30  # counts: chunks a helper computed, chunks taken back from a late helper
DELAY = 31   # cycles a helper idles after each claim: 0, but for tests of late helpers
CLAIMED = 32  # CLAIMED + 8 * c: tag + 1 + the worker that claimed chunk c
DONE = CLAIMED + 8 * losses.NCHUNKS  # DONE + 8 * c: tag + 1 + the worker whose result it is
CTL_SIZE = DONE + 8 * losses.NCHUNKS
TAG = 64     # > 1 + the most workers: a batch's claims and results stay below the next tag

# The wait: the epoch thread's mean chunk time, plus ~2 us (5000 cycles at
# 2.6 GHz). A helper holds one chunk at a time, begun before the epoch's
# thread ran out of chunks: unless it was preempted, it is done by then.
WAIT_FACTOR = 1
WAIT_SLACK = 5000
# A helper waiting for the next batch spins this many cycles (~2 us: the
# epoch thread's step between batches takes ~1), then yields its CPU on each
# poll: on a loaded machine (two processes fitting at once) spinning helpers
# took the CPU their partners needed, and the epoch ran 1.5x slower than a
# serial one. It leaves after IDLE_CYCLES (~1 ms) without a chunk to claim.
SPIN_CYCLES = 5000
IDLE_CYCLES = 2_000_000


def new_pool(m: int, dtype, workers: int | None = None):
    """(ctl, buffers, sums) for an epoch over ``m`` parameters of ``dtype``."""
    workers = max(1, min(numba.get_num_threads() if workers is None else workers, losses.NCHUNKS))
    ctl = np.zeros(CTL_SIZE, dtype=np.int64)
    ctl[WORKERS], ctl[FACTOR], ctl[SLACK] = workers, WAIT_FACTOR, WAIT_SLACK
    return (ctl, np.zeros((workers, losses.NCHUNKS, m), dtype=dtype),
            np.zeros((workers, losses.NCHUNKS)))


@njit(inline="always")
def _mark(ctl, at, base, worker):
    """Set ctl[at] to this batch's tag for ``worker`` unless it holds one; whether it did."""
    while True:
        cur = load_acquire(ctl, at)
        if cur > base:  # already marked for this batch
            return False
        if cas(ctl, at, cur, base + 1 + worker):
            return True


@njit(inline="always")
def _order(worker, workers, i):
    """The ``i``-th chunk ``worker`` tries: its own share in order, then the others' from the
    last chunk down.

    Each thread then reads its share as one run through memory, which the
    hardware prefetcher follows (chunks taken in turns ran no faster than one
    thread), and a thread that is ahead takes over what its partners have not
    reached, from the far end.
    """
    lo = worker * losses.NCHUNKS // workers
    hi = (worker + 1) * losses.NCHUNKS // workers
    if i < hi - lo:
        return lo + i
    c = losses.NCHUNKS - 1 - (i - (hi - lo))
    return c - (hi - lo) if c < hi else c


@njit(inline="always")
def _next_share(lo, hi, n, worker, workers):
    """The rows of ``worker``'s own chunks (``_order``) in the batch after rows lo..hi-1 of n."""
    start = min(max(hi, 0), n)
    m = min(n, start + max(hi - lo, 0)) - start
    first = losses._chunk_bounds(worker * losses.NCHUNKS // workers, m)[0]
    last = losses._chunk_bounds((worker + 1) * losses.NCHUNKS // workers - 1, m)[1]
    return start + first, start + last


@njit(inline="always")
def _claim_all(ctl, base, worker, workers, compute, f, payload, wbufs, wsums):
    """Every chunk of the batch ``worker`` can claim, as ``compute(f, c, buf, payload)``.

    Returns the cycles spent computing and the number of chunks.
    """
    spent = 0
    count = 0
    for i in range(losses.NCHUNKS):
        c = _order(worker, workers, i)
        if load_acquire(ctl, CLAIMED + 8 * c) <= base and _mark(ctl, CLAIMED + 8 * c, base, worker):
            start = cycles()
            while worker > 0 and cycles() - start < ctl[DELAY]:
                spin_pause()
            wsums[worker, c] = compute(f, c, wbufs[worker, c], payload)
            spent += cycles() - start
            count += 1
            _mark(ctl, DONE + 8 * c, base, worker)
    return spent, count


@njit(inline="always")
def _rows_chunk(rows, c, buf, payload):
    # ``rows`` apart: a function inside a tuple is Numba's experimental first-class type
    n, args = payload
    return losses._chunk_sum(rows, n, c, buf, args)


@njit(inline="always")
def _chunks(rows, n, work, bufs, sums, args, pool):
    """``losses._reduce_rows``'s ``chunks`` for the epoch's thread: claim, compute, collect.

    It computes every chunk it can claim (``_order``), then waits for the
    ones helpers hold until a deadline, FACTOR times its mean chunk time plus
    SLACK cycles later; what is not done by then it computes itself, without
    waiting again. A late helper costs at most that wait per batch.
    """
    ctl, wbufs, wsums = pool
    seq = ctl[SEQ] + 1
    ctl[SEQ] = seq
    base = seq * TAG
    store_release(ctl, BATCH, base)  # helpers may claim from here (LO, HI are written)
    spent, own = _claim_all(ctl, base, 0, ctl[WORKERS], _rows_chunk, rows, (n, args), wbufs,
                            wsums)
    if own > 0:
        ctl[LAST] = spent // own
    now = cycles()
    deadline = now + ctl[FACTOR] * ctl[LAST] + ctl[SLACK]
    for c in range(losses.NCHUNKS):
        while load_acquire(ctl, DONE + 8 * c) <= base:
            t = cycles()
            if t > deadline:  # a helper is late: computed here
                wsums[0, c] = _rows_chunk(rows, c, wbufs[0, c], (n, args))
                if _mark(ctl, DONE + 8 * c, base, 0):
                    ctl[TAKEN] += 1
                break
            if t - now > SPIN_CYCLES:  # the helper may want this CPU
                yield_cpu()
            else:
                spin_pause()
        worker = load_acquire(ctl, DONE + 8 * c) - base - 1
        if worker > 0:
            ctl[HELPED] += 1
        sums[c] = wsums[worker, c]
        for j in range(bufs.shape[1]):
            bufs[c, j] = wbufs[worker, c, j]


@njit(inline="always")
def _reduce(rows, n, work, w, args, pool):
    return losses._reduce_rows(rows, n, work, w, args, pool, _chunks)


# Per built-in loss: the epoch thread's batch function (the loss with the
# shared chunks) and a helper's chunk function. ``a`` is the loss's one
# extra argument (huber's delta, softmax's label_smoothing; ignored otherwise).
def _glm_pair(kind):
    @njit(inline="always")
    def batch(w, X, y, a, pool):
        return losses._glm(w, X, y, kind, a, _reduce, pool)

    @njit(inline="always")
    def chunk(c, buf, w, X, y, a):
        return losses._chunk_sum(losses._glm_rows, X.shape[0], c, buf, (w, X, y, kind, a))

    return batch, chunk


@njit(inline="always")
def _softmax_batch(w, X, Y, a, pool):
    return losses._softmax(w, X, Y, a, _reduce, pool)


@njit(inline="always")
def _softmax_chunk(c, buf, w, X, Y, a):
    return losses._chunk_sum(losses._softmax_rows, X.shape[0], c, buf, (w, X, Y, a))


#: public loss -> (batch, chunk, the default of its extra argument)
TWINS = {
    losses.squared: _glm_pair(losses.SQUARED) + (0.0,),
    losses.logistic: _glm_pair(losses.LOGISTIC) + (0.0,),
    losses.huber: _glm_pair(losses.HUBER) + (1.0,),
    losses.softmax: (_softmax_batch, _softmax_chunk, 0.0),
}


def make_parts(fun, n_args: int):
    """(evaluate, helper) for the epoch over ``fun``, a key of TWINS, with 0 or 1 extra args.

    ``evaluate(x, batch, args)``: ``batch`` is ``(X, y, lo, hi)`` (whole
    arrays and the batch's rows), ``args`` is ``(pool,) + fun's args``.
    """
    batch, chunk, default = TWINS[fun]
    if n_args == 0:
        @njit(inline="always")
        def extra(args):
            return default
    else:
        @njit(inline="always")
        def extra(args):
            return args[0]

    @njit(inline="always")
    def evaluate(x, bounds, args):
        X, y, lo, hi = bounds
        pool = args[0]
        ctl = pool[0]
        store_release(ctl, LO, lo)
        store_release(ctl, HI, hi)
        f, g = batch(x, X[lo:hi], y[lo:hi], extra(args[1:]), pool)
        return float(f), g

    @njit(inline="always")
    def chunk_of(unused, c, buf, payload):
        x, arrays, lo, hi, a = payload
        # never out of bounds, should lo, hi be another batch's
        hi = min(max(hi, 0), arrays[0].shape[0])
        lo = min(max(lo, 0), hi)
        return chunk(c, buf, x, arrays[0][lo:hi], arrays[1][lo:hi], a)

    def helper(x, data, buffers, args, gathered, pool, worker):
        """Claim and compute chunks of each new batch until STOP, or idle for IDLE_CYCLES.

        Between batches it prefetches its share of the next batch's rows
        (batches in data order only), one row per poll: the epoch's thread
        then sums the chunks and steps the optimizer, and memory would idle.
        """
        ctl, wbufs, wsums = pool
        a = extra(args)
        workers = ctl[WORKERS]
        seen = 0
        idle = cycles()
        X = data[0]
        ahead, ahead_end = 0, 0  # the rows left to prefetch
        while load_acquire(ctl, STOP) == 0:
            base = load_acquire(ctl, BATCH)
            if base > seen:
                seen = base
                # read before any claim: while a chunk of this batch is unclaimed,
                # the epoch's thread has not moved on to the next batch
                lo = load_acquire(ctl, LO)
                hi = load_acquire(ctl, HI)
                if gathered:
                    _claim_all(ctl, base, worker, workers, chunk_of, 0, (x, buffers, lo, hi, a),
                               wbufs, wsums)
                else:
                    _claim_all(ctl, base, worker, workers, chunk_of, 0, (x, data, lo, hi, a),
                               wbufs, wsums)
                    ahead, ahead_end = _next_share(lo, hi, X.shape[0], worker, workers)
                idle = cycles()
            elif ahead < ahead_end:
                prefetch_row(X, ahead)
                ahead += 1
                idle = cycles()
            else:
                waited = cycles() - idle
                if waited > IDLE_CYCLES:
                    return
                if waited > SPIN_CYCLES:
                    yield_cpu()
                else:
                    spin_pause()

    return evaluate, helper


def make_run(epoch, helper):
    """The epoch on worker 0 of a ``prange``, the helper loop on the others.

    ``run(...epoch's arguments..., pool, g_out)`` returns ``g_out``, holding
    the epoch's last gradient.
    """

    def run(x, x_good, data, buffers, args, order, s, c, h, sched_kind, sched_params, skip,
            st, fl, pool, g_out):
        ctl = pool[0]
        workers = ctl[WORKERS]  # not numba.get_num_threads() here: it would bar the disk cache
        for i in range(ctl.size):
            ctl[i] = -1 if i >= CLAIMED else (ctl[i] if WORKERS <= i <= LAST or i == DELAY else 0)
        gathered = st[GATHER] != 0  # the batches are in the gather buffers
        for worker in prange(workers):
            if worker == 0:
                # built here: a nested tuple made outside cannot enter the parallel
                # region (Numba's gufunc wrapper takes it for an array)
                epoch_args = (pool,) + args
                g = epoch(x, x_good, data, buffers, epoch_args, order, s, c, h, sched_kind,
                          sched_params, skip, st, fl)
                for j in range(g.size):
                    g_out[j] = g[j]
                store_release(ctl, STOP, 1)
            else:  # int64: the prange index is unsigned in the parallel region (a second compile)
                helper(x, data, buffers, args, gathered, pool, np.int64(worker))
        return g_out

    return run
