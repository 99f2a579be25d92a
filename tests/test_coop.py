"""The cooperative training epoch (fastopt._coop): batches between the losses' CHUNK_WORK
and PARALLEL_WORK shared with helper threads, with the Python loop's bits."""

import importlib

import numpy as np
import pytest

import fastopt
from fastopt import _coop
from fastopt import losses as L

T = importlib.import_module("fastopt.training")
D = 40


def _problem(loss, k, dtype, seed=1):
    """Data with 3 coop-sized batches and a short last one (under CHUNK_WORK: one pass)."""
    rng = np.random.default_rng(seed)
    bs = L.CHUNK_WORK // (D * k) + 8
    n = 3 * bs + 50
    X = rng.standard_normal((n, D)).astype(dtype)
    if loss is L.softmax:
        y = L.one_hot(rng.integers(0, k, n), k)
    else:
        y = ((rng.random(n) < 0.5) * 1.0).astype(dtype)
    assert L.CHUNK_WORK <= bs * D * k and bs * (D + 1) * k < L.PARALLEL_WORK
    return X, y, bs, np.zeros((D + 1) * k, dtype=dtype)


def _python_loop(loss, w0, args, X, y, bs, opts):
    return fastopt.minimize(lambda w, X, y, *a: loss(w, X, y, *a), w0, args=args,
                            method="adam", jac=True, data=(X, y), batch_size=bs, options=opts)


def _pools(monkeypatch):
    """The pools the epochs of this test get (to read their counters)."""
    made = []
    new_pool = _coop.new_pool

    def spy(*a, **k):
        made.append(new_pool(*a, **k))
        return made[-1]

    monkeypatch.setattr(_coop, "new_pool", spy)
    return made


