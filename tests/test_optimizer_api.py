"""The optimizers' API: param groups, state_dict round trips, bad input, lazy compilation.

Driven by the registry wherever possible: every optimizer, every hyperparameter.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastopt
from fastopt import _validation as v
from fastopt.registry import REGISTRY

import reference as ref
from test_optimizers import OPTIONS, REF_RTOL, Problem, assert_close, make

NAMES = list(REGISTRY)
ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = pathlib.Path(__file__).resolve().parent
NAN, INF = math.nan, math.inf


def run_python(code: str, timeout: float = 240) -> str:
    """Run ``code`` in a fresh interpreter (repo and tests on the path); return its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def snapshot(opt, params) -> dict:
    """Everything a rejected call must leave untouched: parameters and state_dict."""
    out = {f"param{i}": p.copy() for i, p in enumerate(params)}
    for k, x in opt.state_dict().items():
        out[k] = x.copy() if isinstance(x, np.ndarray) else x
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), k
        else:
            assert type(x) is type(y) and (x == y or (x != x and y != y)), (k, x, y)


# -- param groups -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_per_group_hyperparameters(name):
    """Group overrides take effect per group; other keys come from the constructor."""
    ctor = dict(OPTIONS[name][1])
    override = dict(OPTIONS[name][-1])
    override["lr"] = 0.5 * override.get("lr", REGISTRY[name].defaults["lr"])
    prob = Problem([(4,), (2, 3), (5,)], np.float64, 12)
    ps, rs = prob.params(), prob.params()
    opt = make(name, [{"params": ps[:1]}, {"params": ps[1:], **override}], **ctor)
    assert opt.param_groups[0]["lr"] == ctor.get("lr", REGISTRY[name].defaults["lr"])
    assert opt.param_groups[1]["lr"] == override["lr"]
    states = [{} for _ in rs]
    for t in range(12):
        opt.step(prob.grads(ps, t))
        g = prob.grads(rs, t)
        ref.reference_step(name, rs[:1], g[:1], states[:1], ctor)
        ref.reference_step(name, rs[1:], g[1:], states[1:], {**ctor, **override})
    for i, (p, r) in enumerate(zip(ps, rs)):
        assert_close(p, r, REF_RTOL[np.float64], f"params[{i}]")


@pytest.mark.parametrize("name", NAMES)
def test_edited_lr_applies_at_next_step(name):
    opts = dict(OPTIONS[name][-1])
    lr0 = opts.get("lr", REGISTRY[name].defaults["lr"])
    prob = Problem([(6,), (2, 2)], np.float64, 10)
    ps, rs = prob.params(), prob.params()
    opt = make(name, ps, **opts)
    states = [{} for _ in rs]
    h = dict(opts)
    for t in range(10):
        if t == 5:
            opt.param_groups[0]["lr"] = 3 * lr0
            h["lr"] = 3 * lr0  # Rprop reads lr only to start its step sizes, as torch does
        opt.step(prob.grads(ps, t))
        ref.reference_step(name, rs, prob.grads(rs, t), states, h)
        for i, (p, r) in enumerate(zip(ps, rs)):
            assert_close(p, r, REF_RTOL[np.float64], f"step {t + 1}: params[{i}]")


