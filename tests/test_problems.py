"""Tests for fastopt.problems: gradients, minima, dtypes, registry, validation."""

import pathlib
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from conftest import refcount_updates
from fastopt import problems
from fastopt.problems import PROBLEMS, Problem, get_problem

NAMES = sorted(PROBLEMS)
ND_NAMES = [n for n in NAMES if PROBLEMS[n].dim is None]
MULTIMODAL = {"rastrigin", "himmelblau"}
# Every (name, dim) to test: dims 2 and 5 where any size is allowed.
CASES = [(n, d) for n in NAMES for d in ((2, 5) if n in ND_NAMES else (None,))]
CASE_IDS = [f"{n}-{d}" if d else n for n, d in CASES]


def fd_grad(fun, x):
    """Central differences. Step ~ cbrt(eps) balances the O(h^2) truncation
    against the O(eps |f| / h) rounding error (both ~1e-10 relative here)."""
    g = np.empty_like(x)
    for i in range(x.size):
        h = 6e-6 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (fun(xp)[0] - fun(xm)[0]) / (xp[i] - xm[i])
    return g


def assert_grad_matches_fd(p, x):
    f, g = p.fun(x)
    fd = fd_grad(p.fun, x)
    scale = max(1.0, np.linalg.norm(fd), abs(f))
    assert np.linalg.norm(g - fd) <= 1e-6 * scale, (p.name, x, g, fd)


@pytest.fixture(params=CASES, ids=CASE_IDS)
def problem(request):
    name, dim = request.param
    return get_problem(name, dim)


# ---------------------------------------------------------------- values


def test_gradient_matches_finite_differences(problem):
    rng = np.random.default_rng(0)
    n = problem.x0.size
    points = [problem.x0, problem.xmin + 0.1, rng.uniform(-2.0, 2.0, n), rng.standard_normal(n)]
    for x in points:
        assert_grad_matches_fd(problem, np.asarray(x, dtype=np.float64))


def test_value_and_gradient_at_minimum(problem):
    f, g = problem.fun(problem.xmin)
    assert abs(f - problem.fmin) <= 1e-12
    np.testing.assert_allclose(g, 0.0, atol=1e-12)
    # nearby points are no lower: xmin is a minimum, not just a stationary point
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = problem.xmin + 1e-3 * rng.standard_normal(problem.xmin.size)
        assert problem.fun(x)[0] >= problem.fmin


def test_value_function_matches(problem):
    value = getattr(problems, problem.name + "_value")
    for x in (problem.x0, problem.xmin + 0.3):
        assert value(x) == problem.fun(x)[0]


def test_inplace_form_writes_the_same_gradient(problem):
    inplace = getattr(problems, problem.name + "_inplace")
    for dtype in (np.float64, np.float32):
        x = (problem.xmin + 0.3).astype(dtype)
        f, g = problem.fun(x)
        out = np.full_like(x, np.nan)
        assert inplace(x, out) == f
        np.testing.assert_array_equal(out, g)
        assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rosenbrock_value_is_the_same_sum_at_any_size(dtype):
    # With a gradient to fill, rosenbrock stores the terms in g and sums them
    # from there; rosenbrock_value computes them in its chains: the same sums.
    rng = np.random.default_rng(2)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for n in (2, 3, 4, 5, 6, 9, 1000, 1001):
        x = (2 * rng.standard_normal(n)).astype(dtype)
        f, g = problems.rosenbrock(x)
        out = np.full_like(x, np.nan)
        assert problems.rosenbrock_value(x) == f == problems.rosenbrock_inplace(x, out)
        np.testing.assert_array_equal(out, g)
        x64 = x.astype(np.float64)
        ref = np.sum(100.0 * (x64[1:] - x64[:-1] ** 2) ** 2 + (1.0 - x64[:-1]) ** 2)
        assert abs(f - ref) <= tol * ref


@pytest.mark.parametrize("name", NAMES)
def test_inplace_form_updates_no_reference_counts(name):
    # Each formula ends with last_use(x, g). Without it, the references that
    # the inlined formula held to x and g were dropped on different branches,
    # LLVM's pruning kept them, and every call paid atomic updates: W3's
    # Rosenbrock at n = 2 took 35 against 12 ns a call. A fresh dispatcher
    # of the same function: its IR is compiled here, not loaded from a cache.
    fn = numba.njit(getattr(problems, name + "_inplace").py_func)
    x = get_problem(name, 5 if name in ND_NAMES else None).x0
    fn(x, np.empty_like(x))
    assert refcount_updates(fn) == {}


