"""Tests for fastopt.schedules: values against torch.optim.lr_scheduler,
compiled evaluation, ReduceLROnPlateau, random parameters, bad arguments."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastopt import schedules as S
from fastopt.schedules import eval_schedule

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

BASE = 0.1


def torch_lrs(make, n, base=BASE):
    """``param_groups[0]["lr"]`` after 0, 1, ..., n-1 scheduler steps."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's own deprecation chatter
        sched = make(opt)
        out = [opt.param_groups[0]["lr"]]
        for _ in range(n - 1):
            opt.step()  # before scheduler.step(), as torch asks
            sched.step()
            out.append(opt.param_groups[0]["lr"])
    return np.array(out, dtype=np.float64)


def same_bits(a, b) -> bool:
    return np.array([a], np.float64).view(np.int64)[0] == np.array([b], np.float64).view(np.int64)[0]


# (fastopt schedule, torch scheduler factory, steps compared)
CASES = [
    (S.StepLR(BASE, 30), lambda o: L.StepLR(o, 30), 300),
    (S.StepLR(BASE, 7, gamma=0.5), lambda o: L.StepLR(o, 7, gamma=0.5), 300),
    (S.StepLR(BASE, 1, 0.97), lambda o: L.StepLR(o, 1, 0.97), 300),
    (S.MultiStepLR(BASE, [30, 80]), lambda o: L.MultiStepLR(o, [30, 80]), 300),
    (S.MultiStepLR(BASE, [0, 5, 6, 200], 0.5), lambda o: L.MultiStepLR(o, [0, 5, 6, 200], 0.5), 300),
    (S.MultiStepLR(BASE, []), lambda o: L.MultiStepLR(o, []), 50),
    (S.ExponentialLR(BASE, 0.99), lambda o: L.ExponentialLR(o, 0.99), 300),
    (S.ExponentialLR(BASE, 0.9), lambda o: L.ExponentialLR(o, 0.9), 300),
    (S.ExponentialLR(BASE, 1.01), lambda o: L.ExponentialLR(o, 1.01), 300),
    # Past T_max torch's recursion restarts from eta_min: several periods each.
    (S.CosineAnnealingLR(BASE, 10), lambda o: L.CosineAnnealingLR(o, 10), 300),
    (S.CosineAnnealingLR(BASE, 7, 1e-3), lambda o: L.CosineAnnealingLR(o, 7, 1e-3), 300),
    (S.CosineAnnealingLR(BASE, 1), lambda o: L.CosineAnnealingLR(o, 1), 50),
    (S.CosineAnnealingLR(BASE, 2, 0.05), lambda o: L.CosineAnnealingLR(o, 2, 0.05), 50),
    (S.CosineAnnealingLR(BASE, 120), lambda o: L.CosineAnnealingLR(o, 120), 800),
    (S.CosineAnnealingLR(BASE, 333, 1e-5), lambda o: L.CosineAnnealingLR(o, 333, 1e-5), 1500),
    (S.CosineAnnealingLR(BASE, 50, eta_min=0.3), lambda o: L.CosineAnnealingLR(o, 50, 0.3), 300),
    (S.CosineAnnealingWarmRestarts(BASE, 10), lambda o: L.CosineAnnealingWarmRestarts(o, 10), 300),
    (S.CosineAnnealingWarmRestarts(BASE, 10, 2, 1e-4),
     lambda o: L.CosineAnnealingWarmRestarts(o, 10, 2, 1e-4), 500),
    (S.CosineAnnealingWarmRestarts(BASE, 3, 3, 0.01),
     lambda o: L.CosineAnnealingWarmRestarts(o, 3, 3, 0.01), 300),
    (S.CosineAnnealingWarmRestarts(BASE, 1), lambda o: L.CosineAnnealingWarmRestarts(o, 1), 20),
    (S.LinearLR(BASE), lambda o: L.LinearLR(o), 300),
    (S.LinearLR(BASE, 0.25, 1.0, 100), lambda o: L.LinearLR(o, 0.25, 1.0, 100), 300),
    (S.LinearLR(BASE, 1.0, 0.0, 50), lambda o: L.LinearLR(o, 1.0, 0.0, 50), 300),
    (S.LinearLR(BASE, 0.9, 0.0, 299), lambda o: L.LinearLR(o, 0.9, 0.0, 299), 400),
    (S.LinearLR(BASE, 0.1, 0.0, 5), lambda o: L.LinearLR(o, 0.1, 0.0, 5), 20),  # torch ends < 0
    (S.LinearLR(BASE, 0.5, 0.2, 10), lambda o: L.LinearLR(o, 0.5, 0.2, 10), 300),
    (S.LinearLR(BASE, 0.5, 0.5, 1), lambda o: L.LinearLR(o, 0.5, 0.5, 1), 20),
    (S.PolynomialLR(BASE), lambda o: L.PolynomialLR(o), 300),
    (S.PolynomialLR(BASE, 100, 2.0), lambda o: L.PolynomialLR(o, 100, 2.0), 300),
    (S.PolynomialLR(BASE, 250, 0.5), lambda o: L.PolynomialLR(o, 250, 0.5), 300),
    (S.PolynomialLR(BASE, 299, 3.0), lambda o: L.PolynomialLR(o, 299, 3.0), 300),
    (S.PolynomialLR(BASE, 1, 1.0), lambda o: L.PolynomialLR(o, 1, 1.0), 20),
    (S.PolynomialLR(BASE, 10, 0.0), lambda o: L.PolynomialLR(o, 10, 0.0), 20),
    (S.ConstantLR(BASE), lambda o: L.ConstantLR(o), 300),
    (S.ConstantLR(BASE, 0.5, 10), lambda o: L.ConstantLR(o, 0.5, 10), 300),
    (S.ConstantLR(BASE, 0.1, 1), lambda o: L.ConstantLR(o, 0.1, 1), 20),
    (S.ConstantLR(BASE, 1.0, 3), lambda o: L.ConstantLR(o, 1.0, 3), 20),
    (S.SequentialLR([S.LinearLR(BASE, 0.01, 1.0, 20), S.CosineAnnealingLR(BASE, 100)], [20]),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 20), L.CosineAnnealingLR(o, 100)], [20]),
     300),
    (S.SequentialLR([S.LinearLR(BASE), S.ExponentialLR(BASE, 0.95)], [5]),
     lambda o: L.SequentialLR(o, [L.LinearLR(o), L.ExponentialLR(o, 0.95)], [5]), 300),
    (S.SequentialLR([S.ConstantLR(BASE, 0.2, 4), S.StepLR(BASE, 10, 0.5),
                     S.CosineAnnealingWarmRestarts(BASE, 8, 2, 1e-3)], [10, 60]),
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.2, 4), L.StepLR(o, 10, 0.5),
                                  L.CosineAnnealingWarmRestarts(o, 8, 2, 1e-3)], [10, 60]), 300),
    (S.SequentialLR([S.PolynomialLR(BASE, 30, 2.0), S.MultiStepLR(BASE, [3, 50]),
                     S.LinearLR(BASE, 1.0, 0.0, 40), S.ConstantLR(BASE, 0.5, 7)], [1, 90, 200]),
     lambda o: L.SequentialLR(o, [L.PolynomialLR(o, 30, 2.0), L.MultiStepLR(o, [3, 50]),
                                  L.LinearLR(o, 1.0, 0.0, 40), L.ConstantLR(o, 0.5, 7)],
                              [1, 90, 200]), 300),
    (S.SequentialLR([S.StepLR(BASE, 3), S.ExponentialLR(BASE, 0.9)], [0]),
     lambda o: L.SequentialLR(o, [L.StepLR(o, 3), L.ExponentialLR(o, 0.9)], [0]), 50),
    (S.SequentialLR([S.ExponentialLR(BASE, 0.9)], []),
     lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.9)], []), 50),
]


