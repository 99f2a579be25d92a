"""``fastopt.minimize`` and the scipy custom methods (issue 3).

The reference for every trajectory is the optimizer class driven by hand on
the same gradients (``manual_run``): ``minimize`` must produce exactly those
iterates, whatever path it takes (compiled loop for Numba objectives, Python
loop otherwise) and whatever it is given (options, schedules, clipping,
callbacks, faults).

Compiling a minimize loop costs ~1 s per (objective, jac, mode, method), so
the compiled tests share a few objectives (``P.rosenbrock`` with ``jac=True``
above all) and everything else runs the Python loop.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest
import scipy.optimize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import OptimizeResult, OptimizeWarning

import fastopt
from fastopt import problems as P
from fastopt import schedules as S
from fastopt.registry import REGISTRY

# ``fastopt.minimize`` is the function (it shadows the module of the same name).
MOD = importlib.import_module("fastopt.minimize")

METHODS = list(fastopt.METHODS)
X0 = np.array([-1.2, 1.0])  # Rosenbrock's usual start
FIELDS = ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "message", "history")


def cls(method: str):
    return getattr(fastopt, REGISTRY[method].class_name)


def rosen(x):
    """Plain Python objective (runs the Python loop); same values as the jitted one."""
    return P.rosenbrock(x)


def rosen_value(x):
    return P.rosenbrock_value(x)


def rosen_grad(x):
    return P.rosenbrock(x)[1]


@numba.njit
def rosen_grad_jit(x):
    return P.rosenbrock(x)[1]


@numba.njit
def poisoned(x, counter, k, kind):
    """Rosenbrock whose calls after the k-th return a NaN f (kind 0), a NaN
    gradient (kind 1) or an infinite f (kind 2). ``counter[0]`` counts calls."""
    counter[0] += 1
    f, g = P.rosenbrock(x)
    if counter[0] > k:
        if kind == 0:
            f = np.nan
        elif kind == 1:
            g[0] = np.nan
        else:
            f = np.inf
    return f, g


def manual_run(method, x0, maxiter, fun=P.rosenbrock, clip=None, plateau=None, **hyper):
    """Iterates and objective values of ``cls(method)`` driven by hand.

    ``clip(g)`` (optional) clips the gradient before each step; with
    ``plateau`` (a ReduceLROnPlateau that is also ``hyper['lr']``), it is
    stepped with f before every step but the first, as minimize's hook does.
    Returns (xs, fs, gs): lists of length maxiter + 1.
    """
    x = np.array(x0, copy=True)
    opt = cls(method)(x, **hyper)
    f, g = fun(x)
    xs, fs, gs = [x.copy()], [float(f)], [g.copy()]
    for it in range(maxiter):
        if plateau is not None and it > 0:
            plateau.step(fs[-1])
        if clip is not None:
            g = clip(g.copy())
        opt.step(g)
        f, g = fun(x)
        xs.append(x.copy())
        fs.append(float(f))
        gs.append(g.copy())
    return xs, fs, gs


def assert_same_result(a: OptimizeResult, b: OptimizeResult) -> None:
    """Bit-identical results."""
    for key in FIELDS:
        va, vb = a[key], b[key]
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype, key
            np.testing.assert_array_equal(va, vb, err_msg=key)
        elif isinstance(va, float) and math.isnan(va):
            assert math.isnan(vb), key
        else:
            assert va == vb, key


# Every hyperparameter of every method away from its default, with an lr
# small enough that 600 Rosenbrock steps stay finite.
ALL_OPTIONS: dict[str, dict] = {
    "sgd": {"lr": 5e-4, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
    "adagrad": {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01,
                "initial_accumulator_value": 0.1, "eps": 1e-8},
    "adadelta": {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01},
    "rmsprop": {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5,
                "centered": True},
    "adam": {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01,
             "amsgrad": True, "decoupled_weight_decay": True},
    "adamw": {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05,
              "amsgrad": True},
    "adamax": {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
    "nadam": {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01,
              "momentum_decay": 1e-2, "decoupled_weight_decay": True},
    "radam": {"lr": 1e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01,
              "decoupled_weight_decay": True},
    "rprop": {"lr": 1e-3, "etas": (0.4, 1.3), "step_sizes": (1e-5, 1.0)},
    "asgd": {"lr": 1e-3, "lambd": 1e-3, "alpha": 0.5, "t0": 10.0, "weight_decay": 0.01},
    "lion": {"lr": 1e-3, "betas": (0.8, 0.95), "weight_decay": 0.01},
}

# One hyperparameter changed at a time: name -> (value, prerequisites), on
# top of BASE_LR. The prerequisites make the value matter (dampening and
# nesterov need momentum, ...).
BASE_LR = {"sgd": 1e-3, "adagrad": 0.05, "adadelta": 1.0, "rmsprop": 1e-3, "adam": 1e-2,
           "adamw": 1e-2, "adamax": 1e-2, "nadam": 1e-2, "radam": 1e-3, "rprop": 1e-2,
           "asgd": 1e-3, "lion": 0.05}
SINGLE: dict[str, dict[str, tuple]] = {
    "sgd": {"lr": (5e-4, {}), "momentum": (0.9, {}), "dampening": (0.5, {"momentum": 0.9}),
            "weight_decay": (0.1, {}), "nesterov": (True, {"momentum": 0.9})},
    "adagrad": {"lr": (0.02, {}), "lr_decay": (0.1, {}), "weight_decay": (0.1, {}),
                "initial_accumulator_value": (1.0, {}), "eps": (1e-2, {})},
    "adadelta": {"lr": (0.5, {}), "rho": (0.5, {}), "eps": (1e-3, {}),
                 "weight_decay": (0.1, {})},
    "rmsprop": {"lr": (5e-4, {}), "alpha": (0.9, {}), "eps": (1e-2, {}),
                "weight_decay": (0.1, {}), "momentum": (0.5, {}), "centered": (True, {})},
    "adam": {"lr": (5e-3, {}), "betas": ((0.8, 0.99), {}), "eps": (1e-2, {}),
             "weight_decay": (0.1, {}), "amsgrad": (True, {}),
             "decoupled_weight_decay": (True, {"weight_decay": 0.1})},
    "adamw": {"lr": (5e-3, {}), "betas": ((0.8, 0.99), {}), "eps": (1e-2, {}),
              "weight_decay": (0.1, {}), "amsgrad": (True, {})},
    "adamax": {"lr": (5e-3, {}), "betas": ((0.8, 0.99), {}), "eps": (1e-2, {}),
               "weight_decay": (0.1, {})},
    "nadam": {"lr": (5e-3, {}), "betas": ((0.8, 0.99), {}), "eps": (1e-2, {}),
              "weight_decay": (0.1, {}), "momentum_decay": (0.05, {}),
              "decoupled_weight_decay": (True, {"weight_decay": 0.1})},
    "radam": {"lr": (5e-4, {}), "betas": ((0.8, 0.99), {}), "eps": (1e-2, {}),
              "weight_decay": (0.1, {}), "decoupled_weight_decay": (True, {"weight_decay": 0.1})},
    "rprop": {"lr": (5e-2, {}), "etas": ((0.3, 1.5), {}), "step_sizes": ((1e-6, 0.02), {})},
    # t0 only changes when the average "ax" starts, which minimize does not
    # return: it is checked against the class, not for a visible effect.
    "asgd": {"lr": (5e-4, {}), "lambd": (0.1, {}), "alpha": (0.5, {"lambd": 0.1}),
             "t0": (1.0, {}), "weight_decay": (0.1, {})},
    "lion": {"lr": (0.02, {}), "betas": ((0.5, 0.5), {}), "weight_decay": (0.1, {})},
}
INVISIBLE = {("asgd", "t0")}

HYPER_CASES = [(m, h.name) for m in METHODS for h in REGISTRY[m].hypers if h.name != "maximize"]


# -- the result ------------------------------------------------------------------------


def test_result_fields_after_maxiter():
    res = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"lr": 1e-2, "maxiter": 25})
    assert isinstance(res, OptimizeResult)
    for key in FIELDS:
        assert key in res, key
    assert res.status == 1 and res.success is False
    assert res.message == "Maximum number of iterations has been exceeded."
    assert res.nit == 25
    assert isinstance(res.fun, float) and isinstance(res.nit, int)
    assert res.x.shape == (2,) and res.x.dtype == np.float64
    f, g = P.rosenbrock(res.x)
    assert res.fun == f
    np.testing.assert_array_equal(res.jac, g)
    assert len(res.history) == res.nit + 1
    assert res.history[-1] == res.fun
    assert res.history[0] == P.rosenbrock(X0)[0]
    assert np.all(np.isfinite(res.history))
    # one evaluation at x0 and one per iteration
    assert res.nfev == res.njev == res.nit + 1
    # x0 is not modified
    np.testing.assert_array_equal(X0, [-1.2, 1.0])


def test_result_history_is_the_objective_along_the_iterates():
    xs, fs, gs = manual_run("sgd", X0, 12, lr=1e-3, momentum=0.9)
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                           options={"lr": 1e-3, "momentum": 0.9, "maxiter": 12})
    np.testing.assert_array_equal(res.history, fs)
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.jac, gs[-1])


def test_counts_with_separate_jac():
    calls = {"fun": 0, "jac": 0}

    def fun(x):
        calls["fun"] += 1
        return rosen_value(x)

    def jac(x):
        calls["jac"] += 1
        return rosen_grad(x)

    res = fastopt.minimize(fun, X0, method="sgd", jac=jac, options={"lr": 1e-3, "maxiter": 9})
    assert res.nit == 9
    assert res.nfev == calls["fun"] == 10
    assert res.njev == calls["jac"] == 10


def test_counts_with_jac_true():
    calls = [0]

    def fun(x):
        calls[0] += 1
        return rosen(x)

    res = fastopt.minimize(fun, X0, method="sgd", jac=True, options={"lr": 1e-3, "maxiter": 9})
    assert res.nfev == res.njev == calls[0] == 10


def test_counts_with_finite_differences():
    calls = [0]

    def fun(x):
        calls[0] += 1
        return rosen_value(x)

    n = 5
    res = fastopt.minimize(fun, np.full(n, 0.5), method="sgd", options={"lr": 1e-3, "maxiter": 7})
    assert res.nit == 7
    # forward differences: f(x) plus one call per coordinate, at x0 and after each step
    assert res.nfev == calls[0] == (n + 1) * (res.nit + 1)


def test_counts_when_converged():
    res = fastopt.minimize(lambda x: P.quadratic(x), np.ones(3), method="sgd", jac=True,
                           options={"lr": 0.05, "gtol": 1e-3, "maxiter": 10_000})
    assert res.status == 0 and res.success
    assert res.nfev == res.njev == res.nit + 1
    assert len(res.history) == res.nit + 1 and res.history[-1] == res.fun


def test_default_method_is_adam():
    a = fastopt.minimize(rosen, X0, jac=True, options={"maxiter": 20})
    b = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"maxiter": 20})
    assert_same_result(a, b)


# -- methods -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_case_insensitive(method):
    opts = {"lr": BASE_LR[method], "maxiter": 20}
    res = fastopt.minimize(rosen, X0, method=method, jac=True, options=opts)
    assert res.nit == 20 and np.all(np.isfinite(res.x))
    assert res.fun < P.rosenbrock(X0)[0]
    for spelling in (method.upper(), method.capitalize()):
        again = fastopt.minimize(rosen, X0, method=spelling, jac=True, options=opts)
        assert_same_result(res, again)


def test_methods_constant_is_the_registry():
    assert set(fastopt.METHODS) == set(REGISTRY) == set(MOD.METHODS)
    assert len(fastopt.METHODS) == 12


@pytest.mark.parametrize("bad", ["adamm", "bfgs", "", "sgd "])
def test_unknown_method_lists_valid_ones(bad):
    with pytest.raises(ValueError, match="method") as info:
        fastopt.minimize(rosen, X0, method=bad, jac=True)
    for name in METHODS:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [None, 3, fastopt.adam])
def test_method_not_a_string(bad):
    with pytest.raises(TypeError, match="method"):
        fastopt.minimize(rosen, X0, method=bad, jac=True)


# -- options: hyperparameters -----------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_all_hyperparameters_passed_through(method):
    hyper = ALL_OPTIONS[method]
    xs, fs, gs = manual_run(method, X0, 40, **hyper)
    res = fastopt.minimize(rosen, X0, method=method, jac=True, options={**hyper, "maxiter": 40})
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)


def test_single_table_covers_every_hyperparameter():
    assert {(m, h) for m in SINGLE for h in SINGLE[m]} == set(HYPER_CASES)


@pytest.mark.parametrize("method,name", HYPER_CASES)
def test_each_hyperparameter_passed_through(method, name):
    value, extra = SINGLE[method][name]
    base = {"lr": BASE_LR[method], **extra}
    hyper = {**base, name: value}
    xs, fs, _ = manual_run(method, X0, 30, **hyper)
    res = fastopt.minimize(rosen, X0, method=method, jac=True, options={**hyper, "maxiter": 30})
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)
    if (method, name) not in INVISIBLE:
        without = fastopt.minimize(rosen, X0, method=method, jac=True,
                                   options={**base, "maxiter": 30})
        assert not np.array_equal(res.x, without.x), f"{name}={value!r} had no effect"


def test_sgd_momentum_trajectory_matches_class():
    """The example of the issue, step by step through the callback."""
    seen = []
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                           callback=lambda xk: seen.append(xk),
                           options={"lr": 1e-3, "momentum": 0.9, "maxiter": 15})
    xs, fs, _ = manual_run("sgd", X0, 15, lr=1e-3, momentum=0.9)
    for k, xk in enumerate(seen, start=1):
        np.testing.assert_array_equal(xk, xs[k])
    np.testing.assert_array_equal(res.x, xs[15])
    # and momentum really changes the trajectory
    plain = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"lr": 1e-3, "maxiter": 15})
    assert not np.array_equal(plain.x, res.x)


def test_options_dict_not_modified():
    opts = {"lr": 1e-3, "momentum": 0.9, "maxiter": 5, "gtol": 0.0, "clip_norm": 1.0}
    copy = dict(opts)
    fastopt.minimize(rosen, X0, method="sgd", jac=True, options=opts)
    assert opts == copy


# -- options: loop settings ---------------------------------------------------------------


def test_maxiter_zero():
    res = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"maxiter": 0})
    assert res.nit == 0 and res.status == 1
    np.testing.assert_array_equal(res.x, X0)
    np.testing.assert_array_equal(res.history, [P.rosenbrock(X0)[0]])
    assert res.nfev == 1


@pytest.mark.parametrize("maxiter", [1, 7, 300])
def test_maxiter(maxiter):
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": maxiter, "gtol": 0.0})
    assert res.nit == maxiter and len(res.history) == maxiter + 1 and res.status == 1


def test_huge_maxiter_with_early_stop():
    res = fastopt.minimize(lambda x: P.quadratic(x), np.ones(2), method="sgd", jac=True,
                           options={"lr": 0.1, "gtol": 1e-6, "maxiter": 2**62})
    assert res.status == 0 and res.nit < 1000


def test_maxiter_default_is_1000():
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"lr": 1e-3, "gtol": 0.0})
    assert res.nit == 1000


def test_gtol_stops_at_first_small_gradient():
    x0 = np.ones(5)
    gtol = 1e-4
    res = fastopt.minimize(lambda x: P.quadratic(x), x0, method="sgd", jac=True,
                           options={"lr": 0.05, "gtol": gtol, "maxiter": 10_000})
    assert res.status == 0 and res.success is True
    assert "gtol" in res.message
    assert np.max(np.abs(res.jac)) <= gtol
    xs, fs, gs = manual_run("sgd", x0, res.nit, fun=P.quadratic, lr=0.05)
    first = next(k for k, g in enumerate(gs) if np.max(np.abs(g)) <= gtol)
    assert res.nit == first
    np.testing.assert_array_equal(res.x, xs[first])


def test_gtol_default_and_zero():
    x0 = np.ones(3)
    fun = lambda x: P.quadratic(x)  # noqa: E731
    res = fastopt.minimize(fun, x0, method="sgd", jac=True, options={"lr": 0.05, "maxiter": 5000})
    assert res.status == 0 and np.max(np.abs(res.jac)) <= 1e-5  # default gtol 1e-5
    assert np.max(np.abs(P.quadratic(fastopt.minimize(fun, x0, method="sgd", jac=True, options={
        "lr": 0.05, "maxiter": res.nit - 1}).x)[1])) > 1e-5
    res = fastopt.minimize(fun, x0, method="sgd", jac=True,
                           options={"lr": 0.05, "maxiter": 5000, "gtol": 0.0})
    assert res.status == 1 and res.nit == 5000


def test_ftol_stops_at_first_small_relative_change():
    ftol = 1e-6
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                           options={"lr": 1e-3, "ftol": ftol, "gtol": 0.0, "maxiter": 50_000})
    assert res.status == 0 and res.success is True
    assert "ftol" in res.message
    h = res.history
    assert len(h) == res.nit + 1

    def small(a, b):
        return abs(a - b) <= ftol * max(1.0, abs(a), abs(b))

    assert small(h[-2], h[-1])
    assert not any(small(h[k - 1], h[k]) for k in range(1, len(h) - 1))


def test_disp_prints(capsys):
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": 4, "disp": True})
    out = capsys.readouterr().out
    assert res.message in out
    assert "Current function value" in out and f"{res.fun:.6g}" in out
    assert "Iterations: 4" in out and f"Function evaluations: {res.nfev}" in out
    fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"lr": 1e-3, "maxiter": 4})
    assert capsys.readouterr().out == ""


# -- options: clipping -------------------------------------------------------------------


def clip_value(c):
    def clip(g):
        return np.clip(g, -c, c)
    return clip


def clip_norm(c):
    """torch.nn.utils.clip_grad_norm_'s rule, written out: with the global L2 norm
    ``total_norm``, ``clip_coef = max_norm / (total_norm + 1e-6)`` and the
    gradients are multiplied by ``clip_coef`` clamped to <= 1."""
    def clip(g):
        total = 0.0
        for gi in g:
            total += float(gi) * float(gi)
        coef = c / (math.sqrt(total) + 1e-6)
        return g * coef if coef < 1.0 else g
    return clip


def both(cv, cn):
    def clip(g):
        return clip_norm(cn)(clip_value(cv)(g))
    return clip


@pytest.mark.parametrize("method", ["sgd", "adam", "adagrad"])
@pytest.mark.parametrize("opts,clip", [
    ({"clip_value": 5.0}, clip_value(5.0)),
    ({"clip_norm": 10.0}, clip_norm(10.0)),
    ({"clip_norm": 1e-3}, clip_norm(1e-3)),
    ({"clip_value": 50.0, "clip_norm": 3.0}, both(50.0, 3.0)),
], ids=["value", "norm", "tiny-norm", "value+norm"])
def test_clipping_matches_manual(method, opts, clip):
    # (not Rprop: it uses only the sign of the gradient, which clipping keeps)
    hyper = {"lr": BASE_LR[method]}
    xs, fs, gs = manual_run(method, X0, 40, clip=clip, **hyper)
    res = fastopt.minimize(rosen, X0, method=method, jac=True, options={**hyper, **opts,
                                                                        "maxiter": 40})
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)
    unclipped = fastopt.minimize(rosen, X0, method=method, jac=True,
                                 options={**hyper, "maxiter": 40})
    assert not np.array_equal(unclipped.x, res.x)
    # the result's gradient is the true (unclipped) gradient at x
    np.testing.assert_array_equal(res.jac, P.rosenbrock(res.x)[1])


def test_clip_norm_inactive_when_norm_small():
    hyper = {"lr": 1e-3, "momentum": 0.9, "maxiter": 30}
    a = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={**hyper, "clip_norm": 1e6})
    b = fastopt.minimize(rosen, X0, method="sgd", jac=True, options=hyper)
    np.testing.assert_array_equal(a.x, b.x)


# -- options: maximize, lr, schedules -----------------------------------------------------


def neg_rosen(x):
    f, g = P.rosenbrock(x)
    return -f, -g


@pytest.mark.parametrize("method", METHODS)
def test_maximize(method):
    """Maximizing -f walks the same iterates as minimizing f (negation is exact)."""
    hyper = dict(ALL_OPTIONS[method])
    hyper.pop("weight_decay", None)  # decay acts on x, not on the sign of g
    opts = {**hyper, "maxiter": 40}
    up = fastopt.minimize(neg_rosen, X0, method=method, jac=True,
                          options={**opts, "maximize": True})
    down = fastopt.minimize(rosen, X0, method=method, jac=True, options=opts)
    np.testing.assert_array_equal(up.x, down.x)
    np.testing.assert_array_equal(up.history, -down.history)
    assert up.fun == -down.fun
    xs, fs, _ = manual_run(method, X0, 40, fun=neg_rosen, maximize=True, **hyper)
    np.testing.assert_array_equal(up.x, xs[-1])
    assert up.fun > up.history[0]  # it went up


def test_lr_float_and_int():
    a = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"lr": 1e-3, "maxiter": 10})
    b = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                         options={"lr": np.float64(1e-3), "maxiter": 10})
    assert_same_result(a, b)
    c = fastopt.minimize(lambda x: P.quadratic(x), np.ones(2), method="sgd", jac=True,
                         options={"lr": 0, "maxiter": 5})
    np.testing.assert_array_equal(c.x, np.ones(2))  # lr 0: no move


SCHEDULES = {
    "step": lambda: S.StepLR(2e-3, 10, 0.5),
    "exponential": lambda: S.ExponentialLR(2e-3, 0.97),
    "cosine": lambda: S.CosineAnnealingLR(2e-3, 25, 1e-4),
    "onecycle": lambda: S.OneCycleLR(2e-3, total_steps=60),
    "sequential": lambda: S.SequentialLR(
        [S.LinearLR(2e-3, 0.1, 1.0, 10), S.ExponentialLR(2e-3, 0.95)], [10]),
}


@pytest.mark.parametrize("method", ["sgd", "adam", "rprop", "asgd"])
@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_lr_schedule_matches_class(method, kind):
    hyper = {"lr": SCHEDULES[kind]()}
    if method == "sgd":
        hyper["momentum"] = 0.9
    xs, fs, _ = manual_run(method, X0, 60, **hyper)
    res = fastopt.minimize(rosen, X0, method=method, jac=True, options={**hyper, "maxiter": 60})
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)
    if method == "rprop":
        return  # Rprop reads lr only for its initial step sizes, as torch's does
    # the schedule matters
    const = fastopt.minimize(rosen, X0, method=method, jac=True,
                             options={**hyper, "lr": hyper["lr"](0), "maxiter": 60})
    assert not np.array_equal(const.x, res.x)


def test_steplr_compiled_path():
    """The schedule is evaluated inside the compiled loop too (eval_schedule)."""
    hyper = {"lr": S.StepLR(2e-3, 10, 0.5), "momentum": 0.9}
    xs, fs, _ = manual_run("sgd", X0, 60, **hyper)
    res = fastopt.minimize(P.rosenbrock, X0, method="sgd", jac=True,
                           options={**hyper, "maxiter": 60})
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)


def test_reduce_lr_on_plateau():
    """SGD with lr 2 on 0.5 x^2 flips x -> -x: f stays flat until the plateau
    schedule halves lr, then lr 1 jumps to the minimum."""
    def make():
        return S.ReduceLROnPlateau(2.0, factor=0.5, patience=2)

    fun = lambda x: P.quadratic(x)  # noqa: E731
    x0 = np.array([0.75])
    plateau = make()
    res = fastopt.minimize(fun, x0, method="sgd", jac=True,
                           options={"lr": plateau, "maxiter": 12, "gtol": 0.0})
    manual_plateau = make()
    xs, fs, _ = manual_run("sgd", x0, 12, fun=P.quadratic, plateau=manual_plateau,
                           lr=manual_plateau)
    np.testing.assert_array_equal(res.history, fs)
    np.testing.assert_array_equal(res.x, xs[-1])
    # lr 2 while f is flat (1 improvement + 3 bad steps > patience 2), then lr 1
    # solves it (f = 0), then lr is halved again as f stays at 0
    assert fs[0] == fs[1] == fs[2] == fs[3] == fs[4] > fs[5] == 0.0
    assert plateau.current_lr == manual_plateau.current_lr < 1.0
    assert res.fun == 0.0


def test_reduce_lr_on_plateau_adam_matches_manual():
    def make():
        return S.ReduceLROnPlateau(0.05, factor=0.3, patience=3, threshold=1e-3)

    plateau = make()
    res = fastopt.minimize(rosen, X0, method="adam", jac=True,
                           options={"lr": plateau, "maxiter": 300, "gtol": 0.0})
    manual_plateau = make()
    xs, fs, _ = manual_run("adam", X0, 300, plateau=manual_plateau, lr=manual_plateau)
    np.testing.assert_array_equal(res.history, fs)
    np.testing.assert_array_equal(res.x, xs[-1])
    assert plateau.current_lr < 0.05  # it reduced


def test_reduce_lr_on_plateau_with_jitted_fun_runs_python_loop():
    before = len(MOD._COMPILED)
    plateau = S.ReduceLROnPlateau(0.05, factor=0.3, patience=3, threshold=1e-3)
    res = fastopt.minimize(P.rosenbrock, X0, method="adam", jac=True,
                           options={"lr": plateau, "maxiter": 100, "gtol": 0.0})
    assert len(MOD._COMPILED) == before
    ref = fastopt.minimize(rosen, X0, method="adam", jac=True, options={
        "lr": S.ReduceLROnPlateau(0.05, factor=0.3, patience=3, threshold=1e-3),
        "maxiter": 100, "gtol": 0.0})
    assert_same_result(res, ref)


# -- options: unknown keys and bad values -------------------------------------------------


def test_unknown_option_warns():
    with pytest.warns(OptimizeWarning, match="foo"):
        res = fastopt.minimize(rosen, X0, method="sgd", jac=True,
                               options={"lr": 1e-3, "maxiter": 5, "foo": 1})
    assert res.nit == 5


def test_other_methods_hyperparameter_warns_and_is_ignored():
    with pytest.warns(OptimizeWarning, match="momentum"):
        a = fastopt.minimize(rosen, X0, method="adam", jac=True,
                             options={"maxiter": 5, "momentum": 0.9})
    b = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"maxiter": 5})
    assert_same_result(a, b)


def test_known_options_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastopt.minimize(rosen, X0, method="sgd", jac=True, options={
            "lr": 1e-3, "momentum": 0.5, "maxiter": 3, "gtol": 1e-9, "ftol": 0.0, "disp": False,
            "clip_norm": 10.0, "clip_value": 10.0, "maximize": False, "fd_step": 1e-8})


@pytest.mark.parametrize("method,opts,exc,name", [
    ("sgd", {"maxiter": -1}, ValueError, "maxiter"),
    ("sgd", {"maxiter": 2.5}, TypeError, "maxiter"),
    ("sgd", {"maxiter": True}, TypeError, "maxiter"),
    ("sgd", {"gtol": -1}, ValueError, "gtol"),
    ("sgd", {"gtol": np.nan}, ValueError, "gtol"),
    ("sgd", {"ftol": -1e-3}, ValueError, "ftol"),
    ("sgd", {"clip_norm": 0}, ValueError, "clip_norm"),
    ("sgd", {"clip_norm": -1.0}, ValueError, "clip_norm"),
    ("sgd", {"clip_value": 0.0}, ValueError, "clip_value"),
    ("sgd", {"clip_value": "big"}, TypeError, "clip_value"),
    ("sgd", {"fd_step": 0.0}, ValueError, "fd_step"),
    ("sgd", {"lr": -1}, ValueError, "lr"),
    ("adam", {"lr": -1e-3}, ValueError, "lr"),
    ("adam", {"lr": "fast"}, TypeError, "lr"),
    ("adam", {"lr": np.inf}, ValueError, "lr"),
    ("adam", {"betas": (1.0, 0.999)}, ValueError, "betas"),
    ("adam", {"betas": (0.9, -0.1)}, ValueError, "betas"),
    ("adam", {"betas": (0.9,)}, TypeError, "betas"),
    ("adam", {"eps": 0.0}, ValueError, "eps"),
    ("adam", {"amsgrad": 1}, TypeError, "amsgrad"),
    ("lion", {"betas": (1.5, 0.99)}, ValueError, "betas"),
    ("sgd", {"momentum": -0.5}, ValueError, "momentum"),
    ("sgd", {"nesterov": True}, ValueError, "nesterov"),
    ("rprop", {"etas": (1.5, 1.2)}, ValueError, "etas"),
    ("rprop", {"step_sizes": (1.0, 0.5)}, ValueError, "step_sizes"),
    ("rmsprop", {"alpha": 1.5}, ValueError, "alpha"),
    ("adadelta", {"rho": -0.1}, ValueError, "rho"),
    ("asgd", {"t0": -1.0}, ValueError, "t0"),
    ("sgd", {"maximize": "yes"}, TypeError, "maximize"),
])
def test_bad_option_values(method, opts, exc, name):
    with pytest.raises(exc, match=name):
        fastopt.minimize(rosen, X0, method=method, jac=True, options=opts)


@pytest.mark.parametrize("options", [[("lr", 1e-3)], "lr=1e-3", 3])
def test_options_not_a_dict(options):
    with pytest.raises(TypeError, match="options"):
        fastopt.minimize(rosen, X0, method="sgd", jac=True, options=options)


def test_bad_options_raise_before_compiling():
    """A jitted objective with bad options: the error comes before any compile."""
    @numba.njit
    def fresh(x):
        return P.rosenbrock(x)

    before = len(MOD._COMPILED)
    with pytest.raises(ValueError, match="lr"):
        fastopt.minimize(fresh, X0, method="sgd", jac=True, options={"lr": -1.0})
    with pytest.raises(ValueError, match="x0"):
        fastopt.minimize(fresh, np.array([np.nan, 1.0]), method="sgd", jac=True)
    assert len(MOD._COMPILED) == before
    assert not fresh.signatures


# -- jac ----------------------------------------------------------------------------------


def test_jac_callable_and_true_agree():
    a = fastopt.minimize(rosen_value, X0, method="adam", jac=rosen_grad, options={"maxiter": 50})
    b = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"maxiter": 50})
    assert_same_result(a, b)


@pytest.mark.parametrize("method", ["sgd", "adam", "rprop"])
def test_jac_finite_differences(method):
    x0 = np.array([0.3, -0.4, 0.8])
    opts = {"lr": 1e-2 if method != "sgd" else 0.05, "maxiter": 60, "gtol": 0.0}
    fd = fastopt.minimize(lambda x: P.quadratic_value(x), x0, method=method, options=opts)
    exact = fastopt.minimize(lambda x: P.quadratic(x), x0, method=method, jac=True, options=opts)
    np.testing.assert_allclose(fd.x, exact.x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fd.jac, exact.jac, rtol=0, atol=1e-6)
    assert fd.nfev == (x0.size + 1) * (fd.nit + 1)
    assert fd.nit == exact.nit


def test_jac_finite_differences_spellings_agree():
    ref = fastopt.minimize(rosen_value, X0, method="sgd", options={"lr": 1e-3, "maxiter": 20})
    for jac in (False, "2-point", "fd"):
        assert_same_result(ref, fastopt.minimize(rosen_value, X0, method="sgd", jac=jac,
                                                 options={"lr": 1e-3, "maxiter": 20}))


def test_fd_is_scipy_forward_difference():
    """The first gradient is scipy's forward difference with step sqrt(eps) * max(1, |x|)."""
    res = fastopt.minimize(rosen_value, X0, method="sgd", options={"maxiter": 0})
    h = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(X0))
    expected = np.empty(2)
    for i in range(2):
        xp = X0.copy()
        xp[i] += h[i]
        expected[i] = (rosen_value(xp) - rosen_value(X0)) / (xp[i] - X0[i])
    np.testing.assert_array_equal(res.jac, expected)