def test_returns_new_gradient_array(problem):
    x = problem.x0.copy()
    f1, g1 = problem.fun(x)
    f2, g2 = problem.fun(x)
    assert g1 is not g2 and g1 is not x
    assert g1.shape == x.shape
    np.testing.assert_array_equal(x, problem.x0)  # input untouched
    assert isinstance(f1, float) and f1 == f2


def test_float32_stays_float32(problem):
    x32 = problem.x0.astype(np.float32)
    f, g = problem.fun(x32)
    assert g.dtype == np.float32
    f64, g64 = problem.fun(problem.x0)
    np.testing.assert_allclose(f, f64, rtol=1e-5)
    np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-4 * np.abs(g64).max())
    # the compiled float32 version works in float32 throughout: its value is
    # float32 too (a float64 constant would have promoted it)
    sigs = [s for s in problem.fun.nopython_signatures if s.args[0].dtype == numba.float32]
    assert sigs and all(s.return_type == numba.types.Tuple(
        (numba.float32, s.return_type[1])) for s in sigs)
    assert all(s.return_type[1].dtype == numba.float32 for s in sigs)


def test_non_contiguous_and_readonly_input(problem):
    n = problem.x0.size
    x = np.zeros(2 * n)
    x[::2] = problem.x0
    f, g = problem.fun(x[::2])
    f0, g0 = problem.fun(problem.x0)
    assert f == f0
    np.testing.assert_array_equal(g, g0)
    ro = PROBLEMS[problem.name].x0  # read-only registry array
    assert not ro.flags.writeable
    assert getattr(problems, problem.name + "_value")(ro) == problem.fun(ro)[0]


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ND_NAMES])
def test_fixed_dim_function_rejects_other_sizes(name):
    with pytest.raises(ValueError, match="2 elements"):
        PROBLEMS[name].fun(np.zeros(3))


def test_quadratic_coefficients():
    # gradient at ones is c: geometric from 1 to 10
    for n in (1, 2, 5):
        c = problems.quadratic(np.ones(n))[1]
        expected = np.ones(1) if n == 1 else 10.0 ** (np.arange(n) / (n - 1))
        np.testing.assert_allclose(c, expected, rtol=1e-15)


def test_saddle_is_a_saddle_at_origin():
    f, g = problems.saddle(np.zeros(2))
    assert f == 0.0 and not g.any()
    # descent along x, ascent along y: a saddle, and both minima have -1/4
    assert problems.saddle_value(np.array([0.1, 0.0])) < 0.0
    assert problems.saddle_value(np.array([0.0, 0.1])) > 0.0
    assert problems.saddle_value(np.array([-1.0, 0.0])) == -0.25


