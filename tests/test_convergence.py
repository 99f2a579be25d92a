"""Every registry method converges on the standard test functions.

Each method runs from each problem's usual start (``fastopt.problems``) through
``fastopt.minimize`` on the compiled path (a Numba objective with
``jac=True``), with the hyperparameters of ``TUNED`` below, and must end with
``f(x) - fmin <= TOL`` and ``x`` next to a minimizer.

Problems: quadratic (n=5, condition number 10), Rosenbrock (n=2, from
(-1.2, 1)), Beale (from (1, 1)), Booth (from (0, 0)) and Himmelblau (from
(0, 0), any of its four minima).

Tolerance. One tolerance for every method and problem, ``TOL = 1e-10`` (the
problems are smooth and every minimum value is 0 exactly). Sign-based and
RMS-normalized methods (Lion, Rprop, RMSprop, Adadelta, Adam and its
variants) do not converge with a constant learning rate: their step does not
shrink with the gradient, so they end in an oscillation of size ~lr around
the minimum (f ~ curvature * lr^2, e.g. 1e-4 for RMSprop at lr=1e-2). Rather
than loosening the tolerance for them, their table entry anneals the learning
rate to 0 (``CosineAnnealingLR`` over the whole run), which removes that
floor; Rprop instead shrinks its own step sizes, once its lower bound allows it.
Every entry below ends with f <= 2e-14 (more than 1000x inside TOL), most
with 1e-25 or an exact 0.

Runtime. Compiling a minimize loop costs ~1 s per (objective, method), so the
five problems are reached through ONE jitted objective ``objective(x, k)``
that calls the ``fastopt.problems`` function number ``k``: one compile per
method, then every iteration runs compiled (~0.1 us each; the largest budget
here, 80000 iterations, takes ~10 ms).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import fastopt
from fastopt import problems as P
from fastopt.schedules import CosineAnnealingLR

TOL = 1e-10

PROBLEMS = ("quadratic", "rosenbrock", "beale", "booth", "himmelblau")


def _cosine(lr: float, maxiter: int) -> dict:
    """``lr`` annealed to 0 over the whole run of ``maxiter`` steps."""
    return {"lr": CosineAnnealingLR(lr, maxiter), "maxiter": maxiter}


# Hyperparameters per method, the same for all five problems. ``maxiter`` is
# the budget; "first hit" below is the first iteration with f <= 1e-10 on the
# slowest of the five problems (Rosenbrock unless said otherwise), measured
# when the table was tuned, to show the margin. Steepest safe learning rates
# are bounded by Rosenbrock (curvature ~1000 along the valley's walls).
TUNED: dict[str, dict] = {
    # Heavy-ball momentum 0.9 with lr 1e-3: lr 1e-2 diverges on Rosenbrock,
    # 1e-4 is too slow there. Plain GD step lr * curvature stays < 2.
    # First hit 3065 (Beale).
    "sgd": {"lr": 1e-3, "momentum": 0.9, "maxiter": 10_000},
    # Adagrad's step lr / sqrt(sum g^2) decays by itself, so it starts large:
    # lr 0.5 (below 0.1 it crawls on Rosenbrock: f ~ 1e-6 after 20000 steps).
    # First hit 13763.
    "adagrad": {"lr": 0.5, "maxiter": 40_000},
    # Adadelta's step is ~lr * RMS(dx) / RMS(g): RMS-normalized, so it
    # hovers at a distance ~lr unless lr is annealed; rho 0.99 (longer
    # memory) smooths the ratio in Rosenbrock's valley. It is the slowest
    # method here: f <= 1e-10 only in the last few % of the cosine tail
    # (first hit ~47700 of 50000), still ending at 1e-15.
    "adadelta": {**_cosine(0.5, 50_000), "rho": 0.99},
    # RMS-normalized: annealed lr; momentum 0.9 carries it along Rosenbrock's
    # valley (without momentum it only reaches 1e-10 in the cosine tail).
    # First hit 25903.
    "rmsprop": {**_cosine(1e-3, 50_000), "momentum": 0.9},
    # Adam family: a constant lr leaves a limit cycle (f back up to 1e-9 ..
    # 1e-4 after 20000 steps); an annealed peak lr of 3e-2 converges.
    # First hit 3129.
    "adam": _cosine(3e-2, 10_000),
    # AdamW's default weight_decay=1e-2 moves the fixed point off the
    # minimizer (f ~ 1e-6 on Rosenbrock whatever lr); a tiny 1e-6 still runs
    # the decoupled-decay branch but shifts x by only ~1e-7 (f ~ 1e-14).
    # First hit 3172.
    "adamw": {**_cosine(3e-2, 10_000), "weight_decay": 1e-6},
    # First hit 5064.
    "adamax": _cosine(3e-2, 10_000),
    # First hit 6692.
    "nadam": _cosine(3e-2, 10_000),
    # RAdam takes un-normalized momentum-SGD steps lr * m while its variance
    # estimate is unreliable (the first ~5 steps): lr >= 1e-2 diverges on
    # Rosenbrock there (|g| ~ 200 at the start). 5e-3 annealed over 20000.
    # First hit 11482.
    "radam": _cosine(5e-3, 20_000),
    # Rprop: lr is the initial per-coordinate step. The default lower bound
    # on the step size, 1e-6, stalls it at f ~ 3e-7 in Rosenbrock's narrow
    # valley; bound 0 lets the steps keep shrinking. First hit 6232.
    "rprop": {"lr": 1e-2, "step_sizes": (0.0, 50.0), "maxiter": 20_000},
    # ASGD has no momentum: plain GD steps, lr 1e-3 (1.5e-3 is at the edge of
    # stability at Rosenbrock's start). lambd=0: lambd's shrink term
    # x *= 1 - lambd * eta pulls x toward 0 and moves the fixed point off the
    # minimizer (f ~ 7e-9 on Booth with the default 1e-4).
    # First hit 31706 (Beale).
    "asgd": {"lr": 1e-3, "lambd": 0.0, "maxiter": 80_000},
    # Lion steps lr * sign(...) in every coordinate: it needs the annealed lr
    # to settle at all, and settles to 1e-10 only late in the cosine tail
    # (first hit ~19200 of 20000, all five problems after 15000), ending at
    # <= 1e-14. Peak 1e-3 covers the ~2.2 from Rosenbrock's start in ~2500
    # steps; 1e-2 ends at 7e-8 on Rosenbrock.
    "lion": _cosine(1e-3, 20_000),
}


@numba.njit
def objective(x, k):
    """``fastopt.problems`` function number ``k`` of ``PROBLEMS``: (f, g)."""
    if k == 0:
        return P.quadratic(x)
    elif k == 1:
        return P.rosenbrock(x)
    elif k == 2:
        return P.beale(x)
    elif k == 3:
        return P.booth(x)
    return P.himmelblau(x)


def _problem(name: str) -> P.Problem:
    return P.get_problem(name, 5 if name == "quadratic" else None)


HIMMELBLAU_MINIMA = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186],
                              [3.584428, -1.848126]])


def test_table_covers_every_method():
    assert set(TUNED) == set(fastopt.METHODS)


def test_dispatcher_is_the_problems():
    """``objective(x, k)`` is exactly the ``fastopt.problems`` function."""
    for k, name in enumerate(PROBLEMS):
        p = _problem(name)
        f, g = objective(p.x0, k)
        f_ref, g_ref = p.fun(p.x0)
        assert f == f_ref
        np.testing.assert_array_equal(g, g_ref)


@pytest.mark.parametrize("method", fastopt.METHODS)
def test_converges(method):
    failures = []
    for k, name in enumerate(PROBLEMS):
        p = _problem(name)
        options = dict(TUNED[method], gtol=0.0)  # run the whole budget
        res = fastopt.minimize(objective, p.x0, args=(k,), method=method, jac=True,
                               options=options)
        assert res.status == 1, (name, res.message)
        assert res.nit == options["maxiter"]
        # The result is honest: fun is the objective at x.
        assert res.fun == p.fun(res.x)[0]
        gap = res.fun - p.fmin
        if name == "himmelblau":
            dist = np.min(np.max(np.abs(HIMMELBLAU_MINIMA - res.x), axis=1))
            near = dist <= 1e-4 + 1e-6  # the listed minima have 6 decimals
        else:
            near = np.max(np.abs(res.x - p.xmin)) <= 1e-4
        if not (gap <= TOL and near):
            failures.append(f"{name}: f - fmin = {gap:.3e}, x = {res.x}")
    assert not failures, f"{method} did not converge:\n" + "\n".join(failures)