def test_fd_step_option():
    a = fastopt.minimize(rosen_value, X0, method="sgd", options={"lr": 1e-3, "maxiter": 5})
    b = fastopt.minimize(rosen_value, X0, method="sgd",
                         options={"lr": 1e-3, "maxiter": 5, "fd_step": 1e-4})
    assert not np.array_equal(a.x, b.x)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-3)


@pytest.mark.parametrize("method", ["adam", "sgd", "rprop"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jac_inplace_equals_jac_true(method, dtype):
    """fun(x, g) writing the gradient: the iterates of jac=True, compiled and in Python."""
    x0 = X0.astype(dtype)
    opts = {**ALL_OPTIONS[method], "maxiter": 600, "gtol": 0.0}
    ref = fastopt.minimize(P.rosenbrock, x0, method=method, jac=True, options=opts)
    compiled = fastopt.minimize(P.rosenbrock_inplace, x0, method=method, jac="inplace",
                                options=opts)
    python = fastopt.minimize(P.rosenbrock_inplace.py_func, x0, method=method, jac="inplace",
                              options=opts)
    assert_same_result(ref, compiled)
    assert_same_result(ref, python)
    assert compiled.jac.dtype == dtype
    assert (P.rosenbrock_inplace, "inplace", "inplace", REGISTRY[method].serial_kernel) in MOD._COMPILED


def test_jac_inplace_gets_one_buffer_and_args():
    buffers = []

    def fun(x, g, scale):
        buffers.append(g)
        g[:] = scale * x
        return 0.5 * scale * float(x @ x)

    res = fastopt.minimize(fun, np.array([1.0, -2.0]), args=(3.0,), method="sgd", jac="inplace",
                           options={"lr": 0.1, "maxiter": 5, "gtol": 0})
    assert len(buffers) == res.nfev == res.njev == 6
    assert all(b is buffers[0] for b in buffers)
    assert res.jac is not buffers[0]  # the result's gradient is a copy
    np.testing.assert_allclose(res.x, np.array([1.0, -2.0]) * 0.7 ** 5)


def test_jac_inplace_gtol_and_nonfinite_stop():
    res = fastopt.minimize(P.quadratic_inplace, np.array([1.0, 1.0]), method="sgd",
                           jac="inplace", options={"lr": 0.05, "gtol": 1e-6, "maxiter": 10_000})
    assert res.success and res.status == 0 and np.max(np.abs(res.jac)) <= 1e-6

    @numba.njit
    def blows_up(x, g):
        g[:] = x
        return np.inf if x[0] > 3 else 0.5 * (x @ x)

    res = fastopt.minimize(blows_up, np.array([1.0]), method="sgd", jac="inplace",
                           options={"lr": 0.5, "maximize": True, "maxiter": 100})
    assert res.status == 2 and not res.success and res.x[0] <= 3 and np.isfinite(res.fun)


def test_jac_inplace_bad_returns():
    with pytest.raises(TypeError, match="jac='inplace'.*tuple"):
        fastopt.minimize(lambda x, g: (1.0, g), X0, jac="inplace")
    with pytest.raises(TypeError, match="fun must return a real number"):
        fastopt.minimize(lambda x, g: "f", X0, jac="inplace")


def test_inline_always_objective_is_a_clear_error():
    """Numba cannot inline a call with *args, which the compiled loops make."""
    inline = numba.njit(inline="always")(P.rosenbrock.py_func)
    with pytest.raises(TypeError, match=r"fun is a numba.njit\(inline='always'\)"):
        fastopt.minimize(inline, X0, jac=True)
    with pytest.raises(TypeError, match=r"jac is a numba.njit\(inline='always'\)"):
        fastopt.minimize(P.rosenbrock_value, X0,
                         jac=numba.njit(inline="always")(rosen_grad_jit.py_func))
    with pytest.raises(TypeError, match=r"fun is a numba.njit\(inline='always'\)"):
        fastopt.minimize(inline, X0, jac=True, data=(np.ones((4, 2)),))
    assert not inline.signatures  # nothing compiled


@pytest.mark.parametrize("jac,exc", [("3-point", ValueError), ("cs", ValueError),
                                     (1, TypeError), (np.ones(2), TypeError),
                                     ([1.0, 2.0], TypeError)])
def test_bad_jac(jac, exc):
    with pytest.raises(exc, match="jac"):
        fastopt.minimize(rosen_value, X0, method="sgd", jac=jac)


def test_args_passed_to_fun_and_jac():
    seen = []

    def fun(x, a, b):
        seen.append(("f", a, b))
        return float(a * rosen_value(x) + b)

    def jac(x, a, b):
        seen.append(("g", a, b))
        return a * rosen_grad(x)

    res = fastopt.minimize(fun, X0, args=(2.0, 5.0), method="sgd", jac=jac,
                           options={"lr": 5e-4, "maxiter": 3})
    assert set(seen) == {("f", 2.0, 5.0), ("g", 2.0, 5.0)}
    assert res.fun == 2.0 * rosen_value(res.x) + 5.0
    # a lone argument need not be wrapped in a tuple
    res1 = fastopt.minimize(lambda x, a: a * rosen_value(x), X0, args=2.0, method="sgd",
                            jac=lambda x, a: a * rosen_grad(x), options={"lr": 5e-4, "maxiter": 3})
    np.testing.assert_array_equal(res1.x, res.x)


# -- callbacks ----------------------------------------------------------------------------


def test_callback_xk_gets_copies_of_the_iterates():
    seen = []

    def cb(xk):
        assert isinstance(xk, np.ndarray) and xk.dtype == np.float64 and xk.shape == (2,)
        seen.append(xk)
        xk[:] = 1e9  # must not disturb the run

    res = fastopt.minimize(rosen, X0, method="adam", jac=True, callback=cb,
                           options={"lr": 1e-2, "maxiter": 10})
    ref = fastopt.minimize(rosen, X0, method="adam", jac=True, options={"lr": 1e-2, "maxiter": 10})
    assert_same_result(res, ref)
    assert len(seen) >= 9
    assert len({id(a) for a in seen}) == len(seen)
    xs, _, _ = manual_run("adam", X0, 10, lr=1e-2)
    # the callback after iteration k saw x_k (before it overwrote its copy)
    seen.clear()
    fastopt.minimize(rosen, X0, method="adam", jac=True, callback=lambda xk: seen.append(xk),
                     options={"lr": 1e-2, "maxiter": 10})
    for k, xk in enumerate(seen, start=1):
        np.testing.assert_array_equal(xk, xs[k])


def test_callback_called_once_per_iteration():
    seen = []
    res = fastopt.minimize(rosen, X0, method="adam", jac=True, callback=lambda xk: seen.append(xk),
                           options={"lr": 1e-2, "maxiter": 10})
    assert len(seen) == res.nit == 10
    np.testing.assert_array_equal(seen[-1], res.x)


def test_callback_intermediate_result():
    seen = []

    def cb(intermediate_result):
        seen.append(intermediate_result)

    res = fastopt.minimize(rosen, X0, method="adam", jac=True, callback=cb,
                           options={"lr": 1e-2, "maxiter": 10})
    assert seen and all(isinstance(r, OptimizeResult) for r in seen)
    assert [r.nit for r in seen] == list(range(1, len(seen) + 1))
    for r in seen:
        assert r.fun == P.rosenbrock(r.x)[0]
        assert r.fun == res.history[r.nit]
    assert len({id(r.x) for r in seen}) == len(seen)


def test_callback_object_with_intermediate_result_signature():
    class Recorder:
        def __init__(self):
            self.nits = []

        def __call__(self, intermediate_result):
            self.nits.append(intermediate_result.nit)

    rec = Recorder()
    fastopt.minimize(rosen, X0, method="sgd", jac=True, callback=rec,
                     options={"lr": 1e-3, "maxiter": 5})
    assert rec.nits[:4] == [1, 2, 3, 4]


def test_callback_style_is_scipys_rule_for_every_kind_of_callable():
    """The cached style decision (per code object) agrees with inspect.signature, twice."""
    import functools

    from fastopt.minimize import _WANTS_RESULT, _only_intermediate_result, _wants_result

    def result_fn(intermediate_result):
        pass

    def xk_fn(xk):
        pass

    class ResultObj:
        def __call__(self, intermediate_result):
            pass

        def method(self, intermediate_result):
            pass

    class XkObj:
        def __call__(self, xk):
            pass

    @functools.wraps(result_fn)
    def wrapped(*args):  # signature() follows __wrapped__ to result_fn
        pass

    def relabeled(xk):
        pass

    relabeled.__signature__ = inspect.signature(result_fn)
    cases = [(result_fn, True), (xk_fn, False), (ResultObj(), True), (ResultObj().method, True),
             (XkObj(), False), (wrapped, True), (relabeled, True),
             (functools.partial(xk_fn), False), (print, False), (ResultObj, False)]
    for cb, expected in cases:
        assert _only_intermediate_result(cb) is expected, cb
        assert [_wants_result(cb), _wants_result(cb)] == [expected, expected], cb
    assert ("function", result_fn.__code__) in _WANTS_RESULT
    assert not any(key[1] is relabeled.__code__ for key in _WANTS_RESULT)


@pytest.mark.parametrize("style", ["xk", "intermediate_result"])
def test_callback_stop_iteration(style):
    seen = []

    def body(x):
        seen.append(x)
        if len(seen) == 3:
            raise StopIteration

    cb = (lambda xk: body(xk)) if style == "xk" else (
        lambda intermediate_result: body(intermediate_result.x))
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True, callback=cb,
                           options={"lr": 1e-3, "maxiter": 100})
    assert res.status == 99 and res.success is False
    assert "callback" in res.message
    assert res.nit == 3
    np.testing.assert_array_equal(res.x, seen[-1])
    assert res.fun == P.rosenbrock(res.x)[0] == res.history[-1]
    assert len(res.history) == res.nit + 1


def test_callback_not_callable():
    with pytest.raises(TypeError, match="callback"):
        fastopt.minimize(rosen, X0, method="sgd", jac=True, callback=3)


def test_callback_with_jitted_fun_gives_same_result():
    """A callback sends a Numba objective through the Python loop: same iterates."""
    opts = {**ALL_OPTIONS["adam"], "maxiter": 600}
    compiled = fastopt.minimize(P.rosenbrock, X0, method="adam", jac=True, options=opts)
    seen = []
    res = fastopt.minimize(P.rosenbrock, X0, method="adam", jac=True,
                           callback=lambda xk: seen.append(1), options=opts)
    assert seen
    assert_same_result(compiled, res)


# -- compiled path == Python path ---------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_compiled_equals_python_jac_true(method):
    # 600 iterations: past the first 256-iteration chunk of the compiled loop
    opts = {**ALL_OPTIONS[method], "maxiter": 600, "gtol": 0.0}
    compiled = fastopt.minimize(P.rosenbrock, X0, method=method, jac=True, options=opts)
    python = fastopt.minimize(P.rosenbrock.py_func, X0, method=method, jac=True, options=opts)
    assert compiled.status == 1 and np.all(np.isfinite(compiled.x))
    assert_same_result(compiled, python)
    spec = REGISTRY[method]
    assert (P.rosenbrock, True, "fun", spec.serial_kernel) in MOD._COMPILED


# One method per jac mode: the kernel call is the same in every mode (checked
# for every method above with jac=True); what differs is the evaluation.
@pytest.mark.parametrize("method", ["sgd"])
def test_compiled_equals_python_jac_callable(method):
    opts = {**ALL_OPTIONS[method], "maxiter": 600, "gtol": 0.0}
    compiled = fastopt.minimize(P.rosenbrock_value, X0, method=method, jac=rosen_grad_jit,
                                options=opts)
    python = fastopt.minimize(P.rosenbrock_value.py_func, X0, method=method,
                              jac=rosen_grad_jit.py_func, options=opts)
    assert_same_result(compiled, python)
    key = (P.rosenbrock_value, rosen_grad_jit, "callable", REGISTRY[method].serial_kernel)
    assert key in MOD._COMPILED
    # and the same as jac=True
    assert_same_result(compiled, fastopt.minimize(P.rosenbrock, X0, method=method, jac=True,
                                                  options=opts))


@pytest.mark.parametrize("method", ["adam"])
def test_compiled_equals_python_finite_differences(method):
    opts = {**ALL_OPTIONS[method], "maxiter": 600, "gtol": 0.0}
    compiled = fastopt.minimize(P.rosenbrock_value, X0, method=method, options=opts)
    python = fastopt.minimize(P.rosenbrock_value.py_func, X0, method=method, options=opts)
    assert_same_result(compiled, python)
    assert compiled.nfev == 3 * 601
    assert (P.rosenbrock_value, None, "fd", REGISTRY[method].serial_kernel) in MOD._COMPILED


def test_compiled_float32():
    x0 = X0.astype(np.float32)
    opts = {"lr": 1e-2, "maxiter": 300}
    compiled = fastopt.minimize(P.rosenbrock, x0, method="adam", jac=True, options=opts)
    python = fastopt.minimize(P.rosenbrock.py_func, x0, method="adam", jac=True, options=opts)
    assert compiled.x.dtype == compiled.jac.dtype == np.float32
    assert_same_result(compiled, python)


def test_compiled_path_really_compiles():
    """A new Numba objective adds one compiled loop; running it again reuses it;
    Python objectives, a callback or a Python jac add none."""
    counter = np.zeros(1, np.int64)
    key = (poisoned, True, "fun", REGISTRY["sgd"].serial_kernel)
    MOD._COMPILED.pop(key, None)  # in case another test compiled it first
    before = len(MOD._COMPILED)
    res = fastopt.minimize(poisoned, X0, args=(counter, 10**9, 0), method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": 2000})
    assert len(MOD._COMPILED) == before + 1
    loop, evaluate = MOD._COMPILED[key]
    assert loop.signatures  # the compiled loop ran
    # evaluate is compiled into the loop (inlined), not on its own
    assert evaluate.targetoptions["inline"] == "always" and not evaluate.signatures
    assert counter[0] == res.nfev == 2001  # every evaluation ran the jitted function
    counter[:] = 0
    again = fastopt.minimize(poisoned, X0, args=(counter, 10**9, 0), method="sgd", jac=True,
                             options={"lr": 1e-3, "maxiter": 2000})
    assert len(MOD._COMPILED) == before + 1
    assert_same_result(res, again)
    counter[:] = 0
    python = fastopt.minimize(poisoned.py_func, X0, args=(counter, 10**9, 0), method="sgd",
                              jac=True, options={"lr": 1e-3, "maxiter": 2000})
    assert_same_result(res, python)
    fastopt.minimize(P.rosenbrock, X0, method="sgd", jac=True, callback=lambda xk: None,
                     options={"maxiter": 3})
    fastopt.minimize(P.rosenbrock_value, X0, method="sgd", jac=rosen_grad, options={"maxiter": 3})
    assert len(MOD._COMPILED) == before + 1


# -- scipy custom methods -----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_scipy_plugin(method):
    opts = {**ALL_OPTIONS[method], "maxiter": 50}
    ours = fastopt.minimize(rosen_value, X0, method=method, jac=rosen_grad, options=opts)
    theirs = scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad,
                                     method=getattr(fastopt, method), options=opts)
    assert_same_result(ours, theirs)
    # jac=True goes through scipy's MemoizeJac
    theirs = scipy.optimize.minimize(rosen, X0, jac=True, method=getattr(fastopt, method),
                                     options=opts)
    np.testing.assert_array_equal(theirs.x, ours.x)
    np.testing.assert_array_equal(theirs.history, ours.history)


def test_scipy_method_objects():
    for method in METHODS:
        f = getattr(fastopt, method)
        assert callable(f) and f.__name__ == method
        assert REGISTRY[method].class_name in f.__doc__


def test_scipy_finite_differences():
    opts = {"lr": 1e-3, "maxiter": 20}
    ours = fastopt.minimize(rosen_value, X0, method="sgd", options=opts)
    for jac in (None, "2-point"):
        theirs = scipy.optimize.minimize(rosen_value, X0, jac=jac, method=fastopt.sgd, options=opts)
        assert_same_result(ours, theirs)


def test_scipy_tol_is_gtol():
    fun = lambda x: P.quadratic(x)  # noqa: E731
    ours = fastopt.minimize(fun, np.ones(3), method="sgd", jac=True,
                            options={"lr": 0.05, "gtol": 1e-3, "maxiter": 10_000})
    theirs = scipy.optimize.minimize(fun, np.ones(3), jac=True, method=fastopt.sgd, tol=1e-3,
                                     options={"lr": 0.05, "maxiter": 10_000})
    assert theirs.status == 0 and theirs.nit == ours.nit
    np.testing.assert_array_equal(theirs.x, ours.x)
    # an explicit gtol wins over tol
    theirs = scipy.optimize.minimize(fun, np.ones(3), jac=True, method=fastopt.sgd, tol=1e-1,
                                     options={"lr": 0.05, "gtol": 1e-3, "maxiter": 10_000})
    assert theirs.nit == ours.nit


def test_scipy_int_x0_and_args():
    ours = fastopt.minimize(lambda x, a: a * rosen_value(x), np.array([-1.0, 1.0]), args=(2.0,),
                            method="adam", jac=lambda x, a: a * rosen_grad(x),
                            options={"maxiter": 5})
    theirs = scipy.optimize.minimize(lambda x, a: a * rosen_value(x), [-1, 1], args=(2.0,),
                                     method=fastopt.adam, jac=lambda x, a: a * rosen_grad(x),
                                     options={"maxiter": 5})
    assert_same_result(ours, theirs)


@pytest.mark.parametrize("kw", [{"bounds": [(-2, 2), (-2, 2)]},
                                {"bounds": scipy.optimize.Bounds([-2, -2], [2, 2])},
                                {"constraints": {"type": "ineq", "fun": lambda x: x[0]}},
                                {"constraints": [scipy.optimize.LinearConstraint([[1, 1]], 0, 1)]}])
def test_scipy_bounds_and_constraints_raise(kw):
    with pytest.raises(ValueError, match="bounds or constraints"):
        scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad, method=fastopt.adam, **kw)


