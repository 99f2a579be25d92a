"""The bias-correction powers beta ** t of the Adam-type kernels (fastopt._kernels._powers).

Exact references: ``float(Fraction(beta) ** t)`` is beta ** t correctly rounded.
"""

from fractions import Fraction

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastopt
from fastopt._kernels._powers import SLOTS, TINY, bias_power, is_state, state
from fastopt.registry import REGISTRY

import reference as ref


@numba.njit
def _run(c, beta, steps):
    out = np.empty(steps.size)
    for i in range(steps.size):
        out[i] = bias_power(c, 0, beta, steps[i])
    return out


def _fresh():
    return np.array([x for _, x in state("beta_power")])


def _exact(beta, t):
    return float(Fraction(beta) ** t)


def _expected(beta, t):
    """What bias_power returns: beta ** t correctly rounded, 0 below TINY."""
    exact = _exact(beta, t)
    return exact if exact >= TINY else 0.0


@pytest.mark.parametrize("beta", [0.9, 0.999, 0.5, 0.99, 0.95, 0.9999, 0.0, 0.3,
                                  0.123456789, 0.999999])
def test_running_power_is_correctly_rounded(beta):
    out = _run(_fresh(), beta, np.arange(1.0, 1201.0))
    for t in (1, 2, 3, 7, 64, 100, 333, 1000, 1200):
        assert out[t - 1] == _expected(beta, t), t


def test_cache_miss_recomputes_the_same_value():
    """A jump in t, a repeated t (the L1 step after the update) and a changed beta."""
    running = _run(_fresh(), 0.999, np.arange(1.0, 501.0))
    jumped = _run(_fresh(), 0.999, np.array([37.0, 500.0, 500.0, 12.0]))
    np.testing.assert_array_equal(jumped, running[[36, 499, 499, 11]])
    c = _fresh()
    _run(c, 0.9, np.arange(1.0, 11.0))
    assert _run(c, 0.8, np.array([11.0]))[0] == _exact(0.8, 11)  # torch: the new beta ** t
    assert c.size == SLOTS


@pytest.mark.parametrize("name", ["adam", "adamw", "adamax", "nadam", "radam"])
def test_kernels_carry_their_powers(name):
    """The state holds beta ** t of the last step, correctly rounded."""
    rng = np.random.default_rng(0)
    p = rng.standard_normal(3)
    opt = getattr(fastopt, REGISTRY[name].class_name)(p, betas=(0.9, 0.99))
    for _ in range(25):
        opt.step(rng.standard_normal(3))
    st = opt.state[0]
    for key, beta in (("beta1_power", 0.9), ("beta2_power", 0.99)):
        if key in st:
            assert st[key] == _exact(beta, 25) and st[key + "_step"] == 25.0


@pytest.mark.parametrize("name", ["adam", "adamax", "nadam", "radam"])
def test_changed_betas_follow_torch(name):
    """Editing betas mid-run uses the new beta ** t from then on, as torch does."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p = rng.standard_normal(5)
    tp = torch.tensor(p.copy(), requires_grad=True)
    cls = REGISTRY[name].class_name
    opt = getattr(fastopt, cls)(p, lr=1e-2)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch's scalar state in float64, as fastopt's
    try:
        topt = getattr(torch.optim, cls)([tp], lr=1e-2)
        for t in range(20):
            if t == 10:
                opt.param_groups[0]["betas"] = (0.8, 0.99)
                topt.param_groups[0]["betas"] = (0.8, 0.99)
            g = rng.standard_normal(5)
            opt.step(g)
            tp.grad = torch.tensor(g)
            topt.step()
    finally:
        torch.set_default_dtype(old)
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", ["adam", "nadam"])
def test_state_dict_without_the_powers_resumes_the_same(name):
    """The powers are a cache of (beta, t): a state dict without them (an older
    fastopt's, or one written by hand) loads, and the run goes on with the same bits."""
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((30, 4))
    cls = getattr(fastopt, REGISTRY[name].class_name)
    a = rng.standard_normal(4)
    b = a.copy()
    opt_a = cls(a, lr=1e-2)
    for g in grads[:15]:
        opt_a.step(g)
    sd = {k: x for k, x in opt_a.state_dict().items() if not is_state(k.rsplit(".", 1)[-1])}
    assert len(sd) < len(opt_a.state_dict())
    b[:] = a
    opt_b = cls(b, lr=1e-2)
    opt_b.load_state_dict(sd)
    for g in grads[15:]:
        opt_a.step(g)
        opt_b.step(g)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="lacks slot state.0.exp_avg"):
        cls(b.copy(), lr=1e-2).load_state_dict({k: x for k, x in sd.items()
                                                 if not k.endswith(".exp_avg")})


@settings(max_examples=60, deadline=None)
@given(beta=st.floats(0.0, 0.99999, allow_nan=False),
       steps=st.lists(st.integers(1, 3000), min_size=1, max_size=6))
def test_property_any_beta_and_step_sequence(beta, steps):
    """Runs of consecutive steps from random starts (jumps, repeats): every power
    is beta ** t correctly rounded, or 0 below TINY."""
    c = _fresh()
    for start in steps:
        ts = np.arange(float(start), float(start + 40))
        out = _run(c, beta, ts)
        for t, got in zip(ts[::13], out[::13]):
            assert got == _expected(beta, int(t)), (beta, t)


@pytest.mark.parametrize("beta", [0.9, 0.5, 0.99])
def test_powers_below_tiny_are_zero_running_or_recomputed(beta):
    """Past TINY the power is 0 (no subnormal arithmetic: a microcode assist per
    operation on Intel cores), the same whether carried or recomputed."""
    last = int(np.ceil(np.log(TINY) / np.log(beta))) + 50
    steps = np.arange(1.0, last + 1.0)
    running = _run(_fresh(), beta, steps)
    crossing = int(np.argmax(running == 0.0))
    assert crossing > 0 and np.all(running[crossing:] == 0.0)
    assert running[crossing - 1] == _exact(beta, crossing) >= TINY > _exact(beta, crossing + 1)
    around = steps[crossing - 3:crossing + 3]
    np.testing.assert_array_equal(
        [_run(_fresh(), beta, np.array([t]))[0] for t in around], running[crossing - 3:crossing + 3])


@pytest.mark.parametrize("name", ["adam", "adamw", "adamax", "nadam", "radam"])
def test_kernels_past_tiny_match_the_pow_reference(name):
    """A power zeroed below TINY changes no result: 1 - p is 1 either way, and
    RAdam's rho_t is rho_inf. 400 steps with betas (0.5, 0.7), whose powers cross
    TINY at steps 201 and 389, against the NumPy reference (beta ** t by pow)."""
    rng = np.random.default_rng(5)
    p = rng.standard_normal(6)
    rs = [p.copy()]
    states = [{}]
    h = {"betas": (0.5, 0.7), "lr": 1e-2}
    opt = getattr(fastopt, REGISTRY[name].class_name)(p, **h)
    for t in range(400):
        g = rng.standard_normal(6)
        opt.step(g)
        ref.reference_step(name, rs, [g.copy()], states, h)
        if t in (150, 399):
            np.testing.assert_allclose(p, rs[0], rtol=1e-12, atol=0)  # REF_RTOL of test_optimizers
    st = opt.state[0]
    for key in ("beta1_power", "beta2_power"):
        if key in st:
            assert st[key] == 0.0
