"""fastopt.losses: the built-in jitted objectives against plain NumPy.

Every loss is checked against a straightforward (and numerically stable)
NumPy reference of the mean loss and its gradient, against central finite
differences, on extreme inputs, for parallel == serial and for bit-identical
results across thread counts (in subprocesses, NUMBA_NUM_THREADS=1 and 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from scipy.special import expit, logsumexp

from fastopt import losses as L
from fastopt._kernels import quiet_twin_compiles

RNG = np.random.default_rng(1234)
N, D, K = 200, 5, 3


# -- NumPy references ---------------------------------------------------------------------------

def _split(w, d):
    w = np.asarray(w, dtype=np.float64)
    return (w[:d], w[d]) if w.size == d + 1 else (w, 0.0)


def ref_glm(kind, w, X, y, delta=1.0):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    coef, b = _split(w, d)
    z = X @ coef + b
    if kind == "squared":
        r = z - y
        loss, dz = 0.5 * r * r, r
    elif kind == "logistic":
        # log(1 + e^z) - y z without cancellation
        loss = (np.maximum(z, 0.0) - y * z) + np.log1p(np.exp(-np.abs(z)))
        dz = expit(z) - y
    else:
        r = z - y
        quad = np.abs(r) <= delta
        loss = np.where(quad, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
        dz = np.where(quad, r, delta * np.sign(r))
    grad = X.T @ dz / n
    if np.asarray(w).size == d + 1:
        grad = np.append(grad, dz.mean())
    return loss.mean(), grad


def ref_softmax(w, X, Y, smoothing=0.0):
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n, d = X.shape
    k = Y.shape[1]
    w = np.asarray(w, dtype=np.float64)
    intercept = w.size == (d + 1) * k
    W = w[: d * k].reshape(d, k)
    b = w[d * k:] if intercept else np.zeros(k)
    Z = X @ W + b
    logp = Z - logsumexp(Z, axis=1, keepdims=True)
    T = (1 - smoothing) * Y + smoothing / k
    loss = -(T * logp).sum(axis=1).mean()
    dZ = np.exp(logp) - T
    grad = (X.T @ dZ / n).ravel()
    if intercept:
        grad = np.append(grad, dZ.mean(axis=0))
    return loss, grad


def call(kind, w, X, y, **kw):
    if kind == "softmax":
        return L.softmax(w, X, y, kw.get("label_smoothing", 0.0))
    if kind == "huber":
        return L.huber(w, X, y, kw.get("delta", 1.0))
    return getattr(L, kind)(w, X, y)


def ref(kind, w, X, y, **kw):
    if kind == "softmax":
        return ref_softmax(w, X, y, kw.get("label_smoothing", 0.0))
    return ref_glm(kind, w, X, y, kw.get("delta", 1.0))


def make_data(kind, n=N, d=D, k=K, rng=None, intercept=False):
    rng = np.random.default_rng(7) if rng is None else rng
    X = rng.normal(size=(n, d))
    if kind == "softmax":
        y = L.one_hot(rng.integers(0, k, size=n), k)
        w = rng.normal(size=((d + intercept) * k))
    else:
        w = rng.normal(size=d + intercept)
        if kind == "logistic":
            y = (rng.random(n) < 0.5).astype(np.float64)
        else:
            y = X @ rng.normal(size=d) + rng.normal(size=n)
    return w, X, y


KINDS = ["squared", "logistic", "huber", "softmax"]


# -- against the references -----------------------------------------------------------------------

@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_matches_numpy_reference_float64(kind, intercept):
    w, X, y = make_data(kind, intercept=intercept)
    f, g = call(kind, w, X, y)
    f_ref, g_ref = ref(kind, w, X, y)
    assert isinstance(f, float)
    assert g.dtype == np.float64 and g.shape == w.shape
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_inputs(kind):
    w, X, y = make_data(kind, intercept=True)
    X32, w32 = X.astype(np.float32), w.astype(np.float32)
    # float32 X, float64 w: per-row arithmetic and the gradient stay float64
    f, g = call(kind, w, X32, y)
    f_ref, g_ref = ref(kind, w, X32.astype(np.float64), y)
    assert g.dtype == np.float64
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    # float32 X and w: the gradient comes back float32 (accumulated in float32)
    f, g = call(kind, w32, X32, y)
    f_ref, g_ref = ref(kind, w32.astype(np.float64), X32.astype(np.float64), y)
    assert isinstance(f, float)
    assert g.dtype == np.float32 and g.shape == w.shape
    np.testing.assert_allclose(f, f_ref, rtol=1e-6)
    np.testing.assert_allclose(g, g_ref, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_w_and_X_loss_is_float64_accurate(kind):
    w, X, y = make_data(kind, intercept=True)
    X32, w32 = X.astype(np.float32), w.astype(np.float32)
    f = call(kind, w32, X32, y)[0]
    f_ref = ref(kind, w32.astype(np.float64), X32.astype(np.float64), y)[0]
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)


def _central_differences(fun, w, h=1e-6):
    out = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        out[i] = (fun(w + e)[0] - fun(w - e)[0]) / (2 * h)
    return out


@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_gradient_matches_finite_differences(kind, intercept):
    w, X, y = make_data(kind, n=60, intercept=intercept)
    kw = {"delta": 1.3} if kind == "huber" else ({"label_smoothing": 0.2} if kind == "softmax" else {})
    if kind == "huber":  # keep every residual away from the kink |r| = delta
        coef, b = _split(w, X.shape[1])
        r = X @ coef + b - y
        keep = np.abs(np.abs(r) - 1.3) > 1e-3
        X, y = X[keep], y[keep]
    fun = lambda v: call(kind, v, X, y, **kw)  # noqa: E731
    g = fun(w)[1]
    np.testing.assert_allclose(g, _central_differences(fun, w), rtol=1e-6, atol=1e-8)


# -- extreme inputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [50.0, 700.0, 1000.0])
def test_logistic_extreme_logits(scale):
    X = np.array([[1.0], [-1.0], [1.0], [-1.0], [0.5], [-0.5]]) * scale
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    w = np.array([1.0])
    f, g = L.logistic(w, X, y)
    f_ref, g_ref = ref_glm("logistic", w, X, y)
    assert np.isfinite(f) and np.all(np.isfinite(g))
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-300)
    # intercept too, and each row on its own (exactly |z| or ~0)
    f, g = L.logistic(np.array([1.0, 0.0]), X, y)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    for i in range(X.shape[0]):
        f_i, g_i = L.logistic(w, X[i:i + 1], y[i:i + 1])
        f_ri, g_ri = ref_glm("logistic", w, X[i:i + 1], y[i:i + 1])
        assert np.isfinite(f_i) and np.isfinite(g_i).all()
        np.testing.assert_allclose(f_i, f_ri, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(g_i, g_ri, rtol=1e-12, atol=1e-300)


def test_logistic_soft_labels_and_small_logits():
    X = np.linspace(-3, 3, 41).reshape(-1, 1)
    y = np.linspace(0, 1, 41)
    w = np.array([0.7, -0.2])
    f, g = L.logistic(w, X, y)
    f_ref, g_ref = ref_glm("logistic", w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)


def test_softmax_label_smoothing_huge_logit_gap():
    w, X, Y = np.array([1000.0, 0, 0]), np.ones((2, 1)), L.one_hot([0, 1], 3)
    f, g = L.softmax(w, X, Y, 0.1)
    f_ref, g_ref = ref_softmax(w, X, Y, 0.1)
    assert np.isfinite(f) and np.all(np.isfinite(g))
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(f, (2 * 0.1 / 3 * 1000 + (0.9 + 0.1 / 3 * 2) * 1000) / 2, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
def test_softmax_label_smoothing_matches_reference(smoothing):
    w, X, Y = make_data("softmax", intercept=True)
    f, g = L.softmax(w * 30, X, Y, smoothing)  # large logits as well
    f_ref, g_ref = ref_softmax(w * 30, X, Y, smoothing)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-13)


def test_softmax_smoothing_zero_is_default():
    w, X, Y = make_data("softmax")
    assert L.softmax(w, X, Y)[0] == L.softmax(w, X, Y, 0.0)[0]


@pytest.mark.parametrize("delta", [0.1, 1.0, 5.0])
def test_huber_regimes_and_delta(delta):
    X = np.array([[1.0], [2.0], [3.0]])
    # quadratic only: every residual inside delta
    w = np.array([0.0])
    y_small = np.array([0.5, -0.5, 0.25]) * delta
    f, g = L.huber(w, X, y_small, delta)
    np.testing.assert_allclose(f, np.mean(0.5 * y_small ** 2), rtol=1e-14)
    np.testing.assert_allclose(g, [np.mean(-y_small * X[:, 0])], rtol=1e-14)
    # linear only: every residual beyond delta
    y_big = np.array([3.0, -4.0, 10.0]) * delta
    f, g = L.huber(w, X, y_big, delta)
    np.testing.assert_allclose(f, np.mean(delta * (np.abs(y_big) - delta / 2)), rtol=1e-14)
    np.testing.assert_allclose(g, [np.mean(-delta * np.sign(y_big) * X[:, 0])], rtol=1e-14)
    # squared loss when delta is larger than every residual
    wr, Xr, yr = make_data("huber")
    big = L.huber(wr, Xr, yr, 1e6)
    sq = L.squared(wr, Xr, yr)
    np.testing.assert_allclose(big[0], sq[0], rtol=1e-14)
    np.testing.assert_allclose(big[1], sq[1], rtol=1e-14)
    # mixed, against the reference
    f, g = L.huber(wr, Xr, yr, delta)
    f_ref, g_ref = ref_glm("huber", wr, Xr, yr, delta)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)


def test_huber_default_delta_is_one():
    w, X, y = make_data("huber")
    f, g = L.huber(w, X, y)
    f_ref, g_ref = ref_glm("huber", w, X, y, 1.0)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)


# -- parallel and serial --------------------------------------------------------------------------

def _big(kind, intercept=True):
    """Seeded data just above PARALLEL_WORK, and the number of serial pieces."""
    d = 6
    work_per_row = d * (K if kind == "softmax" else 1)
    n = L.PARALLEL_WORK // work_per_row + 997
    w, X, y = make_data(kind, n=n, d=d, rng=np.random.default_rng(99), intercept=intercept)
    return w, X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_serial_twin_gives_the_same_bits(kind, dtype):
    """``SERIAL_TWINS[loss]`` (what a disk-cached epoch calls) == the loss, bit for bit,
    on a small batch (serial path) and above PARALLEL_WORK (the chunked path)."""
    public = getattr(L, kind)
    twin = L.SERIAL_TWINS[public]
    assert set(L.SERIAL_TWINS) == {L.squared, L.logistic, L.huber, L.softmax}
    small = make_data(kind, n=40, intercept=True)
    for w, X, y in (small, _big(kind)):
        w, X = w.astype(dtype), X.astype(dtype)
        extra = (0.1,) if kind == "softmax" else (0.7,) if kind == "huber" else ()
        f, g = public(w, X, y, *extra)
        with quiet_twin_compiles():
            f_twin, g_twin = twin(w, X, y, *extra)
        assert f == f_twin and g.dtype == g_twin.dtype and np.array_equal(g, g_twin)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_ranged_twin_gives_the_serial_twins_bits(kind, dtype):
    """``RANGED_TWINS[loss]`` (what a small-batch epoch inlines) over the rows lo..hi-1 ==
    the serial twin on (X[lo:hi], y[lo:hi]), bit for bit, the gradient written into the
    buffer given: batches below CHUNK_WORK (a one-row one, the last rows), and one from
    CHUNK_WORK (where it falls back to the serial twin's chunks). Shapes are checked."""
    public = getattr(L, kind)
    ranged, default = L.RANGED_TWINS[public]
    assert set(L.RANGED_TWINS) == set(L.SERIAL_TWINS)
    run = numba.njit(lambda w, X, y, lo, hi, a, g: ranged(w, X, y, lo, hi, a, g))
    extra = {"softmax": 0.1, "huber": 0.7}.get(kind)
    per_row = D * (K if kind == "softmax" else 1)
    chunked = L.CHUNK_WORK // per_row + 7
    n = chunked + 50
    w, X, y = make_data(kind, n=n, intercept=True)
    w, X = w.astype(dtype), X.astype(dtype)
    for lo, hi in [(0, 32), (5, 6), (n - 9, n), (3, 3 + chunked)]:
        grad = np.full(w.size, np.nan, dtype=dtype)
        f, g = run(w, X, y, lo, hi, default if extra is None else extra, grad)
        with quiet_twin_compiles():
            f_twin, g_twin = L.SERIAL_TWINS[public](w, X[lo:hi], y[lo:hi],
                                                    *(() if extra is None else (extra,)))
        assert f == f_twin and g.dtype == g_twin.dtype and np.array_equal(g, g_twin), (lo, hi)
        assert np.array_equal(grad, g_twin) and np.shares_memory(g, grad)
    with pytest.raises(ValueError, match="entries"):
        run(np.zeros(w.size + 1, dtype=dtype), X, y, 0, 4, default, np.zeros(w.size + 1, dtype))
    with pytest.raises(ValueError, match="rows"):
        run(w, X, y[:-1], 0, 4, default, np.zeros(w.size, dtype=dtype))


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_equals_serial(kind):
    w, X, y = _big(kind)
    n = X.shape[0]
    work_per_row = X.shape[1] * (K if kind == "softmax" else 1)
    assert n * work_per_row >= L.PARALLEL_WORK
    f, g = call(kind, w, X, y)
    pieces = 13  # uneven, unrelated to NCHUNKS; each piece serial
    bounds = np.linspace(0, n, pieces + 1).astype(int)
    f_sum, g_sum = 0.0, np.zeros_like(w)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        assert (hi - lo) * work_per_row < L.PARALLEL_WORK
        f_i, g_i = call(kind, w, X[lo:hi], y[lo:hi])
        f_sum += f_i * (hi - lo)
        g_sum += g_i * (hi - lo)
    np.testing.assert_allclose(f, f_sum / n, rtol=1e-12)
    np.testing.assert_allclose(g, g_sum / n, rtol=1e-12, atol=1e-14)
    f_ref, g_ref = ref(kind, w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-11, atol=1e-14)


def test_parallel_same_bits_with_set_num_threads():
    w, X, y = _big("logistic")
    a = L.logistic(w, X, y)
    numba.set_num_threads(1)
    try:
        b = L.logistic(w, X, y)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes()


_THREAD_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import numba
    sys.path.insert(0, {tests!r})
    from test_losses import _big, call, KINDS
    assert numba.get_num_threads() == int(sys.argv[1]), numba.get_num_threads()
    for kind in KINDS:
        w, X, y = _big(kind)
        f, g = call(kind, w, X, y)
        print(kind, np.float64(f).tobytes().hex(), g.tobytes().hex())
""")


def test_bit_identical_across_thread_counts():
    tests = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(tests)
    script = _THREAD_SCRIPT.format(tests=tests)
    outputs = []
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.run([sys.executable, "-c", script, str(threads)], env=env, cwd=root,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout.split("\n"))
    assert len(outputs[0]) >= len(KINDS)
    assert outputs[0] == outputs[1]


# -- per_example ----------------------------------------------------------------------------------

@numba.njit
def _squared_one(w, x_i, y_i, grad):
    r = -y_i
    for j in range(w.size):
        r += x_i[j] * w[j]
    for j in range(w.size):
        grad[j] += r * x_i[j]
    return 0.5 * r * r


def test_per_example_equals_builtin_squared():
    batch = L.per_example(_squared_one)
    # below and above the parallel threshold
    for n in (50, L.PARALLEL_WORK // D + 321):
        w, X, y = make_data("squared", n=n, rng=np.random.default_rng(n))
        f, g = batch(w, X, y)
        f_ref, g_ref = L.squared(w, X, y)
        np.testing.assert_allclose(f, f_ref, rtol=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError):
        batch(w, X, y[:-1])


def test_per_example_serial_twin_gives_the_same_bits():
    """``batch.serial_twin`` (what a disk-cached epoch calls) == ``batch``, bit for bit, on a
    small batch and above PARALLEL_WORK; ``losses.serial_twin`` finds it."""
    batch = L.per_example(_squared_one)
    assert L.serial_twin(batch) is batch.serial_twin
    assert L.serial_twin(L.logistic) is L.SERIAL_TWINS[L.logistic]
    assert L.serial_twin(_squared_one) is None
    for n in (50, L.PARALLEL_WORK // D + 321):
        w, X, y = make_data("squared", n=n, rng=np.random.default_rng(n))
        f, g = batch(w, X, y)
        with quiet_twin_compiles():
            f_twin, g_twin = batch.serial_twin(w, X, y)
        assert f == f_twin and np.array_equal(g, g_twin)


def test_per_example_rejects_python_function():
    def plain(w, x_i, y_i, grad):
        return 0.0

    with pytest.raises(TypeError, match="numba.njit"):
        L.per_example(plain)
    with pytest.raises(TypeError):
        L.per_example(lambda w, x, y, g: 0.0)


# -- one_hot --------------------------------------------------------------------------------------

def test_one_hot_values():
    Y = L.one_hot([2, 0, 1, 2])
    np.testing.assert_array_equal(Y, np.eye(3)[[2, 0, 1, 2]])
    assert Y.dtype == np.float64
    Y = L.one_hot(np.array([0, 1], dtype=np.uint8), 4, dtype=np.float32)
    assert Y.shape == (2, 4) and Y.dtype == np.float32
    assert L.one_hot(np.array([], dtype=int), 3).shape == (0, 3)


@pytest.mark.parametrize("labels, k, exc", [
    ([0.0, 1.0], None, TypeError),         # float labels
    ([[0, 1]], None, TypeError),           # 2-D
    (["a", "b"], None, TypeError),         # not numbers
    ([0, -1], None, ValueError),           # negative
    ([0, 3], 3, ValueError),               # label >= k
])
def test_one_hot_validation(labels, k, exc):
    with pytest.raises(exc):
        L.one_hot(labels, k)


# -- shape errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["squared", "logistic", "huber"])
def test_glm_shape_errors(kind):
    w, X, y = make_data(kind)
    with pytest.raises(ValueError, match="entries"):
        call(kind, np.zeros(D + 2), X, y)
    with pytest.raises(ValueError, match="entries"):
        call(kind, np.zeros(D - 1), X, y)
    with pytest.raises(ValueError, match="rows"):
        call(kind, w, X, y[:-1])


def test_softmax_shape_errors():
    w, X, Y = make_data("softmax")
    with pytest.raises(ValueError, match="entries"):
        L.softmax(np.zeros(D * K + 1), X, Y, 0.0)
    with pytest.raises(ValueError, match="entries"):
        L.softmax(np.zeros(D), X, Y, 0.0)
    with pytest.raises(ValueError, match="rows"):
        L.softmax(w, X, Y[:-1], 0.0)