def test_scipy_hess_warns():
    with pytest.warns(RuntimeWarning, match="Hessian"):
        res = scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad, method=fastopt.adam,
                                      hess=lambda x: np.eye(2), options={"maxiter": 3})
    assert res.nit == 3


def test_scipy_unknown_option_warns():
    with pytest.warns(OptimizeWarning, match="foo"):
        scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad, method=fastopt.adam,
                                options={"maxiter": 3, "foo": 1})


@pytest.mark.parametrize("style", ["xk", "intermediate_result"])
def test_scipy_callbacks(style):
    seen = []
    if style == "xk":
        def cb(xk):
            assert isinstance(xk, np.ndarray)
            seen.append(xk.copy())
    else:
        def cb(intermediate_result):
            assert isinstance(intermediate_result, OptimizeResult)
            assert intermediate_result.fun == rosen_value(intermediate_result.x)
            seen.append(intermediate_result.x.copy())
    res = scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad, method=fastopt.sgd,
                                  callback=cb, options={"lr": 1e-3, "maxiter": 10})
    assert res.nit == 10 and len(seen) >= 9
    xs, _, _ = manual_run("sgd", X0, 10, lr=1e-3)
    for k, xk in enumerate(seen, start=1):
        np.testing.assert_array_equal(xk, xs[k])