@pytest.mark.parametrize("loss, args, k, dtype", [
    (L.squared, (), 1, np.float64), (L.logistic, (), 1, np.float64),
    (L.huber, (0.7,), 1, np.float64), (L.softmax, (0.1,), 3, np.float64),
    (L.logistic, (), 1, np.float32), (L.huber, (), 1, np.float64)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_coop_epoch_gives_the_python_loops_bits(loss, args, k, dtype, shuffle):
    """Each built-in loss, with and without its extra argument, shuffled (the batch then in
    the gather buffers) or not: the cooperative epoch runs, and its history and iterate
    equal the Python loop's over the public loss bit for bit."""
    X, y, bs, w0 = _problem(loss, k, dtype)
    opts = {"epochs": 2, "shuffle": shuffle, "seed": 4, "lr": 0.01}
    r = fastopt.minimize(loss, w0, args=args, method="adam", jac=True, data=(X, y),
                         batch_size=bs, options=opts)
    spec = fastopt.registry.get_spec("adam")
    epoch, _ = T._COMPILED[(loss, True, "fun", spec.serial_kernel, 2, ("coop", len(args)))]
    assert epoch.needs_pool and epoch._cache._own_parfors
    python = _python_loop(loss, w0, args, X, y, bs, opts)
    assert np.array_equal(r.x, python.x) and np.array_equal(r.history, python.history)
    assert r.x.dtype == dtype and np.array_equal(r.jac, python.jac)


def test_coop_epoch_with_every_regularizer():
    """L2, L1 (the optimizer's prox), clipping and a schedule together (the epoch is the
    same code for every optimizer kernel; AdamW here)."""
    X, y, bs, w0 = _problem(L.logistic, 1, np.float64)
    opts = {"epochs": 2, "shuffle": True, "seed": 1, "l2": 1e-3, "l1": 1e-4,
            "clip_norm": 0.5, "lr": fastopt.schedules.CosineAnnealingLR(0.05, 6)}
    r = fastopt.minimize(L.logistic, w0, method="adamw", jac=True, data=(X, y), batch_size=bs,
                         options=opts)
    python = fastopt.minimize(lambda w, X, y: L.logistic(w, X, y), w0, method="adamw",
                              jac=True, data=(X, y), batch_size=bs, options=opts)
    assert np.array_equal(r.x, python.x) and np.array_equal(r.history, python.history)


@pytest.mark.parametrize("delay", [0, 100_000])
def test_late_helpers_change_nothing(monkeypatch, delay):
    """With no wait at all the epoch's thread computes every chunk a helper has not finished
    yet, while the helper may still be computing it (its late result is discarded); with
    helpers that idle after each claim (``DELAY`` cycles) that is most of their chunks.
    The same bits as the Python loop."""
    made = _pools(monkeypatch)
    monkeypatch.setattr(_coop, "WAIT_FACTOR", 0)
    monkeypatch.setattr(_coop, "WAIT_SLACK", 0)
    new_pool = _coop.new_pool

    def slow_helpers(*a, **k):
        pool = new_pool(*a, **k)
        pool[0][_coop.DELAY] = delay
        return pool

    monkeypatch.setattr(_coop, "new_pool", slow_helpers)
    X, y, bs, w0 = _problem(L.logistic, 1, np.float64, seed=3)
    # 3,000+ batches: long enough (tens of ms) for the OS to give a helper some CPU
    # while the epoch runs, also when another process (a pytest-xdist worker) holds
    # the other core; 30 and then 300 batches ran by before the helper was
    # scheduled at all, 5 runs in a row.
    X, y = np.tile(X, (1000, 1)), np.tile(y, 1000)
    opts = {"epochs": 1, "shuffle": False, "lr": 0.01}
    python = _python_loop(L.logistic, w0, (), X, y, bs, opts)
    # A helper the OS gives no CPU while the epoch runs claims nothing, and nothing
    # is taken back from it: a few runs, until one shows a chunk taken back.
    for _ in range(5):
        r = fastopt.minimize(L.logistic, w0, method="adam", jac=True, data=(X, y),
                             batch_size=bs, options=opts)
        assert np.array_equal(r.x, python.x) and np.array_equal(r.history, python.history)
        ctl = made[-1][0]
        if not delay or ctl[_coop.WORKERS] == 1 or ctl[_coop.TAKEN] > 0:
            break
    else:
        raise AssertionError("no chunk was taken back from a late helper in 5 runs")


def test_a_nonfinite_batch_stops_the_coop_epoch(monkeypatch):
    """NaN in X: a clear error naming the data (the helpers leave with the epoch), and the
    next cooperative run is unaffected."""
    X, y, bs, w0 = _problem(L.logistic, 1, np.float64, seed=5)
    bad = X.copy()
    bad[bs + 3, 7] = np.nan
    opts = {"epochs": 1, "shuffle": False, "lr": 0.01}
    with pytest.raises(ValueError, match="data"):
        fastopt.minimize(L.logistic, w0, method="adam", jac=True, data=(bad, y), batch_size=bs,
                         options=opts)
    r = fastopt.minimize(L.logistic, w0, method="adam", jac=True, data=(X, y), batch_size=bs,
                         options=opts)
    python = _python_loop(L.logistic, w0, (), X, y, bs, opts)
    assert np.array_equal(r.x, python.x)


@pytest.mark.parametrize("opts, coop", [
    ({}, True), ({"grad_noise": 0.1}, False), ({"input_noise": 0.1}, False)])
def test_noise_keeps_the_serial_epoch(opts, coop):
    """Noise draws come from the generator of the thread that runs the epoch, which in a
    cooperative epoch is not the seeded one: noisy runs keep the serial epoch."""
    X, y, bs, w0 = _problem(L.squared, 1, np.float64, seed=6)
    T._COMPILED.clear()
    fastopt.minimize(L.squared, w0, method="adam", jac=True, data=(X, y), batch_size=bs,
                     options={"epochs": 1, "seed": 0} | opts)
    (key,) = T._COMPILED
    assert (key[-1] == ("coop", 0)) is coop


def test_pool_sizes():
    ctl, bufs, sums = _coop.new_pool(7, np.float32, workers=3)
    assert ctl.shape == (_coop.CTL_SIZE,) and ctl[_coop.WORKERS] == 3
    assert bufs.shape == (3, L.NCHUNKS, 7) and bufs.dtype == np.float32
    assert sums.shape == (3, L.NCHUNKS)
    assert _coop.new_pool(7, np.float64, workers=64)[0][_coop.WORKERS] == L.NCHUNKS


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_chunk_order_visits_every_chunk_once(workers):
    """Each worker tries its own share of the chunks in order first, then every other chunk
    once, from the last down; the shares tile the chunks."""
    shares = []
    for worker in range(workers):
        order = [_coop._order(worker, workers, i) for i in range(L.NCHUNKS)]
        assert sorted(order) == list(range(L.NCHUNKS))
        lo, hi = worker * L.NCHUNKS // workers, (worker + 1) * L.NCHUNKS // workers
        assert order[:hi - lo] == list(range(lo, hi))
        rest = order[hi - lo:]
        assert rest == sorted(rest, reverse=True)
        shares += order[:hi - lo]
    assert shares == list(range(L.NCHUNKS))


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_helpers_prefetch_their_own_rows_of_the_next_batch(workers):
    """What a helper prefetches between batches: the rows of its own chunks (``_order``) of
    the next batch, a short last one included; nothing after the last batch."""
    n, size = 1000, 96
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        start, m = hi, min(n, hi + size) - hi
        rows = []
        for worker in range(workers):
            first, last = _coop._next_share(lo, hi, n, worker, workers)
            own = range(worker * L.NCHUNKS // workers, (worker + 1) * L.NCHUNKS // workers)
            expected = [r for c in own for r in range(start + c * m // L.NCHUNKS,
                                                        start + (c + 1) * m // L.NCHUNKS)]
            assert list(range(first, last)) == expected
            rows += expected
        assert rows == list(range(hi, min(n, hi + size)))


def test_atomics():
    """The atomics of fastopt._atomics in njit code: compare-and-swap succeeds only on the
    expected value; release stores are seen by acquire loads; the cycle counter does not
    go back; the spin and yield hints return."""
    from numba import njit

    from fastopt._atomics import cas, cycles, load_acquire, spin_pause, store_release, yield_cpu

    @njit
    def run(a):
        first = cas(a, 1, 5, 7)   # a[1] == 5: swapped
        second = cas(a, 1, 5, 9)  # a[1] == 7 now: not
        store_release(a, 2, 11)
        seen = load_acquire(a, 2)
        t0 = cycles()
        spin_pause()
        yield_cpu()
        return first, second, seen, cycles() - t0

    a = np.array([0, 5, 0], dtype=np.int64)
    first, second, seen, elapsed = run(a)
    assert (first, second, seen) == (True, False, 11) and elapsed >= 0
    assert a.tolist() == [0, 7, 11]


def test_random_waits_delays_and_thread_counts_keep_the_bits(monkeypatch):
    """A stress run: 60 fits with random wait budgets, helper delays and Numba thread counts
    (takeovers, stale helpers, no helper at all) all give the bits of the first."""
    import numba

    rng = np.random.default_rng(7)
    X, y, bs, w0 = _problem(L.logistic, 1, np.float64, seed=8)
    opts = {"epochs": 2, "shuffle": True, "seed": 1, "lr": 0.01}

    def fit():
        return fastopt.minimize(L.logistic, w0, method="adam", jac=True, data=(X, y),
                                batch_size=bs, options=opts).x

    reference = fit()
    new_pool = _coop.new_pool
    threads = numba.get_num_threads()
    try:
        for _ in range(60):
            factor, slack = int(rng.integers(0, 3)), int(rng.integers(0, 6000))
            delay = int(rng.integers(0, 3)) * 20_000

            def pool(*a, **k):
                p = new_pool(*a, **k)
                p[0][_coop.FACTOR], p[0][_coop.SLACK], p[0][_coop.DELAY] = factor, slack, delay
                return p

            monkeypatch.setattr(_coop, "new_pool", pool)
            numba.set_num_threads(int(rng.integers(1, threads + 1)))
            assert np.array_equal(fit(), reference), (factor, slack, delay)
    finally:
        numba.set_num_threads(threads)
