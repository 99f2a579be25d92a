"""The optimizers' math: fastopt against the NumPy reference, torch.optim and optax.

Everything is parametrized over ``OPTIONS``, one table of option combinations
per registry optimizer, times the two dtypes. See ``tests/reference.py`` for
the reference implementations.

Tolerances (relative to the largest |value| of the array compared):

* reference, float64: 1e-12. The kernels use only the "nsz" and "afn"
  fast-math flags (no reassociation, FMA contraction or reciprocals, so that
  every copy of a loop rounds alike) but multiply by a few precomputed
  reciprocals where the references divide (Adam's 1/sqrt(bias_correction2),
  NAdam's 1/bias_correction2). Seen: 2.2e-16 at worst (RAdam).
* reference, float32: 1e-5, i.e. ~100 float32 ulps: 30 steps of a few
  roundings each, where fastopt and NumPy round at different places (those
  reciprocals, float64 vs float32 products of the per-tensor scalars).
  Seen: 7.5e-7 at worst (NAdam).
* torch, float64: 1e-10 over 50 steps, the contract of DESIGN.md. Seen: 3.7e-14
  (centered RMSprop, whose sqrt(E[g^2] - E[g]^2) cancels).
* torch, float32: 2e-5 over 50 steps (same reasoning, more steps; torch's own
  kernels use FMA). Seen: 8.5e-6 for centered RMSprop, <= 1e-6 elsewhere.

The property tests at the end compare single steps; see the note there.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastopt
from fastopt import _validation as v
from fastopt._config import PRANGE_MIN
from fastopt._kernels import quiet_twin_compiles
from fastopt._optimizer import _FRESH, _FirstQuiet, _Timed, fresh_arguments
from fastopt._kernels._powers import is_state as is_bias_power
from fastopt.registry import REGISTRY

import reference as ref

NAMES = list(REGISTRY)
DTYPES = [np.float32, np.float64]

# Option combinations per optimizer: every option on its own, and together.
# ``lr`` is raised above some defaults so that the parameters move visibly.
OPTIONS: dict[str, list[dict]] = {
    "sgd": [
        {},
        {"lr": 0.05, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        {"lr": 0.05, "weight_decay": 0.1},
        {"lr": 0.02, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.05, "maximize": True},
        {"lr": 0.02, "momentum": 0.7, "nesterov": True, "weight_decay": 0.05, "maximize": True},
    ],
    "adagrad": [
        {},
        {"lr": 0.1, "lr_decay": 0.05},
        {"initial_accumulator_value": 0.5},
        {"weight_decay": 0.1, "eps": 1e-3},
        {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05,
         "maximize": True},
    ],
    "adadelta": [
        {},
        {"rho": 0.5, "eps": 1e-4},
        {"lr": 0.5, "weight_decay": 0.1},
        {"rho": 0.95, "weight_decay": 0.05, "maximize": True},
    ],
    "rmsprop": [
        {},
        {"centered": True},
        {"momentum": 0.9},
        {"centered": True, "momentum": 0.5},
        {"alpha": 0.3, "centered": True, "eps": 1e-4},  # torch's other lerp branch
        {"weight_decay": 0.1, "maximize": True},
        {"lr": 1e-3, "alpha": 0.9, "momentum": 0.3, "centered": True, "weight_decay": 0.05,
         "maximize": True},
    ],
    "adam": [
        {},
        {"lr": 1e-2, "amsgrad": True},
        {"lr": 1e-2, "weight_decay": 0.1},
        {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 1e-2, "betas": (0.3, 0.6), "eps": 1e-3},
        {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True,
         "maximize": True},
    ],
    "adamw": [
        {},
        {"lr": 1e-2, "amsgrad": True},
        {"lr": 1e-2, "weight_decay": 0.0},
        {"lr": 1e-2, "betas": (0.5, 0.9), "eps": 1e-4, "weight_decay": 0.3, "amsgrad": True,
         "maximize": True},
    ],
    "adamax": [
        {},
        {"weight_decay": 0.1},
        {"betas": (0.2, 0.5), "eps": 1e-3},
        {"lr": 1e-2, "weight_decay": 0.05, "maximize": True},
    ],
    "nadam": [
        {},
        {"lr": 1e-2, "momentum_decay": 0.1},
        {"lr": 1e-2, "weight_decay": 0.1},
        {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 1e-2, "betas": (0.4, 0.8), "eps": 1e-3, "momentum_decay": 0.0, "maximize": True},
        {"lr": 1e-2, "weight_decay": 0.05, "decoupled_weight_decay": True, "maximize": True},
    ],
    "radam": [
        {},  # rho_t > 5 from step 6 on: both branches
        {"lr": 1e-2, "betas": (0.9, 0.5)},  # rho_inf = 3: never rectified
        {"lr": 1e-2, "betas": (0.8, 0.9), "eps": 1e-3},  # rho_inf = 19: rectified from step 7
        {"lr": 1e-2, "weight_decay": 0.1},
        {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 1e-2, "weight_decay": 0.05, "decoupled_weight_decay": True, "maximize": True},
    ],
    "rprop": [
        {},
        {"etas": (0.3, 1.5)},
        {"lr": 0.05, "step_sizes": (1e-3, 0.08)},
        {"lr": 0.02, "etas": (0.7, 1.1), "step_sizes": (0.0, 0.05), "maximize": True},
    ],
    "asgd": [
        {},
        {"t0": 10.0},  # averaging starts within the run
        {"t0": 0.0, "lambd": 0.01, "alpha": 0.5},
        {"lr": 0.05, "lambd": 0.1, "alpha": 1.0, "t0": 5.0, "weight_decay": 0.1, "maximize": True},
    ],
    "lion": [
        {},
        {"lr": 1e-3, "weight_decay": 0.1},
        {"lr": 1e-3, "betas": (0.5, 0.8)},
        {"lr": 1e-3, "betas": (0.95, 0.98), "weight_decay": 0.05, "maximize": True},
    ],
}

CASES = [(name, opts) for name in NAMES for opts in OPTIONS[name]]


def _case_id(case) -> str:
    name, opts = case
    parts = [name] + [f"{k}={val}" for k, val in opts.items()]
    return "-".join(parts).replace(" ", "")


CASE_IDS = [_case_id(c) for c in CASES]
REF_RTOL = {np.float32: 1e-5, np.float64: 1e-12}
TORCH_RTOL = {np.float32: 2e-5, np.float64: 1e-10}


# -- a problem whose gradient depends on the parameters --------------------------


class Problem:
    """``g_i = A_i p_i + noise_i(t)`` per tensor, computed in the tensor's dtype.

    ``A_i`` is symmetric positive definite: dense for small tensors, a
    diagonal plus nearest-neighbour coupling for large ones.
    """

    def __init__(self, shapes, dtype, steps, seed=0):
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.shapes = [tuple(s) for s in shapes]
        self.init = [rng.standard_normal(s).astype(dtype) for s in self.shapes]
        self.ops = []
        for s in self.shapes:
            n = math.prod(s)
            if n <= 256:
                m = rng.standard_normal((n, n)) / math.sqrt(n)
                self.ops.append(("dense", (m @ m.T + 0.5 * np.eye(n)).astype(dtype)))
            else:
                self.ops.append(("band", rng.uniform(0.5, 1.5, n).astype(dtype)))
        self.noise = [[(0.5 * rng.standard_normal(s)).astype(dtype) for s in self.shapes]
                      for _ in range(steps)]

    def params(self):
        return [p.copy() for p in self.init]

    def grads(self, params, t):
        out = []
        for (kind, a), p, z in zip(self.ops, params, self.noise[t]):
            x = p.reshape(-1)
            if kind == "dense":
                g = a @ x
            else:
                g = a * x + self.dtype.type(0.25) * (np.roll(x, 1) + np.roll(x, -1))
            out.append(np.array(g.reshape(p.shape) + z, dtype=self.dtype, order="C"))
        return out


def make(name, params, **opts):
    return getattr(fastopt, REGISTRY[name].class_name)(params, **opts)


def rel_err(actual, expected) -> float:
    """max |actual - expected| / max |expected| (0 when both are all zeros)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.max(np.abs(expected), initial=0.0)
    diff = np.max(np.abs(actual - expected), initial=0.0)
    if diff == 0:
        return 0.0
    return diff / scale if scale > 0 else math.inf