def test_edited_hyperparameters_match_torch():
    """Edits between steps (lr, momentum switched on, betas) as torch applies them."""
    torch = pytest.importorskip("torch")
    prob = Problem([(5,)], np.float64, 12)
    cases = [
        # SGD's momentum buffer starts (as a copy of the gradient) when momentum is switched on
        ("sgd", {"lr": 0.05}, {4: {"lr": 0.02}, 8: {"momentum": 0.9}}),
        ("adam", {"lr": 0.01}, {4: {"lr": 0.02, "weight_decay": 0.1}, 8: {"betas": (0.5, 0.9)}}),
        ("rmsprop", {"lr": 0.01, "momentum": 0.5}, {3: {"momentum": 0.0}, 6: {"momentum": 0.9}}),
    ]
    for name, kwargs, edits in cases:
        cls = REGISTRY[name].torch
        ps = prob.params()
        opt = make(name, ps, **kwargs)
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            tp = torch.tensor(prob.init[0].copy(), requires_grad=True)
            topt = getattr(torch.optim, cls)([tp], foreach=False, **kwargs)
            for t in range(12):
                for key, val in edits.get(t, {}).items():
                    opt.param_groups[0][key] = val
                    topt.param_groups[0][key] = val
                g = prob.grads(ps, t)
                opt.step(g)
                tp.grad = torch.from_numpy(g[0].copy())
                topt.step()
            assert_close(ps[0], tp.detach().numpy(), 1e-10, name)
        finally:
            torch.set_default_dtype(old)


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group(name):
    ctor = dict(OPTIONS[name][0])
    extra = dict(OPTIONS[name][-1])
    prob = Problem([(4,), (3,)], np.float64, 9)
    ps, rs = prob.params(), prob.params()
    opt = make(name, ps[:1], **ctor)
    states = [{}, {}]
    for t in range(9):
        if t == 4:
            opt.add_param_group({"params": [ps[1]], **extra})
            assert len(opt.param_groups) == 2
            assert opt.param_groups[1]["params"][0] is ps[1]
        g = prob.grads(ps, t)
        if t >= 4:
            opt.step(g)
        else:
            opt.step(g[:1])
        gr = prob.grads(rs, t)
        ref.reference_step(name, rs[:1], gr[:1], states[:1], ctor)
        if t >= 4:
            ref.reference_step(name, rs[1:], gr[1:], states[1:], {**ctor, **extra})
        else:
            rs[1][...] = ps[1]  # not optimized yet: follows fastopt's (unchanged) array
    for i, (p, r) in enumerate(zip(ps, rs)):
        assert_close(p, r, REF_RTOL[np.float64], f"params[{i}]")