def test_himmelblau_has_four_zero_minima():
    for m in [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        res = minimize(problems.himmelblau, np.array(m), jac=True, method="BFGS")
        assert res.fun < 1e-12
        np.testing.assert_allclose(res.x, m, atol=1e-5)


# ---------------------------------------------------------------- optimization


def lbfgsb(p, x0):
    return minimize(lambda x: p.fun(x)[0], x0, jac=lambda x: p.fun(x)[1], method="L-BFGS-B",
                    options=dict(gtol=1e-10, ftol=1e-15, maxiter=5000))


def test_lbfgsb_from_x0_reaches_minimum(problem):
    res = lbfgsb(problem, problem.x0)
    if problem.name in MULTIMODAL:
        # from the usual start: some minimum (stationary, locally lowest)
        assert np.linalg.norm(res.jac) < 1e-6
        if problem.name == "himmelblau":
            assert res.fun < 1e-10  # all four of its minima are global
        # from near the global minimizer: the global minimum
        res = lbfgsb(problem, problem.xmin + 0.1)
    assert res.fun - problem.fmin < 1e-10
    np.testing.assert_allclose(res.x, problem.xmin, atol=1e-4)


def test_rastrigin_x0_is_in_a_local_basin():
    p = get_problem("rastrigin", 3)
    res = lbfgsb(p, p.x0)
    assert res.fun > 1.0  # stuck in a local minimum near (3, 3, 3): a real test
    np.testing.assert_allclose(res.x, 2.98, atol=0.01)


# ---------------------------------------------------------------- registry


def test_registry_contents():
    assert set(NAMES) == {"quadratic", "rosenbrock", "beale", "himmelblau", "booth",
                          "rastrigin", "saddle"}
    for name, p in PROBLEMS.items():
        assert isinstance(p, Problem) and p.name == name
        assert p.x0.dtype == p.xmin.dtype == np.float64
        assert p.x0.shape == p.xmin.shape == (p.dim or 2,)
        assert isinstance(p.fmin, float) and p.description
        (xlo, xhi), (ylo, yhi) = p.bounds
        assert xlo < p.xmin[0] < xhi and ylo < p.xmin[1] < yhi
        assert xlo < p.x0[0] < xhi and ylo < p.x0[1] < yhi
        assert not p.x0.flags.writeable and not p.xmin.flags.writeable
        assert p.fun is getattr(problems, name)
    for name in ND_NAMES:
        assert PROBLEMS[name].dim is None
    for name in set(NAMES) - set(ND_NAMES):
        assert PROBLEMS[name].dim == 2


def test_problem_is_frozen():
    p = get_problem("booth")
    with pytest.raises(AttributeError):
        p.fmin = 1.0


def test_get_problem_sizes_and_copies():
    p = get_problem("rosenbrock", 5)
    np.testing.assert_array_equal(p.x0, [-1.2, 1, -1.2, 1, -1.2])
    np.testing.assert_array_equal(p.xmin, np.ones(5))
    assert p.bounds is None and p.dim is None
    assert get_problem("rosenbrock").x0.size == 2
    assert get_problem("Rastrigin", np.int64(7)).x0.size == 7
    assert get_problem("quadratic", 1).x0.size == 1
    assert get_problem("beale", 2).x0.size == 2
    # fresh writable arrays, the registry is not shared
    q = get_problem("booth")
    q.x0[:] = 123.0
    assert get_problem("booth").x0[0] == PROBLEMS["booth"].x0[0] == 0.0


@pytest.mark.parametrize("name", ["nope", "", "rosenbrock2"])
def test_unknown_name(name):
    with pytest.raises(ValueError, match="name") as info:
        get_problem(name)
    for valid in NAMES:
        assert valid in str(info.value)


def test_name_type():
    with pytest.raises(TypeError, match="name"):
        get_problem(3)


@pytest.mark.parametrize("name, dim", [("quadratic", 0), ("rastrigin", -1), ("rosenbrock", 1),
                                       ("beale", 3), ("himmelblau", 1), ("saddle", 5)])
def test_bad_dim(name, dim):
    with pytest.raises(ValueError, match="dim"):
        get_problem(name, dim)


@pytest.mark.parametrize("dim", [2.0, "2", True])
def test_dim_type(dim):
    with pytest.raises(TypeError, match="dim"):
        get_problem("quadratic", dim)


def test_import_compiles_nothing():
    code = ("import fastopt.problems as p\n"
            "fs = [getattr(p, n) for n in dir(p) if hasattr(getattr(p, n), 'signatures')]\n"
            "assert len(fs) >= 21, len(fs)\n"
            "assert all(not f.signatures for f in fs), [f for f in fs if f.signatures]\n")
    repo_root = pathlib.Path(problems.__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo_root)


# ---------------------------------------------------------------- property


@st.composite
def problem_and_point(draw):
    name = draw(st.sampled_from(NAMES))
    dim = draw(st.integers(PROBLEMS[name].dim or (2 if name == "rosenbrock" else 1),
                           PROBLEMS[name].dim or 6))
    p = get_problem(name, dim)
    # within the 2-D plot box (per coordinate, cycling x/y) where it is defined
    (xlo, xhi), (ylo, yhi) = PROBLEMS[name].bounds
    los = [xlo if i % 2 == 0 else ylo for i in range(dim)]
    his = [xhi if i % 2 == 0 else yhi for i in range(dim)]
    x = np.array([draw(st.floats(lo, hi, allow_nan=False)) for lo, hi in zip(los, his)])
    return p, x


@settings(max_examples=150, deadline=None)
@given(problem_and_point())
def test_gradient_property(case):
    p, x = case
    assert_grad_matches_fd(p, x)