def onecycle_cases():
    """OneCycleLR: torch sets the optimizer's lr itself; compared over total_steps."""
    out = []
    for kw in [dict(), dict(anneal_strategy="linear"), dict(three_phase=True),
               dict(three_phase=True, anneal_strategy="linear"), dict(pct_start=0.0),
               dict(pct_start=1.0), dict(pct_start=0.5, three_phase=True),
               dict(pct_start=0.75, three_phase=True, anneal_strategy="linear"),
               dict(div_factor=5.0, final_div_factor=100.0), dict(pct_start=0.05)]:
        for total in (1, 2, 7, 300):
            if total * kw.get("pct_start", 0.3) == 1.0:
                continue  # torch divides by zero (a phase of length 0)
            out.append((S.OneCycleLR(0.5, total, **kw),
                        lambda o, total=total, kw=kw: L.OneCycleLR(
                            o, 0.5, total_steps=total, cycle_momentum=False, **kw), total))
    out.append((S.OneCycleLR(0.5, epochs=4, steps_per_epoch=25),
                lambda o: L.OneCycleLR(o, 0.5, epochs=4, steps_per_epoch=25), 100))
    return out


CASES += onecycle_cases()
IDS = [f"{i}-{s!r}" for i, (s, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("sched, make, n", CASES, ids=IDS)
def test_matches_torch(sched, make, n):
    ours = np.array([sched(k) for k in range(n)])
    # Documented deviation: a learning rate is never negative (torch's
    # LinearLR can end at -1e-18 when end_factor=0).
    theirs = np.maximum(torch_lrs(make, n), 0.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def nested_cases():
    a, b, c = S.LinearLR(0.2, 0.1, 1.0, 10), S.CosineAnnealingLR(0.2, 30, 1e-3), S.StepLR(0.05, 7)
    d = S.OneCycleLR(0.3, 40, three_phase=True)
    inner = S.SequentialLR([a, b], [10])
    return [
        # (schedule, reference as a Python function of count)
        (S.SequentialLR([inner, c], [50]),
         lambda k: (a(k) if k < 10 else b(k - 10)) if k < 50 else c(k - 50)),
        (S.SequentialLR([c, inner, d], [5, 80]),
         lambda k: c(k) if k < 5 else (inner(k - 5) if k < 80 else d(k - 80))),
        (S.SequentialLR([d, S.SequentialLR([c, 0.01], [20])], [40]),
         lambda k: d(k) if k < 40 else (c(k - 40) if k < 60 else 0.01)),
    ]


@pytest.mark.parametrize("case", range(3))
def test_nested_sequential(case):
    sched, reference = nested_cases()[case]
    for k in range(200):
        assert same_bits(sched(k), reference(k)), k


def all_schedules():
    return ([s for s, _, _ in CASES] + [s for s, _ in nested_cases()]
            + [S.ConstantSchedule(0.3), S.as_schedule(2), S.ConstantSchedule(0.0)])


def test_eval_schedule_bit_identical():
    for sched in all_schedules():
        kind, params = sched.encode()
        assert isinstance(kind, int) and params.dtype == np.float64 and params.ndim == 1
        for k in list(range(400)) + [10**4, 10**6 + 3, 2**40]:
            with np.errstate(over="ignore"):  # gamma > 1 to the 2**40: inf on both sides
                assert same_bits(eval_schedule(kind, params, k), sched(k)), (sched, k)


def test_onecycle_holds_final_value_after_total_steps():
    s = S.OneCycleLR(0.5, 100, anneal_strategy="linear")
    final = s(99)
    assert final == pytest.approx(0.5 / 25 / 1e4, rel=1e-12)
    assert s(100) == s(10**6) == final


def test_constant_and_as_schedule():
    s = S.as_schedule(0.25)
    assert isinstance(s, S.ConstantSchedule) and s.encode()[0] == 0
    np.testing.assert_array_equal(s.encode()[1], [0.25])
    assert s(0) == s(12345) == 0.25
    sched = S.StepLR(0.1, 3)
    assert S.as_schedule(sched) is sched
    assert S.as_schedule(np.float32(0.5))(0) == 0.5
    for bad in ("0.1", None, True, [0.1], lambda k: 0.1):
        with pytest.raises(TypeError, match=r"lr must be a float or a fastopt.schedules.Schedule"):
            S.as_schedule(bad)
    with pytest.raises(ValueError, match=r"lr must be >= 0"):
        S.as_schedule(-1.0)


def test_encode_returns_a_copy():
    s = S.ExponentialLR(0.1, 0.5)
    kind, params = s.encode()
    params[0] = 99.0
    assert s(0) == 0.1 and s.encode()[1][0] == 0.1


def test_repr():
    assert repr(S.StepLR(0.1, 30)) == "StepLR(lr=0.1, step_size=30, gamma=0.1)"
    assert repr(S.SequentialLR([S.ConstantLR(0.1), 0.5], [5])) == (
        "SequentialLR(schedulers=[ConstantLR(lr=0.1, factor=0.3333333333333333, total_iters=5), "
        "ConstantSchedule(lr=0.5)], milestones=[5])")
    assert repr(S.OneCycleLR(1.0, 10)).startswith("OneCycleLR(max_lr=1.0, total_steps=10, pct_start=0.3")
    assert repr(S.ReduceLROnPlateau(0.1)).startswith("ReduceLROnPlateau(lr=0.1, mode='min'")


def test_count_is_checked():
    s = S.CosineAnnealingLR(0.1, 10)
    with pytest.raises(ValueError, match=r"count must be >= 0"):
        s(-1)
    with pytest.raises(TypeError, match=r"count must be an int"):
        s(1.0)
    with pytest.raises(ValueError, match=r"count must be >= 0"):
        S.ReduceLROnPlateau(0.1)(-3)
    assert s(np.int64(3)) == s(3)


def test_import_compiles_nothing():
    code = ("import fastopt.schedules as s; "
            "assert s.eval_schedule.signatures == [], s.eval_schedule.signatures")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- ReduceLROnPlateau --------------------------------------------------------------

def metric_sequence(n=120, seed=0):
    """Improvements, plateaus, noise and an exact repeat: exercises every branch."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.linspace(1.0, 0.5, 20), np.full(15, 0.5),
                        0.5 + 0.01 * rng.standard_normal(40), np.linspace(0.5, 0.2, 10),
                        np.full(35, 0.2) + 1e-6 * rng.standard_normal(35)])
    return [float(m) for m in x[:n]]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("kw", [dict(), dict(patience=0), dict(patience=3, cooldown=2),
                                dict(patience=2, factor=0.5, min_lr=0.004, threshold=1e-3),
                                dict(patience=1, factor=0.5, eps=0.02)])
def test_plateau_matches_torch(mode, threshold_mode, kw):
    metrics = metric_sequence()
    if mode == "max":
        metrics = [-m for m in metrics]
    ours = S.ReduceLROnPlateau(0.1, mode=mode, threshold_mode=threshold_mode, **kw)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    theirs = L.ReduceLROnPlateau(opt, mode=mode, threshold_mode=threshold_mode, **kw)
    lrs = []
    for k, m in enumerate(metrics):
        assert ours(k) == opt.param_groups[0]["lr"], k
        opt.step()
        theirs.step(m)
        ours.step(m)
        lrs.append(ours(k))
    assert ours(len(metrics)) == opt.param_groups[0]["lr"]
    assert ours.num_bad_epochs == theirs.num_bad_epochs and ours.best == theirs.best
    if "eps" not in kw:
        assert min(lrs) < 0.1  # the sequence does trigger reductions


def test_plateau_is_not_encodable():
    s = S.ReduceLROnPlateau(0.1)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau cannot be encoded"):
        s.encode()
    with pytest.raises(ValueError, match=r"schedulers\[1\] is a ReduceLROnPlateau"):
        S.SequentialLR([S.ConstantLR(0.1), s], [3])
    assert S.as_schedule(s) is s


# -- random parameters ------------------------------------------------------------

lrs = st.floats(0.0, 10.0)
gammas = st.floats(1e-3, 1.0)  # growth (gamma > 1) overflows to inf: see test_growth_overflows
unit = st.floats(0.0, 1.0)
counts = st.lists(st.one_of(st.integers(0, 400), st.integers(0, 10**9)), min_size=1, max_size=8)

leaf = st.one_of(
    st.builds(S.ConstantSchedule, lrs),
    st.builds(S.StepLR, lrs, st.integers(1, 50), gammas),
    st.builds(S.MultiStepLR, lrs, st.lists(st.integers(0, 500), max_size=6, unique=True).map(sorted),
              st.floats(1e-3, 2.0)),  # at most 6 decays: no overflow
    st.builds(S.ExponentialLR, lrs, gammas),
    st.builds(S.CosineAnnealingLR, lrs, st.integers(1, 10**6), lrs),
    st.builds(S.CosineAnnealingWarmRestarts, lrs, st.integers(1, 1000), st.integers(1, 5), lrs),
    st.builds(S.LinearLR, lrs, st.floats(1e-6, 1.0), unit, st.integers(1, 1000)),
    st.builds(S.PolynomialLR, lrs, st.integers(1, 1000), st.floats(0.0, 5.0)),
    st.builds(S.OneCycleLR, lrs, st.integers(1, 10**5), pct_start=unit,
              anneal_strategy=st.sampled_from(["cos", "linear"]), div_factor=st.floats(1.0, 1e4),
              final_div_factor=st.floats(1.0, 1e5), three_phase=st.booleans()),
    st.builds(S.ConstantLR, lrs, unit, st.integers(1, 1000)),
)


@st.composite
def sequential(draw, children):
    scheds = draw(st.lists(children, min_size=1, max_size=4))
    milestones = sorted(draw(st.lists(st.integers(0, 600), min_size=len(scheds) - 1,
                                      max_size=len(scheds) - 1, unique=True)))
    return S.SequentialLR(scheds, milestones)


any_schedule = st.recursive(leaf, lambda children: sequential(children), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(any_schedule, counts)
def test_random_schedules(sched, ks):
    kind, params = sched.encode()
    for k in ks:
        value = sched(k)
        assert np.isfinite(value) and value >= 0.0
        assert same_bits(eval_schedule(kind, params, k), value)


def test_growth_overflows():
    # gamma > 1 is allowed (as in torch); far enough out the rate is inf.
    s = S.ExponentialLR(0.1, 1.5)
    with np.errstate(over="ignore"):
        assert s(10**4) == np.inf
    assert eval_schedule(*s.encode(), 10**4) == np.inf


# -- bad arguments ----------------------------------------------------------------

BAD = [
    (lambda: S.StepLR(-0.1, 3), ValueError, r"lr must be >= 0"),
    (lambda: S.StepLR(float("nan"), 3), ValueError, r"lr must be finite"),
    (lambda: S.StepLR("0.1", 3), TypeError, r"lr must be a real number"),
    (lambda: S.StepLR(0.1, 0), ValueError, r"step_size must be an int >= 1"),
    (lambda: S.StepLR(0.1, 2.5), TypeError, r"step_size must be an int"),
    (lambda: S.StepLR(0.1, 3, gamma=0.0), ValueError, r"gamma must be > 0"),
    (lambda: S.MultiStepLR(0.1, [5, 3]), ValueError, r"milestones must be strictly increasing"),
    (lambda: S.MultiStepLR(0.1, [5, 5]), ValueError, r"milestones must be strictly increasing"),
    (lambda: S.MultiStepLR(0.1, [-1, 5]), ValueError, r"milestones\[0\] must be an int >= 0"),
    (lambda: S.MultiStepLR(0.1, 5), TypeError, r"milestones must be a sequence of ints"),
    (lambda: S.MultiStepLR(0.1, [1, 2], gamma=-1), ValueError, r"gamma must be > 0"),
    (lambda: S.ExponentialLR(0.1, -0.5), ValueError, r"gamma must be > 0"),
    (lambda: S.CosineAnnealingLR(0.1, 0), ValueError, r"T_max must be an int >= 1"),
    (lambda: S.CosineAnnealingLR(0.1, 10, eta_min=-1e-3), ValueError, r"eta_min must be >= 0"),
    (lambda: S.CosineAnnealingWarmRestarts(0.1, 0), ValueError, r"T_0 must be an int >= 1"),
    (lambda: S.CosineAnnealingWarmRestarts(0.1, 5, T_mult=0), ValueError, r"T_mult must be an int >= 1"),
    (lambda: S.CosineAnnealingWarmRestarts(0.1, 5, T_mult=1.5), TypeError, r"T_mult must be an int"),
    (lambda: S.LinearLR(0.1, start_factor=0.0), ValueError, r"start_factor must be > 0"),
    (lambda: S.LinearLR(0.1, start_factor=1.5), ValueError, r"start_factor must be <= 1"),
    (lambda: S.LinearLR(0.1, end_factor=1.5), ValueError, r"end_factor must be <= 1"),
    (lambda: S.LinearLR(0.1, total_iters=0), ValueError, r"total_iters must be an int >= 1"),
    (lambda: S.PolynomialLR(0.1, total_iters=0), ValueError, r"total_iters must be an int >= 1"),
    (lambda: S.PolynomialLR(0.1, power=-1.0), ValueError, r"power must be >= 0"),
    (lambda: S.ConstantLR(0.1, factor=1.5), ValueError, r"factor must be <= 1"),
    (lambda: S.ConstantLR(0.1, total_iters=-2), ValueError, r"total_iters must be an int >= 1"),
    (lambda: S.OneCycleLR(0.1, 0), ValueError, r"total_steps must be an int >= 1"),
    (lambda: S.OneCycleLR(0.1), ValueError, r"total_steps must be given"),
    (lambda: S.OneCycleLR(0.1, epochs=3), ValueError, r"total_steps must be given"),
    (lambda: S.OneCycleLR(0.1, epochs=0, steps_per_epoch=3), ValueError, r"epochs must be an int >= 1"),
    (lambda: S.OneCycleLR(0.1, 10, 0.3), TypeError, r"epochs must be an int"),
    (lambda: S.OneCycleLR(0.1, 10, pct_start=1.5), ValueError, r"pct_start must be <= 1"),
    (lambda: S.OneCycleLR(0.1, 10, pct_start=-0.1), ValueError, r"pct_start must be >= 0"),
    (lambda: S.OneCycleLR(0.1, 10, anneal_strategy="exp"), ValueError, r"anneal_strategy must be one of"),
    (lambda: S.OneCycleLR(0.1, 10, div_factor=0.0), ValueError, r"div_factor must be > 0"),
    (lambda: S.OneCycleLR(0.1, 10, final_div_factor=-1.0), ValueError, r"final_div_factor must be > 0"),
    (lambda: S.OneCycleLR(0.1, 10, three_phase=1), TypeError, r"three_phase must be a bool"),
    (lambda: S.OneCycleLR(-0.1, 10), ValueError, r"max_lr must be >= 0"),
    (lambda: S.SequentialLR([S.ConstantLR(0.1)], [3]), ValueError,
     r"milestones must hold len\(schedulers\) - 1 = 0 entries, got 1"),
    (lambda: S.SequentialLR([S.ConstantLR(0.1), S.ConstantLR(0.1)], []), ValueError,
     r"milestones must hold len\(schedulers\) - 1 = 1 entries, got 0"),
    (lambda: S.SequentialLR([S.ConstantLR(0.1)] * 3, [5, 2]), ValueError,
     r"milestones must be strictly increasing"),
    (lambda: S.SequentialLR([], []), ValueError, r"schedulers must hold at least one schedule"),
    (lambda: S.SequentialLR(S.ConstantLR(0.1), []), TypeError, r"schedulers must be a list"),
    (lambda: S.SequentialLR([S.ConstantLR(0.1), "x"], [2]), TypeError,
     r"schedulers\[1\] must be a float or a fastopt.schedules.Schedule"),
    (lambda: S.ReduceLROnPlateau(0.1, mode="avg"), ValueError, r"mode must be one of"),
    (lambda: S.ReduceLROnPlateau(0.1, threshold_mode="x"), ValueError, r"threshold_mode must be one of"),
    (lambda: S.ReduceLROnPlateau(0.1, factor=1.0), ValueError, r"factor must be < 1"),
    (lambda: S.ReduceLROnPlateau(0.1, patience=-1), ValueError, r"patience must be an int >= 0"),
    (lambda: S.ReduceLROnPlateau(0.1, cooldown=0.5), TypeError, r"cooldown must be an int"),
    (lambda: S.ReduceLROnPlateau(0.1, threshold=-1e-4), ValueError, r"threshold must be >= 0"),
    (lambda: S.ReduceLROnPlateau(0.1, min_lr=-1.0), ValueError, r"min_lr must be >= 0"),
    (lambda: S.ReduceLROnPlateau(0.1, eps=-1.0), ValueError, r"eps must be >= 0"),
    (lambda: S.ReduceLROnPlateau(-0.1), ValueError, r"lr must be >= 0"),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()