def test_duplicate_params_rejected():
    p, q = np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match="more than once"):
        fastopt.SGD([p, p])
    with pytest.raises(ValueError, match="more than once"):
        fastopt.Adam([{"params": [p]}, {"params": [q, p]}])
    opt = fastopt.Adam([p])
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [q, p]})
    assert len(opt.param_groups) == 1 and len(opt.param_groups[0]["params"]) == 1
    opt.step([np.ones(3)])  # still usable, with one parameter
    with pytest.raises(ValueError, match="params"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(ValueError, match="params"):
        opt.add_param_group({"params": []})
    with pytest.raises(TypeError, match="param_group"):
        opt.add_param_group([q])
    assert len(opt.param_groups) == 1


# -- state_dict ---------------------------------------------------------------

# Run by this process AND by a fresh interpreter, so both see the same setup.
RESUME_SETUP = textwrap.dedent('''
    import numpy as np
    import fastopt
    from fastopt.registry import REGISTRY

    def setup(name, opts):
        """Two groups, mixed shapes and dtypes, the second group with its own lr."""
        rng = np.random.default_rng(11)
        params = [rng.standard_normal((3, 4)), rng.standard_normal(5),
                  rng.standard_normal(7).astype(np.float32), np.array(0.25)]
        lr = opts.get("lr", REGISTRY[name].defaults["lr"])
        groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.5 * lr}]
        opt = getattr(fastopt, REGISTRY[name].class_name)(groups, **opts)
        return params, opt

    def grads(params, t):
        out = []
        for i, p in enumerate(params):
            noise = np.random.default_rng(1000 * t + i).standard_normal(p.shape)
            out.append(np.asarray(0.8 * p + 0.3 * np.roll(p, 1) + noise, dtype=p.dtype))
        return out
''')
FIRST, SECOND = 7, 6


def _resume_options(name):
    return {k: list(x) if isinstance(x, tuple) else x for k, x in OPTIONS[name][-1].items()}


def test_state_dict_resume_in_new_process_is_bit_identical(tmp_path):
    env = {}
    exec(RESUME_SETUP, env)
    expected = {}
    for name in NAMES:
        params, opt = env["setup"](name, _resume_options(name))
        for t in range(FIRST):
            opt.step(env["grads"](params, t))
        sd = opt.state_dict()
        assert all(isinstance(x, (np.ndarray, int, float, bool, str, tuple)) for x in sd.values())
        np.savez(tmp_path / f"{name}_sd.npz", **sd)
        np.savez(tmp_path / f"{name}_params.npz", *params)
        for t in range(FIRST, FIRST + SECOND):
            opt.step(env["grads"](params, t))
        expected[name] = (params, opt.state_dict())

    script = RESUME_SETUP + textwrap.dedent(f'''
        import json
        names, opts = json.loads({json.dumps(json.dumps([NAMES, [_resume_options(n) for n in NAMES]]))})
        for name, o in zip(names, opts):
            params, opt = setup(name, o)
            saved = np.load({str(tmp_path)!r} + f"/{{name}}_params.npz")
            for i, p in enumerate(params):
                p[...] = saved[f"arr_{{i}}"]
            opt.load_state_dict(np.load({str(tmp_path)!r} + f"/{{name}}_sd.npz"))
            for t in range({FIRST}, {FIRST + SECOND}):
                opt.step(grads(params, t))
            np.savez({str(tmp_path)!r} + f"/{{name}}_out_params.npz", *params)
            np.savez({str(tmp_path)!r} + f"/{{name}}_out_sd.npz", **opt.state_dict())
        print("ok")
    ''')
    assert run_python(script).strip() == "ok"
    for name in NAMES:
        params, sd = expected[name]
        got_params = np.load(tmp_path / f"{name}_out_params.npz")
        got_sd = np.load(tmp_path / f"{name}_out_sd.npz")
        for i, p in enumerate(params):
            q = got_params[f"arr_{i}"]
            assert q.dtype == p.dtype and q.tobytes() == p.tobytes(), (name, i)
        assert set(got_sd.files) == set(sd), name
        for key, x in sd.items():
            y = got_sd[key]
            x = np.asarray(x)
            assert y.shape == x.shape and y.tobytes() == x.astype(y.dtype).tobytes(), (name, key)
            if x.dtype.kind == "f":
                assert y.dtype == x.dtype, (name, key)


def _trained(name="adam", steps=3, **opts):
    prob = Problem([(4,), (2, 3)], np.float64, steps)
    ps = prob.params()
    opt = make(name, ps, **opts)
    for t in range(steps):
        opt.step(prob.grads(ps, t))
    return ps, opt


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_in_process(name):
    ps, opt = _trained(name, **OPTIONS[name][-1])
    sd = opt.state_dict()
    qs = [p.copy() for p in ps]
    other = make(name, qs, **OPTIONS[name][-1])
    other.load_state_dict(sd)
    assert_same(snapshot(other, qs), snapshot(opt, ps))
    g = [np.full_like(p, 0.3) for p in ps]
    opt.step(g)
    other.step(g)
    assert_same(snapshot(other, qs), snapshot(opt, ps))


def _corruptions():
    """(description, function editing a copy of an Adam state_dict, exception, match)."""

    def reshape(sd):
        sd["state.0.exp_avg"] = np.zeros(5)

    def retype(sd):
        sd["state.1.exp_avg_sq"] = sd["state.1.exp_avg_sq"].astype(np.float32)

    def more_groups(sd):
        sd["param_groups.1.params"] = np.array([2])
        sd["param_groups.1.lr"] = 0.1

    def fewer_groups(sd):
        for k in [k for k in sd if k.startswith("param_groups.0.")]:
            del sd[k]

    def bad_lr(sd):
        sd["param_groups.0.lr"] = -1.0

    def bad_betas(sd):
        sd["param_groups.0.betas"] = np.array([0.9, 1.5])

    def bad_indices(sd):
        sd["param_groups.0.params"] = np.array([0, 0])

    return [
        ("wrong optimizer", lambda sd: sd.__setitem__("optimizer", "sgd"), ValueError, "optimizer"),
        ("wrong shape", reshape, ValueError, "shape"),
        ("wrong dtype", retype, ValueError, "dtype"),
        ("more groups", more_groups, ValueError, "param group"),
        ("fewer groups", fewer_groups, ValueError, "param group"),
        ("bad lr", bad_lr, ValueError, "lr"),
        ("bad betas", bad_betas, ValueError, "betas"),
        ("bad param indices", bad_indices, ValueError, "params"),
    ]


@pytest.mark.parametrize("what,edit,exc,match", _corruptions(), ids=[c[0] for c in _corruptions()])
def test_load_state_dict_rejects(what, edit, exc, match):
    ps, source = _trained("adam", lr=0.05)
    sd = dict(source.state_dict())
    edit(sd)
    qs, target = _trained("adam", steps=2, lr=0.01)
    before = snapshot(target, qs)
    with pytest.raises(exc, match=match):
        target.load_state_dict(sd)
    assert_same(snapshot(target, qs), before)


def test_load_state_dict_missing_count_changes_nothing():
    ps, source = _trained("adam", lr=0.05)
    sd = dict(source.state_dict())
    del sd["count"]
    qs, target = _trained("adam", steps=2, lr=0.01)
    before = snapshot(target, qs)
    with pytest.raises(ValueError, match="count"):
        target.load_state_dict(sd)
    assert_same(snapshot(target, qs), before)


def test_load_state_dict_missing_slot_rejected():
    ps, source = _trained("adam", lr=0.05)
    sd = dict(source.state_dict())
    del sd["state.0.exp_avg_sq"]
    qs, target = _trained("adam", steps=2, lr=0.01)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        target.load_state_dict(sd)


def test_load_state_dict_missing_step_is_value_error():
    ps, source = _trained("adam", lr=0.05)
    sd = dict(source.state_dict())
    del sd["state.1.step"]
    qs, target = _trained("adam", steps=2, lr=0.01)
    with pytest.raises(ValueError, match="step"):
        target.load_state_dict(sd)


# -- bad input ----------------------------------------------------------------

# Invalid values for each kind of check, with the exception they must raise.
INVALID = {
    v.learning_rate: [(-0.1, ValueError), (NAN, ValueError), (INF, ValueError),
                      ("0.1", TypeError), (None, TypeError), (True, TypeError)],
    v.nonneg: [(-0.5, ValueError), (NAN, ValueError), (-INF, ValueError), (INF, ValueError),
               ("1", TypeError), (None, TypeError)],
    v.positive: [(0.0, ValueError), (-1e-8, ValueError), (NAN, ValueError), (INF, ValueError),
                 ("1e-8", TypeError)],
    v.unit_interval: [(-0.01, ValueError), (1.01, ValueError), (NAN, ValueError),
                      ("a", TypeError)],
    v.betas: [((1.0, 0.999), ValueError), ((0.9, 1.0), ValueError), ((-0.1, 0.999), ValueError),
              ((0.9, NAN), ValueError), ((0.9,), TypeError), (0.9, TypeError), ("ab", TypeError),
              ((0.9, "x"), TypeError), ((0.9, 0.99, 0.999), TypeError)],
    v.unit_pair: [((1.01, 0.9), ValueError), ((0.9, -0.01), ValueError), ((INF, 0.5), ValueError),
                  ((0.9,), TypeError), (0.9, TypeError)],
    v.etas: [((0.0, 1.2), ValueError), ((1.0, 1.2), ValueError), ((0.5, 1.0), ValueError),
             ((0.5, 0.8), ValueError), ((NAN, 1.2), ValueError), ((0.5,), TypeError)],
    v.step_sizes: [((-1e-6, 50.0), ValueError), ((1.0, 0.5), ValueError), ((0.0, INF), ValueError),
                   ((1e-6,), TypeError), ("x", TypeError)],
    v.flag: [(1, TypeError), (0.0, TypeError), ("yes", TypeError), (None, TypeError)],
}


def invalid_cases():
    """(optimizer name, hyperparameter, bad value, exception) for every registry hyperparameter."""
    out = []
    for name, spec in REGISTRY.items():
        for h in spec.hypers:
            assert h.check in INVALID, f"no invalid values listed for {name}.{h.name}"
            out += [(name, h.name, bad, exc) for bad, exc in INVALID[h.check]]
    return out


INVALID_CASES = invalid_cases()
INVALID_IDS = [f"{n}-{h}={b!r}" for n, h, b, _ in INVALID_CASES]


def _names_it(h):
    # the message names the argument (pairs: "betas[0]" and the like)
    return re.escape(h)


@pytest.mark.parametrize("name,hyper,bad,exc", INVALID_CASES, ids=INVALID_IDS)
def test_invalid_hyperparameter(name, hyper, bad, exc):
    cls = getattr(fastopt, REGISTRY[name].class_name)
    p = np.zeros(3)
    with pytest.raises(exc, match=_names_it(hyper)):
        cls(p, **{hyper: bad})
    with pytest.raises(exc, match=_names_it(hyper)):
        cls([{"params": [p], hyper: bad}])


@pytest.mark.parametrize("name,hyper,bad,exc", INVALID_CASES, ids=INVALID_IDS)
def test_invalid_group_edit_raises_at_step_and_updates_nothing(name, hyper, bad, exc):
    prob = Problem([(3,), (2, 2)], np.float64, 3)
    ps = prob.params()
    opt = make(name, [{"params": ps[:1]}, {"params": ps[1:]}], **OPTIONS[name][-1])
    opt.step(prob.grads(ps, 0))
    before = snapshot(opt, ps)
    good = opt.param_groups[1][hyper]
    opt.param_groups[1][hyper] = bad
    g = prob.grads(ps, 1)
    for _ in range(2):  # and it stays rejected
        with pytest.raises(exc, match=r"param_groups\[1\].*" + _names_it(hyper)):
            opt.step(g)
    opt.param_groups[1][hyper] = good
    assert_same(snapshot(opt, ps), before)  # no parameter, state or count changed
    opt.step(g)  # a valid value again: training goes on
    assert opt.state[0]["step"] == opt.state[1]["step"] == 2


def test_group_error_message_is_well_formed():
    with pytest.raises(ValueError, match=re.escape("param_groups[0]['lr']")):
        fastopt.SGD([{"params": [np.zeros(2)], "lr": -1.0}])


def test_cross_argument_rules():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="nesterov"):
        fastopt.SGD(p, nesterov=True)
    with pytest.raises(ValueError, match="nesterov"):
        fastopt.SGD(p, momentum=0.9, dampening=0.1, nesterov=True)
    opt = fastopt.SGD(p, momentum=0.9, nesterov=True)
    opt.param_groups[0]["momentum"] = 0.0
    with pytest.raises(ValueError, match="nesterov"):
        opt.step(np.ones(3))
    assert not p.any()
    with pytest.raises(TypeError, match="unexpected|argument"):
        fastopt.Adam(p, momentum=0.9)
    opt = fastopt.AdamW(p)
    opt.param_groups[0]["decoupled_weight_decay"] = False
    with pytest.raises(ValueError, match="decoupled_weight_decay"):
        opt.step(np.ones(3))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad,exc,match", [
    ([[1.0, 2.0]], TypeError, "params"),
    (np.zeros(3, dtype=np.int64), TypeError, "dtype"),
    (np.zeros(3, dtype=np.complex128), TypeError, "dtype"),
    (np.zeros(3, dtype=np.float16), TypeError, "dtype"),
    (np.zeros(6)[::2], ValueError, "contiguous"),
    (np.zeros((3, 2)).T, ValueError, "contiguous"),
    ("readonly", ValueError, "writeable"),
    ([], ValueError, "params"),
    (3.0, TypeError, "params"),
    ([np.zeros(2), np.zeros(2, dtype=np.int32)], TypeError, r"params\[0\]\[1\]"),
], ids=["list", "int", "complex", "float16", "strided", "transposed", "readonly", "empty",
        "float", "second-int"])