@pytest.mark.parametrize("style", ["xk", "intermediate_result"])
def test_scipy_callback_stop_iteration(style):
    n = [0]

    def body():
        n[0] += 1
        if n[0] == 4:
            raise StopIteration

    cb = (lambda xk: body()) if style == "xk" else (lambda intermediate_result: body())
    res = scipy.optimize.minimize(rosen_value, X0, jac=rosen_grad, method=fastopt.sgd,
                                  callback=cb, options={"lr": 1e-3, "maxiter": 100})
    assert res.status == 99 and res.success is False and "callback" in res.message
    assert res.nit == 4
    xs, _, _ = manual_run("sgd", X0, 4, lr=1e-3)
    np.testing.assert_array_equal(res.x, xs[4])


# -- faults: non-finite values ------------------------------------------------------------


KINDS = {"nan-f": 0, "nan-g": 1, "inf-f": 2}


def _check_nonfinite(res, k, method="sgd", hyper=None):
    """Evaluation k + 1 (at x_k) is the first bad one: x_{k-1} comes back."""
    hyper = hyper or {"lr": 1e-3}
    assert res.status == 2 and res.success is False
    assert f"iteration {k}" in res.message
    xs, fs, gs = manual_run(method, X0, max(k - 1, 0), **hyper)
    last = max(k - 1, 0)
    assert res.nit == last
    np.testing.assert_array_equal(res.x, xs[last])
    assert res.fun == fs[last]
    np.testing.assert_array_equal(res.jac, gs[last])
    np.testing.assert_array_equal(res.history, fs[: last + 1])
    assert np.all(np.isfinite(res.x))