def assert_close(actual, expected, rtol, what):
    err = rel_err(actual, expected)
    assert err <= rtol, f"{what}: relative deviation {err:.3g} > {rtol:g}"


def run_against_reference(name, opts, dtype, shapes, steps, seed=0):
    """Run fastopt and the reference side by side, each on its own trajectory."""
    prob = Problem(shapes, dtype, steps, seed)
    ps, rs = prob.params(), prob.params()
    opt = make(name, ps, **opts)
    states = [{} for _ in rs]
    for t in range(steps):
        opt.step(prob.grads(ps, t))
        ref.reference_step(name, rs, prob.grads(rs, t), states, opts)
    return opt, ps, rs, states


def assert_matches_reference(name, opts, dtype, shapes, steps, rtol=None, seed=0):
    rtol = REF_RTOL[dtype] if rtol is None else rtol
    opt, ps, rs, states = run_against_reference(name, opts, dtype, shapes, steps, seed)
    fstate = opt.state
    for i, (p, r) in enumerate(zip(ps, rs)):
        assert p.dtype == dtype and p.shape == r.shape
        assert_close(p, r, rtol, f"params[{i}]")
        for key, expected in states[i].items():
            got = fstate[i][key]
            if key == "step":
                assert got == expected
            else:
                assert_close(got, expected, rtol, f"state[{i}][{key!r}]")


