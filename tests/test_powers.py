"""The bias-correction powers beta ** t of the Adam kernel (fastopt._kernels._powers).

Exact references: ``float(Fraction(beta) ** t)`` is beta ** t correctly rounded.
"""

from fractions import Fraction

import numba
import numpy as np
import pytest

import fastopt
from fastopt._kernels._powers import SLOTS, STATE, bias_powers


@numba.njit
def _run(c, beta1, beta2, steps):
    out = np.empty((steps.size, 2))
    for i in range(steps.size):
        out[i, 0], out[i, 1] = bias_powers(c, 0, beta1, beta2, steps[i])
    return out


def _fresh():
    return np.array([x for _, x in STATE])


def _exact(beta, t):
    return float(Fraction(beta) ** t)


@pytest.mark.parametrize("beta1,beta2", [(0.9, 0.999), (0.5, 0.99), (0.95, 0.9999),
                                         (0.0, 0.3), (0.123456789, 0.999999)])
def test_running_powers_are_correctly_rounded(beta1, beta2):
    steps = np.arange(1.0, 1201.0)
    out = _run(_fresh(), beta1, beta2, steps)
    for t in (1, 2, 3, 7, 64, 100, 333, 1000, 1200):
        assert out[t - 1, 0] == _exact(beta1, t), t
        assert out[t - 1, 1] == _exact(beta2, t), t


def test_cache_miss_recomputes_the_same_value():
    """A jump in t, a repeated t (the L1 step after the update) and a changed beta."""
    steps = np.arange(1.0, 501.0)
    running = _run(_fresh(), 0.9, 0.999, steps)
    jumped = _run(_fresh(), 0.9, 0.999, np.array([37.0, 500.0, 500.0, 12.0]))
    np.testing.assert_array_equal(jumped, running[[36, 499, 499, 11]])
    c = _fresh()
    _run(c, 0.9, 0.999, steps[:10])
    changed = _run(c, 0.8, 0.999, np.array([11.0]))  # torch: the new beta ** t
    assert changed[0, 0] == _exact(0.8, 11) and changed[0, 1] == _exact(0.999, 11)
    assert c.size == SLOTS


def test_adam_bias_corrections_follow_a_changed_beta():
    """Editing betas mid-run uses the new beta ** t from then on, as torch does."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p = rng.standard_normal(5)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = fastopt.Adam(p, lr=1e-2)
    topt = torch.optim.Adam([tp], lr=1e-2)
    for t in range(20):
        if t == 10:
            opt.param_groups[0]["betas"] = (0.8, 0.99)
            topt.param_groups[0]["betas"] = (0.8, 0.99)
        g = rng.standard_normal(5)
        opt.step(g)
        tp.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-13, atol=0)