@pytest.mark.parametrize("path", ["compiled", "python"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("k", [1, 6, 300, 400])
def test_nonfinite_stops_with_last_finite_iterate(path, kind, k):
    counter = np.zeros(1, np.int64)
    fun = poisoned if path == "compiled" else poisoned.py_func
    res = fastopt.minimize(fun, X0, args=(counter, k, KINDS[kind]), method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": 400})
    _check_nonfinite(res, k)
    assert res.nfev == counter[0] == k + 1


@pytest.mark.parametrize("method", METHODS)
def test_nonfinite_every_method_python(method):
    counter = np.zeros(1, np.int64)
    hyper = ALL_OPTIONS[method]
    res = fastopt.minimize(poisoned.py_func, X0, args=(counter, 8, 1), method=method, jac=True,
                           options={**hyper, "maxiter": 50})
    _check_nonfinite(res, 8, method, hyper)


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_nonfinite_at_x0(path):
    counter = np.zeros(1, np.int64)
    fun = poisoned if path == "compiled" else poisoned.py_func
    res = fastopt.minimize(fun, X0, args=(counter, 0, 0), method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": 10})
    assert res.status == 2 and res.success is False and "iteration 0" in res.message
    assert res.nit == 0 and res.nfev == 1
    np.testing.assert_array_equal(res.x, X0)
    assert len(res.history) == 1


def test_nonfinite_finite_differences():
    n = [0]

    def fun(x):
        n[0] += 1
        return np.nan if n[0] > 3 * 5 else rosen_value(x)  # 3 calls per evaluation

    res = fastopt.minimize(fun, X0, method="sgd", options={"lr": 1e-3, "maxiter": 50})
    assert res.status == 2 and "iteration 5" in res.message and res.nit == 4
    ref = fastopt.minimize(rosen_value, X0, method="sgd", options={"lr": 1e-3, "maxiter": 4})
    np.testing.assert_array_equal(res.x, ref.x)
    np.testing.assert_array_equal(res.history, ref.history)


def test_diverging_run_stops_at_overflow():
    """SGD with a huge lr overflows to inf: stopped, with the last finite iterate."""
    res = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"lr": 0.1, "maxiter": 1000})
    assert res.status == 2 and res.success is False
    assert np.all(np.isfinite(res.x)) and math.isfinite(res.fun)
    assert res.fun == P.rosenbrock(res.x)[0] == res.history[-1]


# -- faults: KeyboardInterrupt ------------------------------------------------------------


def interrupting(k, fun=rosen):
    calls = [0]

    def f(x, *args):
        calls[0] += 1
        if calls[0] == k:
            raise KeyboardInterrupt
        return fun(x, *args)
    return f


@pytest.mark.parametrize("k", [2, 5, 40])
def test_keyboard_interrupt_returns_result(k):
    res = fastopt.minimize(interrupting(k), X0, method="adam", jac=True,
                           options={"lr": 1e-2, "maxiter": 100})
    assert res.status == 3 and res.success is False
    assert "KeyboardInterrupt" in res.message
    assert np.all(np.isfinite(res.x)) and math.isfinite(res.fun)
    # call k evaluated x_{k-1}: x_{k-2} is the last iterate with a finite objective
    xs, fs, gs = manual_run("adam", X0, k - 2, lr=1e-2)
    np.testing.assert_array_equal(res.x, xs[-1])
    assert res.fun == fs[-1]
    np.testing.assert_array_equal(res.jac, gs[-1])


def test_keyboard_interrupt_result_is_consistent():
    k = 5
    res = fastopt.minimize(interrupting(k), X0, method="adam", jac=True,
                           options={"lr": 1e-2, "maxiter": 100})
    assert np.all(np.isfinite(res.history))
    assert res.history[-1] == res.fun
    assert res.nit == k - 2 and len(res.history) == res.nit + 1


def test_keyboard_interrupt_in_callback():
    n = [0]

    def cb(xk):
        n[0] += 1
        if n[0] == 3:
            raise KeyboardInterrupt

    res = fastopt.minimize(rosen, X0, method="sgd", jac=True, callback=cb,
                           options={"lr": 1e-3, "maxiter": 100})
    assert res.status == 3 and res.nit == 3
    xs, fs, _ = manual_run("sgd", X0, 3, lr=1e-3)
    np.testing.assert_array_equal(res.x, xs[3])
    np.testing.assert_array_equal(res.history, fs)


def test_keyboard_interrupt_during_finite_differences():
    """Interrupted while x is perturbed for a difference: the perturbation does not leak."""
    k = 3 * 4 + 2  # inside the 5th evaluation, after the first coordinate's step
    res = fastopt.minimize(interrupting(k, rosen_value), X0, method="sgd",
                           options={"lr": 1e-3, "maxiter": 50})
    assert res.status == 3
    ref = fastopt.minimize(rosen_value, X0, method="sgd", options={"lr": 1e-3, "maxiter": 3})
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.fun == ref.fun


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("x0,exc", [
    (np.array([np.nan, 1.0]), ValueError),
    (np.array([np.inf, 1.0]), ValueError),
    (np.ones((2, 2)), ValueError),
    (np.ones((1, 2)), ValueError),
    (np.array([]), ValueError),
    ([], ValueError),
    ("abc", TypeError),
    (np.array(["1", "2"]), TypeError),
    (np.array([1 + 1j, 2.0]), TypeError),
    (np.array([1.0, 2.0], dtype=np.float16), TypeError),
    (np.array([1.0, 2.0], dtype=">f8" if np.little_endian else "<f8"), TypeError),  # not native
    (np.array([np.nan, 1.0, 2.0, 3.0])[::2], ValueError),  # strided
    ([1.0, None], TypeError),
    (None, TypeError),
])
def test_bad_x0(x0, exc):
    with pytest.raises(exc, match="x0"):
        fastopt.minimize(rosen_value, x0, method="sgd", jac=rosen_grad)


def test_x0_conversions():
    res = fastopt.minimize(rosen, [-1, 1], method="sgd", jac=True, options={"maxiter": 2})
    assert res.x.dtype == np.float64
    res = fastopt.minimize(lambda x: P.quadratic(x), 2.0, method="sgd", jac=True,
                           options={"maxiter": 2})
    assert res.x.shape == (1,)
    # a read-only x0 (the shared problem registry's) is copied, not written
    res = fastopt.minimize(rosen, P.PROBLEMS["rosenbrock"].x0, method="sgd", jac=True,
                           options={"maxiter": 2})
    np.testing.assert_array_equal(P.PROBLEMS["rosenbrock"].x0, X0)
    x0 = np.array([-1.2, 0.0, 1.0, 0.0])[::2]  # not contiguous
    res = fastopt.minimize(rosen, x0, method="sgd", jac=True, options={"maxiter": 2})
    np.testing.assert_array_equal(x0, X0)
    ref = fastopt.minimize(rosen, X0, method="sgd", jac=True, options={"maxiter": 2})
    assert_same_result(res, ref)


@pytest.mark.parametrize("method", ["sgd", "adam", "lion"])
def test_float32_stays_float32(method):
    x0 = X0.astype(np.float32)
    res = fastopt.minimize(P.rosenbrock.py_func, x0, method=method, jac=True,
                           options={"lr": 1e-3, "maxiter": 20})
    xs, fs, _ = manual_run(method, x0, 20, lr=1e-3)
    np.testing.assert_array_equal(res.x, xs[-1])
    assert res.x.dtype == np.float32 and res.jac.dtype == np.float32
    assert isinstance(res.fun, float)
    assert res.fun == float(P.rosenbrock(res.x)[0])


def test_float32_finite_differences():
    x0 = X0.astype(np.float32)
    res = fastopt.minimize(P.rosenbrock_value.py_func, x0, method="sgd",
                           options={"lr": 1e-3, "maxiter": 20})
    assert res.x.dtype == np.float32 and res.jac.dtype == np.float32
    ref = fastopt.minimize(P.rosenbrock.py_func, x0, method="sgd", jac=True,
                           options={"lr": 1e-3, "maxiter": 20})
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-3)


def test_fun_not_callable():
    with pytest.raises(TypeError, match="fun"):
        fastopt.minimize("rosenbrock", X0, method="sgd", jac=True)
    with pytest.raises(TypeError, match="fun"):
        fastopt.minimize(None, X0, method="sgd")


@pytest.mark.parametrize("ret,exc", [
    (lambda x: np.ones(3), ValueError),
    (lambda x: np.ones((2, 1)), ValueError),
    (lambda x: np.ones(()), ValueError),
    (lambda x: None, ValueError),
    (lambda x: np.ones(2, np.float32), TypeError),
    (lambda x: np.ones(2, np.int64), TypeError),
    (lambda x: np.array(["a", "b"]), TypeError),
])
def test_bad_gradient_from_jac(ret, exc):
    with pytest.raises(exc, match="jac"):
        fastopt.minimize(rosen_value, X0, method="sgd", jac=ret)


@pytest.mark.parametrize("ret,exc", [
    (lambda x: (1.0, np.ones(3)), ValueError),
    (lambda x: (1.0, np.ones(2, np.float32)), TypeError),
])
def test_bad_gradient_from_fun(ret, exc):
    with pytest.raises(exc, match="fun"):
        fastopt.minimize(ret, X0, method="sgd", jac=True)


def test_bad_gradient_from_jitted_jac():
    @numba.njit
    def bad_jac(x):
        return np.ones(3)

    with pytest.raises(ValueError, match="jac"):
        fastopt.minimize(P.rosenbrock_value, X0, method="sgd", jac=bad_jac)


def test_float32_x0_with_float64_gradient_is_rejected():
    with pytest.raises(TypeError, match="jac"):
        fastopt.minimize(rosen_value, X0.astype(np.float32), method="sgd",
                         jac=lambda x: rosen_grad(x.astype(np.float64)))


@pytest.mark.parametrize("fun", [rosen_value, P.rosenbrock_value], ids=["python", "jitted"])
def test_jac_true_with_value_only_fun(fun):
    with pytest.raises((TypeError, ValueError), match=r"\bfun\b|\bjac\b"):
        fastopt.minimize(fun, X0, method="sgd", jac=True, options={"maxiter": 3})


def test_jac_returning_pair():
    with pytest.raises((TypeError, ValueError), match="jac"):
        fastopt.minimize(rosen_value, X0, method="sgd", jac=rosen)


def _later_bad(bad):
    """A gradient that goes bad at the third evaluation."""
    calls = [0]

    def jac(x):
        calls[0] += 1
        g = rosen_grad(x)
        return bad(g) if calls[0] >= 3 else g
    return jac


@pytest.mark.parametrize("bad", [lambda g: g[:1].copy(), lambda g: np.append(g, 0.0),
                                 lambda g: g.astype(np.float32)],
                         ids=["short", "long", "float32"])
def test_bad_gradient_later(bad):
    with pytest.raises((TypeError, ValueError), match="jac"):
        fastopt.minimize(rosen_value, X0, method="sgd", jac=_later_bad(bad),
                         options={"lr": 1e-3, "maxiter": 5})


def test_list_gradient_from_python_jac_is_accepted():
    """A Python jac may return a list (as scipy allows); it is converted, not rejected."""
    res = fastopt.minimize(rosen_value, X0, method="sgd", jac=lambda x: list(rosen_grad(x)),
                           options={"lr": 1e-3, "maxiter": 5})
    ref = fastopt.minimize(rosen_value, X0, method="sgd", jac=rosen_grad,
                           options={"lr": 1e-3, "maxiter": 5})
    np.testing.assert_array_equal(res.x, ref.x)


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lr=st.floats(1e-4, 0.1), momentum=st.floats(0.0, 0.95), maxiter=st.integers(0, 30),
       x0=st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=5),
       nesterov=st.booleans(), weight_decay=st.sampled_from([0.0, 0.1]))