# -- the table covers the registry ----------------------------------------------


def test_options_table_covers_registry():
    assert set(OPTIONS) == set(REGISTRY) == set(ref.REFERENCES)
    for name, combos in OPTIONS.items():
        used = {k for opts in combos for k in opts}
        hypers = {h.name for h in REGISTRY[name].hypers}
        assert used <= hypers, (name, used - hypers)
        # every hyperparameter except lr is exercised away from its default
        assert hypers - {"lr"} <= used, (name, hypers - {"lr"} - used)


@pytest.mark.parametrize("name", NAMES)
def test_registry_defaults(name):
    spec = REGISTRY[name]
    assert spec.defaults == ref.hyper_defaults(name)
    cls = getattr(fastopt, spec.class_name)
    sig = inspect.signature(cls.__init__)
    assert [p for p in sig.parameters if p not in ("self", "params")] == [h.name for h in spec.hypers]
    for h in spec.hypers:
        assert sig.parameters[h.name].default == h.default


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].torch])
def test_defaults_match_torch(name):
    torch = pytest.importorskip("torch")
    spec = REGISTRY[name]
    sig = inspect.signature(getattr(torch.optim, spec.torch).__init__)
    for h in spec.hypers:
        assert sig.parameters[h.name].default == h.default, h.name
    # the positional arguments come in torch's order
    torch_order = [p for p in sig.parameters if p in spec.defaults]
    assert torch_order == [h.name for h in spec.hypers]


# -- fastopt == NumPy reference ------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,opts", CASES, ids=CASE_IDS)
def test_matches_reference(name, opts, dtype):
    assert_matches_reference(name, opts, dtype, [(7,), (3, 4)], steps=30)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_multi_tensor_and_parallel_threshold(name, dtype):
    """0-d, 1-, 2- and 3-D tensors and sizes on both sides of the kernels' prange threshold
    (above it the 8 steps run the serial twin and the prange kernel in turns: ``_Timed``)."""
    opts = OPTIONS[name][-1]
    shapes = [(), (5,), (3, 4), (2, 3, 4), (PRANGE_MIN - 1,), (PRANGE_MIN + 7,)]
    assert_matches_reference(name, opts, dtype, shapes, steps=8)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,opts", CASES, ids=CASE_IDS)
def test_serial_twin_gives_the_kernels_bits(name, opts, dtype):
    """``spec.serial_kernel`` (what compiled loops call) == ``spec.kernel``, bit for bit.

    Sizes: one element, a vector body plus a scalar remainder, and above
    the prange threshold, where the kernel runs its prange copy of the loop.
    """
    spec = REGISTRY[name]
    for n in (1, 1003, PRANGE_MIN + 5):
        runs = []
        for kernel in (spec.kernel, spec.serial_kernel):
            rng = np.random.default_rng(n)
            p = rng.standard_normal(n).astype(dtype)
            s, c, h = getattr(fastopt, spec.class_name)(p, **opts)._kernel_arguments()
            for t in range(1, 7):
                g = rng.standard_normal(n).astype(dtype)
                g[::3] *= -1.0 if t % 2 else 1.0  # sign changes, for Rprop and Lion
                with quiet_twin_compiles():
                    kernel(p, g, s, c, h, float(t))
            runs.append((p, s, c))
        for a, b in zip(*runs):
            assert a.dtype == b.dtype and np.array_equal(a, b), f"n={n}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_timed_steps_give_the_serial_bits_and_settle(name, dtype):
    """From PRANGE_MIN elements a class's first steps run the serial twin and the
    prange kernel in alternate pairs (``_Timed``); then the entry keeps one of
    them. Every step, through either, gives the serial twin's bits."""
    spec = REGISTRY[name]
    opts = OPTIONS[name][-1]
    n = PRANGE_MIN + 5
    probing = 4 * _Timed.ROUNDS
    rng = np.random.default_rng(3)
    p = rng.standard_normal(n).astype(dtype)
    q = p.copy()
    opt = getattr(fastopt, spec.class_name)(p, **opts)
    s, c, h = getattr(fastopt, spec.class_name)(q, **opts)._kernel_arguments()
    entry = opt._flat[0][0]
    for t in range(1, probing + 4):
        assert isinstance(entry.kernel, _Timed) == (t <= probing), t
        g = rng.standard_normal(n).astype(dtype)
        g[::3] *= -1.0 if t % 2 else 1.0  # sign changes, for Rprop and Lion
        opt.step(g)
        with quiet_twin_compiles():
            spec.serial_kernel(q, g, s, c, h, float(t))
        assert np.array_equal(p, q), t
    assert entry.kernel is spec.kernel or entry.kernel is spec.serial_kernel
    state = opt.state[0]
    for r, slot in enumerate(spec.slots[: s.shape[0]]):
        assert np.array_equal(state[slot].reshape(-1), s[r]), slot


