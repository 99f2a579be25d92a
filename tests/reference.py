"""Slow, plain-NumPy reference implementations of every registry optimizer.

Written from the published update rules -- the algorithm boxes of the
``torch.optim`` documentation (torch 2.13) and ``optax.lion`` -- and never
from fastopt's kernels: the tests check fastopt against this file.

Conventions
-----------
* One function per optimizer, ``_<name>(p, g, state, h)``, updating the
  parameter array ``p`` and the ``state`` dict in place. ``h`` holds the
  optimizer's hyperparameters by their constructor names (pairs such as
  ``betas`` are tuples). ``state`` starts empty; the first call fills it, as
  torch fills its state lazily at the first step.
* ``state["step"]`` counts the steps taken (torch's ``step``, optax's
  ``count``); SGD, which has none in torch, keeps none here.
* The state keys are torch's names (``exp_avg``, ``sum``, ``ax``, ...), which
  are also the registry's slot names. Per-tensor scalars that torch keeps as
  0-d tensors of the default dtype (``mu_product``, ``eta``, ``mu``) are kept
  here in the parameter's dtype.
* Work stays in the parameter's dtype: every scalar coefficient is computed in
  Python floats (float64), as torch computes it, and then cast to the array's
  dtype before it touches an array, as a torch kernel casts its scalar
  arguments. float32 stays float32.

Use ``reference_step(name, params, grads, states, h)`` for a list of tensors.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REFERENCES", "reference_step", "hyper_defaults"]


def _lerp(a, b, w):
    """``a + w * (b - a)``, with torch's choice of formula for accuracy at both ends."""
    dt = a.dtype.type
    w = dt(w)
    if abs(w) < 0.5:
        return a + w * (b - a)
    return b - (b - a) * (dt(1) - w)


def _signed(g, h):
    return -g if h["maximize"] else g


# -- SGD ------------------------------------------------------------------------


def _sgd(p, g, state, h):
    dt = p.dtype.type
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    momentum = h["momentum"]
    if momentum != 0:
        if "momentum_buffer" not in state:
            buf = g.copy()  # b_1 = g_1
        else:
            buf = state["momentum_buffer"] * dt(momentum) + dt(1 - h["dampening"]) * g
        state["momentum_buffer"] = buf
        g = g + dt(momentum) * buf if h["nesterov"] else buf
    p -= dt(h["lr"]) * g


# -- Adagrad, Adadelta, RMSprop -------------------------------------------------


def _adagrad(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["sum"] = np.full_like(p, h["initial_accumulator_value"])
    state["step"] += 1
    t = state["step"]
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])
    state["sum"] = state["sum"] + g * g
    std = np.sqrt(state["sum"]) + dt(h["eps"])
    p += dt(-clr) * g / std


def _adadelta(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p)
        state["acc_delta"] = np.zeros_like(p)
    state["step"] += 1
    rho, eps = dt(h["rho"]), dt(h["eps"])
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    v = state["square_avg"] * rho + dt(1 - h["rho"]) * g * g
    state["square_avg"] = v
    delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(v + eps) * g
    state["acc_delta"] = state["acc_delta"] * rho + dt(1 - h["rho"]) * delta * delta
    p -= dt(h["lr"]) * delta