def test_sgd_matches_class_property(lr, momentum, maxiter, x0, nesterov, weight_decay):
    """On the quadratic (curvature <= 10, so lr <= 0.1 is stable with momentum)."""
    nesterov = nesterov and momentum > 0
    x0 = np.array(x0)
    hyper = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
    res = fastopt.minimize(lambda x: P.quadratic(x), x0, method="sgd", jac=True,
                           options={**hyper, "maxiter": maxiter, "gtol": 0.0})
    xs, fs, _ = manual_run("sgd", x0, maxiter, fun=P.quadratic, **hyper)
    assert res.nit == maxiter
    np.testing.assert_array_equal(res.x, xs[-1])
    np.testing.assert_array_equal(res.history, fs)


# -- the compiled loop's disk cache ----------------------------------------------------

_USER_MODULE = """
import numba
import numpy as np


@numba.njit(cache=True)
def fun(x):
    d = x - {target}
    return float(np.sum(d * d)), 2.0 * d
"""

_CHILD = """
import json, sys
sys.path.insert(0, {where!r})
import numpy as np
import importlib
import inspect
import fastopt
M = importlib.import_module("fastopt.minimize")
from user_objective import fun
r = fastopt.minimize(fun, np.zeros({size}), method="adam", jac=True,
                     options={{"maxiter": 300, "lr": 0.1, "gtol": 0}})
(loop, _), = [v for k, v in M._COMPILED.items() if k[0] is fun]
print(json.dumps(dict(x=r.x.tolist(), hits=sum(loop.stats.cache_hits.values()),
                      misses=sum(loop.stats.cache_misses.values()))))
"""