@pytest.mark.parametrize("serial_ns,parallel_ns,kept", [(10, 7, 1), (7, 10, 0), (5, 5, 0)])
def test_timed_keeps_the_faster_by_median(monkeypatch, serial_ns, parallel_ns, kept):
    """Pairs of calls, serial twin and prange kernel in turn, the second of each pair
    timed (the first compiles, starts threads, moves data); after ROUNDS pairs of
    each, the smaller median wins, the serial twin on a tie. A fake clock that each
    fake kernel advances by its cost, times 100 for one timed call of each (an
    outlier)."""
    import fastopt._optimizer as o

    clock = [0]
    calls = []

    def fake(cost, label):
        def kernel(*args):
            calls.append(label)
            clock[0] += cost * (100 if len(calls) in (2, 4) else 1)
        return kernel

    monkeypatch.setattr(o, "perf_counter_ns", lambda: clock[0])

    class Entry:
        kernel = None

    entry = Entry()
    kernels = (fake(serial_ns, "serial"), fake(parallel_ns, "parallel"))
    timed = entry.kernel = _Timed(entry, *kernels)
    for _ in range(4 * _Timed.ROUNDS):
        assert entry.kernel is timed
        entry.kernel(None, None, None, None, None, 1.0)
    assert calls == ["serial", "serial", "parallel", "parallel"] * _Timed.ROUNDS
    assert entry.kernel is kernels[kept]


@pytest.mark.parametrize("name, hyper", [(n, {}) for n in sorted(REGISTRY)]
                         + [("adam", {"amsgrad": True}), ("sgd", {"momentum": 0.9})])
def test_serial_twin_updates_no_reference_counts(name, hyper):
    """A serial twin (what the optimizer classes step small arrays with, and what
    compiled loops inline) takes no references of its arrays that LLVM keeps:
    Adam's AMSGrad loop as a call of its own function, or SGD's scalar state
    last used in a branch, cost six and ten atomic updates a step (Adam at
    n = 2: 66 against 23 ns). A fresh dispatcher: its IR compiles here."""
    from numba import njit

    from conftest import refcount_updates
    from fastopt._config import SERIAL_OPTIONS

    spec = REGISTRY[name]
    twin = njit(**{**SERIAL_OPTIONS, "cache": False})(spec.serial_kernel.py_func)
    x = np.ones(5)
    slots, scalars, h = fresh_arguments(getattr(fastopt, spec.class_name), x, hyper)
    with quiet_twin_compiles():
        twin(x, np.full(5, 0.5), slots, scalars, h, 1.0)
    assert refcount_updates(twin) == {}


def test_timed_only_between_prange_min_and_tune_max(monkeypatch):
    """Below PRANGE_MIN the kernel runs serially anyway: those entries step with
    the serial twin (after a first step under the warning filter). From TUNE_MAX
    the prange copy wins wherever we measured, and FASTOPT_PARALLEL_MIN (TUNE
    off) fixes the threshold: those entries step with the kernel from the start."""
    import fastopt._config as config

    spec = REGISTRY["adam"]
    small = fastopt.Adam(np.zeros(PRANGE_MIN - 1))
    entry = small._flat[0][0]
    assert isinstance(entry.kernel, _FirstQuiet) and entry.kernel.kernel is spec.serial_kernel
    small.step(np.ones(PRANGE_MIN - 1))
    assert entry.kernel is spec.serial_kernel
    for n, timed in [(PRANGE_MIN, True), (config.TUNE_MAX - 1, True), (config.TUNE_MAX, False)]:
        entry = fastopt.Adam(np.zeros(n))._flat[0][0]
        assert isinstance(entry.kernel, _Timed) == timed and (timed or entry.kernel is spec.kernel)
    monkeypatch.setattr(config, "TUNE", False)
    assert fastopt.Adam(np.zeros(PRANGE_MIN))._flat[0][0].kernel is spec.kernel
    assert fastopt.Adam(np.zeros(PRANGE_MIN - 1))._flat[0][0].kernel.kernel is spec.serial_kernel