def test_bad_params(name, bad, exc, match):
    if isinstance(bad, str):
        bad = np.zeros(3)
        bad.flags.writeable = False
    cls = getattr(fastopt, REGISTRY[name].class_name)
    with pytest.raises(exc, match=match):
        cls(bad)


@pytest.mark.parametrize("name", NAMES)
def test_bad_grads_update_nothing(name):
    prob = Problem([(3,), (2, 2)], np.float64, 2)
    ps = prob.params()
    opt = make(name, ps, **OPTIONS[name][-1])
    opt.step(prob.grads(ps, 0))
    before = snapshot(opt, ps)
    good = prob.grads(ps, 1)
    cases = [
        (good[:1], ValueError, "grads"),
        (good + [good[0]], ValueError, "grads"),
        ([good[0], good[1].astype(np.float32)], TypeError, r"grads\[1\].*dtype"),
        ([good[0], good[1].astype(np.int64)], TypeError, r"grads\[1\]"),
        ([good[0], good[1].reshape(4)], ValueError, r"grads\[1\].*shape"),
        ([good[0], np.asfortranarray(good[1]).T.copy().T], ValueError, r"grads\[1\].*contiguous"),
        ([good[0].tolist(), good[1]], TypeError, r"grads\[0\]"),
        ([good[0], None], TypeError, r"grads\[1\]"),
        ({"a": good[0]}, TypeError, "grads"),
        (None, TypeError, "grads"),
    ]
    for bad, exc, match in cases:
        with pytest.raises(exc, match=match):
            opt.step(bad)
        assert_same(snapshot(opt, ps), before)
    opt.step(good)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_array_step_checks_and_bits(name, dtype):
    """One array: after its first step, opt.step(ndarray) takes a shorter path. It must
    reject what the general path rejects, see group edits, and give the general path's bits
    (a one-element list always takes the general one)."""
    prob = Problem([(3, 4)], dtype, 8)
    fast_p, general_p = prob.params(), prob.params()
    fast = make(name, fast_p, **OPTIONS[name][-1])
    general = make(name, general_p, **OPTIONS[name][-1])
    for t in range(6):
        if t == 3:  # an edit applies at the next step on both paths
            for opt in (fast, general):
                opt.param_groups[0]["lr"] = opt.param_groups[0]["lr"] * 0.5
        g = prob.grads(fast_p, t)[0]
        fast.step(g)
        general.step([g.copy()])
        assert fast_p[0].tobytes() == general_p[0].tobytes()
    assert_same(fast.state_dict(), general.state_dict())
    before = snapshot(fast, fast_p)
    good = prob.grads(fast_p, 6)[0]
    other = np.float32 if dtype == np.float64 else np.float64
    cases = [(good.astype(other), TypeError, r"grads\[0\].*dtype"),
             (good.astype(np.int64), TypeError, r"grads\[0\]"),
             (good.reshape(4, 3), ValueError, r"grads\[0\].*shape"),
             (good.reshape(-1), ValueError, r"grads\[0\].*shape"),
             (np.asfortranarray(good), ValueError, r"grads\[0\].*contiguous"),
             (good.astype(good.dtype.newbyteorder()), TypeError, r"grads\[0\]"),
             (good[None], ValueError, r"grads\[0\].*shape")]
    for bad, exc, match in cases:
        with pytest.raises(exc, match=match):
            fast.step(bad)
        assert_same(snapshot(fast, fast_p), before)