def _run_child(tmp_path, target, size=3):
    module, text = tmp_path / "user_objective.py", _USER_MODULE.format(target=target)
    if not module.exists() or module.read_text() != text:  # a rewrite is a change to Numba
        module.write_text(text)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    out = subprocess.run([sys.executable, "-c", _CHILD.format(where=str(tmp_path), size=size)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size", [3, 40_000])
def test_compiled_loop_is_disk_cached_for_a_cached_objective(tmp_path, size):
    """A fresh process loads the loop of a ``cache=True`` objective from disk, with
    the same result; an edited objective is a new loop, never stale code. Above
    parallel_min parameters the loop inlines the parallel kernel: cached as well."""
    first = _run_child(tmp_path, 1.0, size)
    assert first["misses"] == 1 and first["hits"] == 0
    again = _run_child(tmp_path, 1.0, size)
    assert again["hits"] == 1 and again["misses"] == 0
    assert again["x"] == first["x"]
    np.testing.assert_allclose(first["x"], 1.0, atol=1e-6)
    edited = _run_child(tmp_path, 2.0, size)  # the same file and function, new code
    assert edited["misses"] == 1 and edited["hits"] == 0
    np.testing.assert_allclose(edited["x"], 2.0, atol=1e-6)


@pytest.mark.parametrize("method", fastopt.METHODS)
def test_inlined_parallel_kernel_gives_the_kernels_bits(method):
    """Above parallel_min parameters a cached objective's loop inlines the parallel kernel
    (compiled with the kernel's options): its iterates equal the Python loop's, which
    calls the kernel itself, bit for bit; float64 and float32."""
    for dtype in (np.float64, np.float32):
        n = fastopt._config.parallel_min(dtype) + 3
        x0 = np.where(np.arange(n) % 2 == 0, -1.2, 1.0).astype(dtype)
        opts = {"maxiter": 4, "gtol": 0, "lr": 1e-3}
        compiled = fastopt.minimize(P.rosenbrock, x0, method=method, jac=True, options=opts)
        key = (P.rosenbrock, True, "fun", fastopt.registry.get_spec(method).kernel)
        assert MOD._COMPILED[key][0]._cache._own_parfors
        python = fastopt.minimize(P.rosenbrock.py_func, x0, method=method, jac=True,
                                  options=opts)
        np.testing.assert_array_equal(compiled.x, python.x)
        np.testing.assert_array_equal(compiled.history, python.history)


def test_compiled_loop_not_disk_cached_without_objective_cache():
    """Numba functions without ``cache=True`` (or parallel ones) keep a per-process loop."""
    from numba.core.caching import NullCache

    @numba.njit
    def fun(x):
        return float(np.sum(x * x)), 2.0 * x

    fastopt.minimize(fun, np.ones(2), method="sgd", jac=True, options={"maxiter": 3})
    (loop, _), = [v for k, v in MOD._COMPILED.items() if k[0] is fun]
    assert isinstance(loop._cache, NullCache)
    parallel = numba.njit(cache=True, parallel=True)(lambda x: (float(np.sum(x * x)), 2.0 * x))
    from fastopt import _loopcache as loopcache
    assert loopcache.cacheable(P.rosenbrock) and not loopcache.cacheable(parallel)
    assert not loopcache.cacheable(fun)


def _scaled_quadratic(scale):
    @numba.njit(cache=True)
    def fun(x):
        return scale * float(np.sum(x * x)), 2.0 * scale * x

    return fun


def test_loop_key_holds_closure_values():
    """Cached closures that differ only in a captured value get different loops (as
    Numba's own cache keys them), the same value the same loop; a per_example twin
    over them too."""
    from fastopt import _loopcache, losses

    kernel = fastopt.registry.get_spec("adam").serial_kernel
    one, two, one_again = (_scaled_quadratic(s) for s in (1.0, 2.0, 1.0))
    keys = [_loopcache.loop_key(f, None, "fun", kernel) for f in (one, two, one_again)]
    assert keys[0] != keys[1] and keys[0] == keys[2]

    def twin_key(scale):
        @numba.njit(cache=True)
        def example(w, x_i, y_i, grad):
            return scale * 0.0

        return _loopcache.loop_key(losses.per_example(example).serial_twin, None, "fun", kernel)

    assert twin_key(1.0) != twin_key(2.0) and twin_key(1.0) == twin_key(1.0)


def test_compiled_loop_without_a_source_file_stays_uncached(monkeypatch):
    """A cached objective whose source cannot be stamped (a notebook cell, a deleted
    file) runs normally, with a per-process loop."""
    from numba.core.caching import NullCache

    from fastopt import _loopcache

    def no_stamp(path):
        raise FileNotFoundError(path)

    monkeypatch.setattr(_loopcache, "_file_stamp", no_stamp)
    fun = numba.njit(cache=True)(lambda x: (float(np.sum(x * x)), 2.0 * x))
    res = fastopt.minimize(fun, np.ones(2), method="sgd", jac=True,
                           options={"maxiter": 50, "lr": 0.1})
    assert res.fun < 1e-8
    (loop, _), = [v for k, v in MOD._COMPILED.items() if k[0] is fun]
    assert isinstance(loop._cache, NullCache)


def test_large_problem_uses_the_parallel_kernel():
    """From parallel_min(float64) parameters the compiled loop runs the prange kernel:
    inlined for a disk-cached objective, called for one without Numba's cache."""
    from fastopt._config import parallel_min

    n = parallel_min(np.float64) + 1
    opts = {"maxiter": 5, "lr": 0.1, "gtol": 0}
    res = fastopt.minimize(P.quadratic, np.ones(n), method="adam", jac=True, options=opts)
    assert MOD._COMPILED[P.quadratic, True, "fun", REGISTRY["adam"].kernel][0]._cache._own_parfors
    uncached = numba.njit(P.quadratic.py_func)
    called = fastopt.minimize(uncached, np.ones(n), method="adam", jac=True, options=opts)
    assert not hasattr(MOD._COMPILED[uncached, True, "fun", REGISTRY["adam"].kernel][0]._cache,
                       "_own_parfors")
    python = fastopt.minimize(P.quadratic.py_func, np.ones(n), method="adam", jac=True,
                              options=opts)
    assert_same_result(res, python)
    assert_same_result(called, python)