def test_parallel_min_variable_fixes_every_threshold():
    """FASTOPT_PARALLEL_MIN set: one threshold for the kernels, the compiled loops and
    both dtypes, and no timing; unset: the defaults, with timing."""
    import subprocess
    import sys

    code = ("from fastopt import _config as c; "
            "print(c.TUNE, c.PRANGE_MIN, c.PARALLEL_MIN, c.PARALLEL_MIN_F64)")
    env = {k: val for k, val in os.environ.items() if k != "FASTOPT_PARALLEL_MIN"}
    for setting, expected in [("5000", "False 5000 5000 5000"), (None, "True 4096 65536 32768")]:
        run_env = env if setting is None else dict(env, FASTOPT_PARALLEL_MIN=setting)
        out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert " ".join(out) == expected, setting


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,opts", CASES, ids=CASE_IDS)
def test_fresh_arguments_are_the_classes(name, opts, dtype):
    """``fresh_arguments`` (minimize's setup) == ``cls(x, **opts)._kernel_arguments()``:
    built by the class on the first call, copied on the next ones, at any size."""
    cls = getattr(fastopt, REGISTRY[name].class_name)
    opts = dict(opts, lr=0.05)  # minimize always passes lr
    _FRESH.clear()
    for n in (3, 1, 7):  # a miss, then hits at other sizes
        x = np.linspace(-1.0, 1.0, n).astype(dtype)
        got = fresh_arguments(cls, x, dict(opts))
        want = cls(x.copy(), **opts)._kernel_arguments()
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True), n
    assert len(_FRESH) == 1
    got[2][0] = -1.0  # a copy: editing one run's h leaves the next run's alone
    assert fresh_arguments(cls, x, dict(opts))[2][0] == 0.05