# -- nothing compiles before it must ---------------------------------------------

NO_COMPILE_SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import numba
    from numba.core.dispatcher import Dispatcher

    import fastopt
    from fastopt.registry import REGISTRY

    def compiled():
        """Every Numba dispatcher in fastopt that holds a compiled (or cache-loaded) version."""
        seen, out = set(), []
        for mod_name, mod in list(sys.modules.items()):
            if not mod_name.startswith("fastopt") or mod is None:
                continue
            for attr in vars(mod).values():
                if isinstance(attr, Dispatcher) and id(attr) not in seen:
                    seen.add(id(attr))
                    if attr.signatures:
                        out.append(f"{mod_name}.{attr.py_func.__name__}")
        return sorted(out)

    assert all(isinstance(s.kernel, Dispatcher) for s in REGISTRY.values())
    assert compiled() == [], ("import", compiled())

    import test_optimizer_api as T
    for name, hyper, bad, exc in T.INVALID_CASES:
        cls = getattr(fastopt, REGISTRY[name].class_name)
        try:
            cls(np.zeros(3), **{hyper: bad})
        except exc:
            pass
        else:
            raise AssertionError((name, hyper, bad))
    for name, spec in REGISTRY.items():
        cls = getattr(fastopt, spec.class_name)
        for bad in (np.zeros(3, np.int64), np.zeros(6)[::2], np.zeros(3, np.float16)):
            try:
                cls(bad)
            except (TypeError, ValueError):
                pass
            else:
                raise AssertionError(name)
        p = np.zeros(3, np.float32)
        opt = cls(p)  # valid, but no step yet: nothing to compile
        for bad in (np.zeros(3), np.zeros(4, np.float32), [np.zeros(3, np.float32)] * 2):
            try:
                opt.step(bad)
            except (TypeError, ValueError):
                pass
            else:
                raise AssertionError(name)
        opt.param_groups[0]["lr"] = -1.0
        try:
            opt.step(np.zeros(3, np.float32))
        except ValueError:
            pass
        else:
            raise AssertionError(name)
    assert compiled() == [], ("bad input", compiled())

    # the probe is live: one valid step shows up (a small array: the serial twin)
    fastopt.Adam(np.zeros(3)).step(np.ones(3))
    assert "fastopt._kernels.adam.adam_serial" in compiled(), compiled()
    print("ok")