def _rmsprop(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(p)
        if h["centered"]:
            state["grad_avg"] = np.zeros_like(p)
        if h["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p)
    state["step"] += 1
    alpha = h["alpha"]
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    v = state["square_avg"] * dt(alpha) + dt(1 - alpha) * g * g
    state["square_avg"] = v
    if h["centered"]:
        ga = _lerp(state["grad_avg"], g, 1 - alpha)
        state["grad_avg"] = ga
        avg = np.sqrt(v - ga * ga)
    else:
        avg = np.sqrt(v)
    avg = avg + dt(h["eps"])
    if h["momentum"] > 0:
        buf = state["momentum_buffer"] * dt(h["momentum"]) + g / avg
        state["momentum_buffer"] = buf
        p -= dt(h["lr"]) * buf
    else:
        p += dt(-h["lr"]) * g / avg


# -- Adam family ----------------------------------------------------------------


def _weight_decay(p, g, h, dt):
    """Coupled L2 (added to the gradient) or decoupled decay (p shrinks in place)."""
    if h["weight_decay"] != 0:
        if h.get("decoupled_weight_decay", False):
            p *= dt(1 - h["lr"] * h["weight_decay"])
        else:
            g = g + dt(h["weight_decay"]) * p
    return g


def _moments(p, g, state, h, dt):
    beta1, beta2 = h["betas"]
    if "exp_avg" not in state:
        state["exp_avg"] = np.zeros_like(p)
        state["exp_avg_sq"] = np.zeros_like(p)
    state["exp_avg"] = _lerp(state["exp_avg"], g, 1 - beta1)
    state["exp_avg_sq"] = state["exp_avg_sq"] * dt(beta2) + dt(1 - beta2) * g * g
    return state["exp_avg"], state["exp_avg_sq"]


def _adam(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        if h["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(p)
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = h["betas"]
    g = _weight_decay(p, _signed(g, h), h, dt)
    m, v = _moments(p, g, state, h, dt)
    step_size = h["lr"] / (1 - beta1 ** t)
    bc2_sqrt = (1 - beta2 ** t) ** 0.5
    if h["amsgrad"]:
        state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
        v = state["max_exp_avg_sq"]
    denom = np.sqrt(v) / dt(bc2_sqrt) + dt(h["eps"])
    p += dt(-step_size) * m / denom


def _adamw(p, g, state, h):
    _adam(p, g, state, dict(h, decoupled_weight_decay=True))


def _adamax(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p)
        state["exp_inf"] = np.zeros_like(p)
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = h["betas"]
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    state["exp_avg"] = _lerp(state["exp_avg"], g, 1 - beta1)
    state["exp_inf"] = np.maximum(state["exp_inf"] * dt(beta2), np.abs(g) + dt(h["eps"]))
    clr = h["lr"] / (1 - beta1 ** t)
    p += dt(-clr) * state["exp_avg"] / state["exp_inf"]


def _nadam(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["mu_product"] = dt(1.0)
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = h["betas"]
    psi = h["momentum_decay"]
    bc2 = 1 - beta2 ** t
    g = _weight_decay(p, _signed(g, h), h, dt)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    # mu_product is a tensor of the default dtype in torch: a product in that dtype.
    state["mu_product"] = dt(state["mu_product"] * dt(mu))
    mu_product = float(state["mu_product"])
    m, v = _moments(p, g, state, h, dt)
    denom = np.sqrt(v / dt(bc2)) + dt(h["eps"])
    p += dt(-h["lr"] * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    p += dt(-h["lr"] * mu_next / (1.0 - mu_product * mu_next)) * m / denom


def _radam(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = h["betas"]
    g = _weight_decay(p, _signed(g, h), h, dt)
    m, v = _moments(p, g, state, h, dt)
    bc1 = 1 - beta1 ** t
    bc2 = 1 - beta2 ** t
    m_hat = m / dt(bc1)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** t / bc2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = dt(bc2 ** 0.5) / (np.sqrt(v) + dt(h["eps"]))
        p -= m_hat * dt(h["lr"]) * adaptive * dt(rect)
    else:
        p -= m_hat * dt(h["lr"])


# -- sign methods ---------------------------------------------------------------


def _rprop(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["prev"] = np.zeros_like(p)
        state["step_size"] = np.full_like(p, h["lr"])
    state["step"] += 1
    etaminus, etaplus = h["etas"]
    lo, hi = h["step_sizes"]
    g = _signed(g, h)
    s = np.sign(g * state["prev"])
    factor = np.where(s > 0, dt(etaplus), np.where(s < 0, dt(etaminus), dt(1)))
    state["step_size"] = np.clip(state["step_size"] * factor, dt(lo), dt(hi))
    g = np.where(s < 0, dt(0), g)  # a sign change: no step now, and forget this gradient
    p -= np.sign(g) * state["step_size"]
    state["prev"] = g.copy()


def _asgd(p, g, state, h):
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["eta"] = dt(h["lr"])
        state["mu"] = dt(1.0)
        state["ax"] = np.zeros_like(p)
    state["step"] += 1
    t = state["step"]
    lr, lambd, alpha, t0 = h["lr"], h["lambd"], h["alpha"], h["t0"]
    g = _signed(g, h)
    if h["weight_decay"] != 0:
        g = g + dt(h["weight_decay"]) * p
    eta = float(state["eta"])
    p *= dt(1 - lambd * eta)
    p -= dt(eta) * g
    if float(state["mu"]) != 1:
        state["ax"] = state["ax"] + (p - state["ax"]) * state["mu"]
    else:
        state["ax"] = p.copy()
    state["eta"] = dt(lr / (1 + lambd * lr * t) ** alpha)
    state["mu"] = dt(1 / max(1, t - t0))


def _lion(p, g, state, h):
    """optax.lion: the step is sign(b1 m + (1 - b1) g) plus decoupled decay."""
    dt = p.dtype.type
    if not state:
        state["step"] = 0
        state["mu"] = np.zeros_like(p)
    state["step"] += 1
    b1, b2 = h["betas"]
    g = _signed(g, h)
    mu = state["mu"]
    update = np.sign(dt(1 - b1) * g + dt(b1) * mu)
    if h["weight_decay"] != 0:
        update = update + dt(h["weight_decay"]) * p
    state["mu"] = dt(1 - b2) * g + dt(b2) * mu
    p -= dt(h["lr"]) * update


REFERENCES = {
    "sgd": _sgd, "adagrad": _adagrad, "adadelta": _adadelta, "rmsprop": _rmsprop,
    "adam": _adam, "adamw": _adamw, "adamax": _adamax, "nadam": _nadam, "radam": _radam,
    "rprop": _rprop, "asgd": _asgd, "lion": _lion,
}

# The constructor defaults, written out here (torch 2.13; optax.lion for Lion,
# except its weight_decay, 1e-3 in optax and 0 in fastopt) so that the tests
# can check the registry against them.
_DEFAULTS = {
    "sgd": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    "adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                    maximize=False),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                    maximize=False),
    "adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                 decoupled_weight_decay=False),
    "adamw": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False),
    "nadam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                  decoupled_weight_decay=False, maximize=False),
    "radam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                  maximize=False),
    "rprop": dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False),
    "asgd": dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False),
    "lion": dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False),
}


def hyper_defaults(name: str) -> dict:
    """The documented defaults of optimizer ``name`` (a fresh dict)."""
    return dict(_DEFAULTS[name])


def reference_step(name: str, params: list, grads: list, states: list, h: dict) -> None:
    """One step of optimizer ``name`` on every array of ``params``, in place.

    ``states`` is a list of dicts, one per parameter (start with empty dicts);
    ``h`` may omit hyperparameters, which then take their defaults.
    """
    full = hyper_defaults(name)
    full.update(h)
    update = REFERENCES[name]
    for p, g, state in zip(params, grads, states, strict=True):
        update(p, g, state, full)