def test_fresh_arguments_tell_apart_what_validation_does():
    """A cached setup never stands in for arguments the class would treat differently."""
    x = np.ones(3)
    _FRESH.clear()
    fresh_arguments(fastopt.Adam, x, {"lr": 0.1, "amsgrad": True})
    with pytest.raises(TypeError, match="amsgrad"):  # 1 == True, but not a bool
        fresh_arguments(fastopt.Adam, x, {"lr": 0.1, "amsgrad": 1})
    with pytest.raises(ValueError, match="lr"):
        fresh_arguments(fastopt.Adam, x, {"lr": -0.1})
    fresh_arguments(fastopt.Adam, x, {"lr": 0.0})
    assert np.signbit(fresh_arguments(fastopt.Adam, x, {"lr": -0.0})[2][0])  # not 0.0's setup
    fresh_arguments(fastopt.Adam, x, {"lr": 0.1, "betas": [0.5, 0.6]})  # a list: no cache
    assert len(_FRESH) == 2
    f32 = fresh_arguments(fastopt.Adam, x.astype(np.float32), {"lr": 0.1, "amsgrad": True})
    assert f32[0].dtype == np.float32 and len(_FRESH) == 3


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    spec = REGISTRY[name]
    opts = dict(OPTIONS[name][-1])
    # switch on every state slot
    opts.update({k: val for k, val in {"amsgrad": True, "centered": True, "momentum": 0.5}.items()
                 if k in spec.defaults})
    if name == "sgd":
        opts.update(nesterov=False, dampening=0.0)
    prob = Problem([(4,), (2, 3)], np.float32, 5)
    ps = prob.params()
    opt = make(name, ps, **opts)
    for t in range(5):
        opt.step(prob.grads(ps, t))
    for p in ps:
        assert p.dtype == np.float32
    for i, st_ in opt.state.items():
        arrays = {k: x for k, x in st_.items() if isinstance(x, np.ndarray)}
        assert set(arrays) == set(spec.slots[: spec.slot_count(spec.defaults | opts)])
        for k, x in arrays.items():
            assert x.dtype == np.float32, (i, k)
            assert x.shape == ps[i].shape
        for k, x in st_.items():
            # per-tensor scalars: float32 values, as torch keeps them; but not the
            # bias powers, which torch computes in Python floats (float64) each step
            if isinstance(x, float) and not is_bias_power(k):
                assert float(np.float32(x)) == x, (i, k)
    for k, x in opt.state_dict().items():
        if isinstance(x, np.ndarray) and k.startswith("state."):
            assert x.dtype == np.float32, k
    # the kernel was compiled for float32 arrays, not handed a float64 copy
    f32 = [sig for sig in spec.kernel.signatures if str(sig[0].dtype) == "float32"]
    assert f32 and all(str(a.dtype) == "float32" for a in f32[0][:3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nadam_mu_product_rounds_as_torch(dtype):
    """torch multiplies mu_product, a tensor of the default dtype, by mu cast to that
    dtype: 200 steps give torch's mu_product bit for bit at every step."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p = rng.standard_normal(5).astype(dtype)
    with torch_default_dtype(torch, dtype):
        tp = torch.tensor(p.copy(), requires_grad=True)
        opt, topt = fastopt.NAdam(p, lr=1e-2), torch.optim.NAdam([tp], lr=1e-2)
        for _ in range(200):
            g = rng.standard_normal(5).astype(dtype)
            opt.step(g)
            tp.grad = torch.tensor(g)
            topt.step()
            assert opt.state[0]["mu_product"] == topt.state[tp]["mu_product"].item()
    # fastopt multiplies by 1 / bias_correction2 where torch divides: an ulp at times
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-13 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("name", ["sgd", "rmsprop"])
def test_tiny_momentum_keeps_buffer(name):
    """torch tests ``momentum != 0`` / ``> 0`` on the Python float, then multiplies in float32."""
    prob = Problem([(4,)], np.float32, 4)
    ps, rs = prob.params(), prob.params()
    opt = make(name, ps, lr=0.01, momentum=1e-50)
    states = [{}]
    h = {"lr": 0.01, "momentum": 1e-50}
    for t in range(4):
        if t == 2:  # a buffer that was never filled shows once momentum is raised
            opt.param_groups[0]["momentum"] = h["momentum"] = 0.9
        opt.step(prob.grads(ps, t))
        ref.reference_step(name, rs, prob.grads(rs, t), states, h)
    assert_close(opt.state[0]["momentum_buffer"], states[0]["momentum_buffer"], 1e-5, "buffer")
    assert_close(ps[0], rs[0], 1e-5, "params")


# -- fastopt == torch.optim ----------------------------------------------------


@contextlib.contextmanager
def torch_default_dtype(torch, dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


TORCH_CASES = [(n, o) for n, o in CASES if REGISTRY[n].torch]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,opts", TORCH_CASES, ids=[_case_id(c) for c in TORCH_CASES])
def test_matches_torch(name, opts, dtype):
    """50 steps fed the same gradients (those of fastopt's own trajectory)."""
    torch = pytest.importorskip("torch")
    steps = 50
    rtol = TORCH_RTOL[dtype]
    prob = Problem([(7,), (3, 4), ()], dtype, steps)
    ps = prob.params()
    opt = make(name, ps, **opts)
    with torch_default_dtype(torch, dtype):
        tps = [torch.tensor(p.copy(), requires_grad=True) for p in prob.init]
        topt = getattr(torch.optim, REGISTRY[name].torch)(tps, foreach=False, **opts)
        for t in range(steps):
            gs = prob.grads(ps, t)
            opt.step(gs)
            for tp, g in zip(tps, gs):
                tp.grad = torch.from_numpy(g.copy())
            topt.step()
        for i, (p, tp) in enumerate(zip(ps, tps)):
            tp = tp.detach().numpy()
            assert tp.dtype == p.dtype
            assert_close(p, tp, rtol, f"params[{i}]")
            tstate = topt.state[topt.param_groups[0]["params"][i]]
            fstate = opt.state[i]
            # fastopt names its state as torch does
            assert {k for k, x in tstate.items() if x is not None} <= set(fstate)
            for key in set(tstate) & set(fstate):
                x = tstate[key]
                if x is None:
                    continue
                x = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
                if key == "step":
                    assert fstate[key] == x
                else:
                    assert_close(fstate[key], x, rtol, f"state[{i}][{key!r}]")


LION_CASES = [opts for opts in OPTIONS["lion"]]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("opts", LION_CASES, ids=[_case_id(("lion", o)) for o in LION_CASES])
def test_lion_matches_optax(opts, dtype):
    pytest.importorskip("optax")
    import jax
    import jax.numpy as jnp
    import optax

    steps = 50
    h = ref.hyper_defaults("lion") | opts
    prob = Problem([(7,), (3, 4)], dtype, steps)
    ps = prob.params()
    opt = make("lion", ps, **opts)
    old_x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        b1, b2 = h["betas"]
        # optax's default weight_decay is 1e-3, fastopt's (and torch's) 0: pass it.
        tx = optax.lion(h["lr"], b1=b1, b2=b2, weight_decay=h["weight_decay"])
        jps = [jnp.asarray(p.copy()) for p in prob.init]
        state = tx.init(jps)
        sign = -1 if h["maximize"] else 1
        for t in range(steps):
            gs = prob.grads(ps, t)
            opt.step(gs)
            updates, state = tx.update([jnp.asarray(sign * g) for g in gs], state, jps)
            jps = optax.apply_updates(jps, updates)
        for i, (p, jp) in enumerate(zip(ps, jps)):
            jp = np.asarray(jp)
            assert jp.dtype == p.dtype
            assert_close(p, jp, TORCH_RTOL[dtype], f"params[{i}]")
        mu = state[0].mu
        for i in range(len(ps)):
            assert_close(opt.state[i]["mu"], np.asarray(mu[i]), TORCH_RTOL[dtype], "mu")
    finally:
        jax.config.update("jax_enable_x64", old_x64)


# -- property tests ------------------------------------------------------------
#
# Random shapes and hyperparameters anywhere in their valid ranges. Parts of
# those ranges are ill-conditioned: Adam with beta2 = 0 divides by |g|,
# coupled weight decay can cancel the gradient, centered RMSprop subtracts two
# nearly equal averages... There, two correct implementations that round
# differently (fastopt uses FMA and reassociation) disagree by far more than an
# ulp, and a trajectory run separately by each diverges. So these tests compare
# ONE step at a time -- every step starts from fastopt's parameters and state
# and takes the same gradient -- and measure errors against the reference run
# in a wider dtype (float32 -> float64, float64 -> long double). The allowed
# error is STEP_C times the largest error of the NumPy reference itself, run on
# the exact inputs and on STEP_DRAWS copies whose inputs (parameters, state
# arrays, gradient) are randomly perturbed by up to STEP_ULPS ulps -- a measure
# of how much a few roundings anywhere in the step can move its result, i.e.
# of the step's conditioning -- plus STEP_K ulps of the array's largest
# magnitude before or after the step. So fastopt may round differently from
# NumPy, but not be much less accurate on any step. (Where the step is well
# conditioned the bound is a few ulps: a relative slip of 1e-9 in a float64
# coefficient fails.)

WIDE = {np.float32: np.float64, np.float64: np.longdouble}
STEP_C, STEP_K, STEP_ULPS, STEP_DRAWS = 4.0, 8.0, 4.0, 3


def _valid(h, draw):
    """A value drawn from the valid range of hyperparameter ``h`` (sensible magnitudes)."""
    fl = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
    check, name = h.check, h.name
    if check is v.flag:
        return draw(st.booleans())
    if check is v.learning_rate:
        return draw(fl(0.0, 0.1))
    if check is v.positive:  # eps
        return draw(st.sampled_from([1e-10, 1e-8, 1e-6, 1e-3, 0.1]))
    if check is v.unit_interval:
        return draw(fl(0.0, 1.0))
    if check is v.betas:
        return (draw(fl(0.0, 0.999)), draw(fl(0.0, 0.9999)))
    if check is v.unit_pair:
        return (draw(fl(0.0, 1.0)), draw(fl(0.0, 1.0)))
    if check is v.etas:
        return (draw(fl(0.05, 0.95)), draw(fl(1.05, 3.0)))
    if check is v.step_sizes:
        lo = draw(fl(0.0, 1e-2))
        return (lo, draw(fl(lo, 10.0)))
    if check is v.nonneg:
        hi = {"t0": 20.0, "alpha": 2.0, "momentum_decay": 0.1, "lambd": 0.1,
              "initial_accumulator_value": 2.0, "lr_decay": 0.5, "momentum": 0.99}.get(name, 1.0)
        if name == "momentum":
            # 0, or large enough not to round to 0 in float32 (that corner is
            # test_tiny_momentum_keeps_buffer below).
            return draw(st.one_of(st.just(0.0), fl(1e-6, hi)))
        return draw(fl(0.0, hi))
    raise AssertionError(f"no strategy for {name} ({check})")


@st.composite
def hyperparameters(draw, name):
    spec = REGISTRY[name]
    out = {h.name: _valid(h, draw) for h in spec.hypers}
    if name == "sgd" and out["nesterov"]:
        out["momentum"] = max(out["momentum"], 0.1)
        out["dampening"] = 0.0
    if name == "rmsprop" and out["centered"]:
        # sqrt(E[g^2] - E[g]^2) is pure rounding noise when alpha is near 0
        # (at alpha = 0 it is sqrt(g*g - g*g): torch itself returns NaN there).
        out["alpha"] = max(out["alpha"], 0.05)
    return out


@st.composite
def shapes(draw):
    # Now and then a size across the prange threshold (test_multi_tensor_and_parallel_threshold
    # covers it systematically; these sizes are slow in long double).
    if draw(st.sampled_from([False] * 24 + [True])):
        return (draw(st.sampled_from([PRANGE_MIN - 1, PRANGE_MIN, PRANGE_MIN + 3])),)
    ndim = draw(st.integers(1, 3))
    dims = []
    for _ in range(ndim):
        room = 200 // max(1, math.prod(dims))
        dims.append(draw(st.integers(1, max(1, room))))
    return tuple(dims)


def _sync(opt, rs, states):
    """Copy fastopt's parameters and state into the reference's."""
    skip = {"momentum_buffer_started"} | ({"step"} if opt.spec.name == "sgd" else set())
    for i, r in enumerate(rs):
        r[...] = opt.param_groups[0]["params"][i]
        st_ = opt.state.get(i)
        if st_ is None:
            states[i] = {}
            continue
        states[i] = {k: (x.copy() if isinstance(x, np.ndarray) else
                         (x if k == "step" else r.dtype.type(x)))
                     for k, x in st_.items() if k not in skip and not is_bias_power(k)}


def _copies(rs, states, gs, dtype, rng=None):
    """Copies of a step's inputs in ``dtype``; with ``rng``, every array entry
    perturbed by up to STEP_ULPS ulps (of the inputs' own dtype)."""
    eps = np.finfo(rs[0].dtype).eps

    def cast(x):
        x = np.asarray(x)
        if rng is not None and x.ndim:
            x = x * (1 + STEP_ULPS * eps * rng.uniform(-1, 1, x.shape))
        x = x.astype(dtype)
        return x if x.ndim else x[()]

    return ([cast(r) for r in rs], [cast(g) for g in gs],
            [{k: (x if k == "step" else (cast(x) if isinstance(x, np.ndarray) else dtype(x)))
              for k, x in s_.items()} for s_ in states])


def _in_range(arrays, dtype) -> bool:
    """All values finite and below sqrt(max) of ``dtype``, so that squares do not overflow."""
    limit = math.sqrt(np.finfo(dtype).max)
    return all(np.all(np.abs(np.asarray(x)) < limit) for x in arrays)


def _outputs(ps, states):
    out = {}
    for i, p in enumerate(ps):
        out[f"params[{i}]"] = p
        for key, x in states[i].items():
            if key != "step":
                out[f"state[{i}][{key!r}]"] = x
    return out


def _check_step(what, fast, narrow, wide, perturbed, before, dtype):
    w = WIDE[dtype]
    fast, narrow, wide, before = (np.asarray(x).astype(w) for x in (fast, narrow, wide, before))
    err_fast = np.max(np.abs(fast - wide), initial=0.0)
    err_ref = np.max(np.abs(narrow - wide), initial=0.0)
    err_pert = max((np.max(np.abs(np.asarray(x).astype(w) - wide), initial=0.0)
                    for x in perturbed), default=0.0)
    scale = max(np.max(np.abs(wide), initial=0.0), np.max(np.abs(before), initial=0.0))
    bound = STEP_C * max(err_ref, err_pert) + STEP_K * np.finfo(dtype).eps * scale
    assert err_fast <= bound, (
        f"{what}: fastopt is off by {float(err_fast):.3g}; the NumPy reference by "
        f"{float(err_ref):.3g} ({float(err_pert):.3g} with perturbed inputs), "
        f"scale {float(scale):.3g}")


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_matches_reference(name, data):
    h = data.draw(hyperparameters(name), label="hyper")
    shape_list = data.draw(st.lists(shapes(), min_size=1, max_size=3), label="shapes")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    steps, draws = 5, STEP_DRAWS
    rng = np.random.default_rng(seed)
    prob = Problem(shape_list, dtype, steps, seed)
    ps, rs = prob.params(), prob.params()
    opt = make(name, ps, **h)
    states = [{} for _ in ps]
    for t in range(steps):
        _sync(opt, rs, states)
        before = _outputs(rs, states)
        before = {k: x.copy() if isinstance(x, np.ndarray) else x for k, x in before.items()}
        gs = prob.grads(ps, t)
        runs = [_copies(rs, states, gs, WIDE[dtype])]
        runs += [_copies(rs, states, gs, dtype, rng) for _ in range(draws)]
        for rps, rgs, rstates in runs:
            ref.reference_step(name, rps, rgs, rstates, h)
        opt.step(gs)
        ref.reference_step(name, rs, [g.copy() for g in gs], states, h)
        fast = _outputs(ps, opt.state)
        narrow = _outputs(rs, states)
        wide = [_outputs(rps, rstates) for rps, _, rstates in runs]
        if not _in_range([*wide[0].values(), *before.values(), *gs], dtype):
            break  # a diverging run (lr * g / eps ...) nears overflow: rounding is moot there
        for i, p in enumerate(ps):
            assert p.dtype == dtype
            assert opt.state[i]["step"] == states[i].get("step", t + 1)
        for key in narrow:
            _check_step(f"step {t + 1}: {key}", fast[key], narrow[key], wide[0][key],
                        [w[key] for w in wide[1:]], before.get(key, 0.0), dtype)