''')


@pytest.mark.parametrize("n", [7, 10_000])  # a kernel; timing serial and prange (_Timed)
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_pickled_or_copied_optimizer_steps_its_own_parameters(how, n):
    """A pickled or deep-copied optimizer (mid-way through its timed first steps at
    n = 10,000) updates the parameters its param_groups hold, independent of the
    original's, and continues as the original does, bit for bit."""
    import copy
    import pickle

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, n // 2) if n % 2 == 0 else n)
    grads = [rng.standard_normal(x.shape) for _ in range(30)]
    opt = fastopt.Adam([x, np.ones(3)], lr=0.01)
    for g in grads[:3]:
        opt.step([g, np.ones(3)])
    other = pickle.loads(pickle.dumps(opt)) if how == "pickle" else copy.deepcopy(opt)
    mine = other.param_groups[0]["params"][0]
    assert mine is not x and np.array_equal(mine, x)
    for g in grads[3:]:
        opt.step([g, np.ones(3)])
        other.step([g, np.ones(3)])
        assert np.array_equal(mine, x)
    assert not np.array_equal(x, grads[0])  # it moved
    assert np.array_equal(other.state_dict()["state.0.exp_avg"], opt.state_dict()["state.0.exp_avg"])


def test_import_and_bad_input_compile_nothing():
    """In a fresh process: ``import fastopt`` and every rejected call leave all kernels uncompiled."""
    assert run_python(NO_COMPILE_SCRIPT).strip().splitlines()[-1] == "ok"


@pytest.mark.parametrize("flag, frozen", [(None, True), ("1", True), ("0", False)])
def test_fast_exit_freezes_the_collector_at_exit(flag, frozen):
    """fastopt's atexit handler runs gc.freeze() (FASTOPT_FAST_EXIT=0: not)."""
    # Registered before fastopt is imported, this handler runs after fastopt's (LIFO).
    script = textwrap.dedent("""
        import atexit, gc
        atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))
        import fastopt
        print("frozen", gc.get_freeze_count() > 0)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FASTOPT_FAST_EXIT", None)
    if flag is not None:
        env["FASTOPT_FAST_EXIT"] = flag
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ["frozen", "False", "frozen", str(frozen)]


def test_disable_jit_is_a_clear_import_error():
    """Under NUMBA_DISABLE_JIT=1 the import fails with one message that says what to do instead."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, "-c", "import fastopt"], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fastopt needs Numba's compiler"), proc.stderr
    assert "plain Python function" in last
