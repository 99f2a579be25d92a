"""Adam and its relatives: Adam/AdamW (with AMSGrad), Adamax, NAdam, RAdam."""

import numpy as np
from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PARALLEL_MIN
from ._common import cast_like, lerp


@njit(inline="always")
def _decay_and_penalty(p, h_lr, h_wd, decoupled):
    """(multiplier on p, coupled L2 coefficient) for torch's two weight decays."""
    if h_wd != 0 and decoupled:
        return cast_like(1 - h_lr * h_wd, p), cast_like(0.0, p), True
    return cast_like(1.0, p), cast_like(h_wd, p), False


# h = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay]
# s = [exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)]


@njit(**ELEMENT_OPTIONS)
def _adam_elem(i, p, g, s, k):
    (shrink, wd, decoupled, w1, b1, small, b2, one_m_b2, inv_bc2_sqrt, eps,
     neg_step, amsgrad, neg) = k
    gi = -g[i] if neg else g[i]
    x = p[i]
    if decoupled:
        x = x * shrink
    elif wd != 0:
        gi = gi + wd * x
    m = lerp(s[0, i], gi, w1, b1, small)
    v = s[1, i] * b2 + one_m_b2 * gi * gi
    s[0, i] = m
    s[1, i] = v
    if amsgrad:
        v = max(s[2, i], v)
        s[2, i] = v
    p[i] = x + neg_step * m / (np.sqrt(v) * inv_bc2_sqrt + eps)


@njit(**KERNEL_OPTIONS)
def adam_kernel(p, g, s, c, h, t):
    lr, beta1, beta2 = h[0], h[1], h[2]
    # sqrt, not ** 0.5: the same value (both correctly rounded) at a fraction of the cost.
    shrink, wd, decoupled = _decay_and_penalty(p, lr, h[4], h[7] != 0)
    step_size = lr / (1 - beta1 ** t)
    k = (shrink, wd, decoupled, cast_like(1 - beta1, p), cast_like(beta1, p),
         abs(1 - beta1) < 0.5, cast_like(beta2, p), cast_like(1 - beta2, p),
         cast_like(1 / np.sqrt(1 - beta2 ** t), p), cast_like(h[3], p),
         cast_like(-step_size, p), h[5] != 0, h[6] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _adam_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _adam_elem(i, p, g, s, k)


# h = [lr, beta1, beta2, eps, weight_decay, maximize]
# s = [exp_avg, exp_inf]


@njit(**ELEMENT_OPTIONS)
def _adamax_elem(i, p, g, s, k):
    wd, w1, b1, small, b2, eps, neg_clr, neg = k
    gi = -g[i] if neg else g[i]
    if wd != 0:
        gi = gi + wd * p[i]
    m = lerp(s[0, i], gi, w1, b1, small)
    u = max(s[1, i] * b2, abs(gi) + eps)
    s[0, i] = m
    s[1, i] = u
    p[i] = p[i] + neg_clr * m / u


@njit(**KERNEL_OPTIONS)
def adamax_kernel(p, g, s, c, h, t):
    beta1 = h[1]
    k = (cast_like(h[4], p), cast_like(1 - beta1, p), cast_like(beta1, p),
         abs(1 - beta1) < 0.5, cast_like(h[2], p), cast_like(h[3], p),
         cast_like(-h[0] / (1 - beta1 ** t), p), h[5] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _adamax_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _adamax_elem(i, p, g, s, k)


# h = [lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize]
# s = [exp_avg, exp_avg_sq]; c = [mu_product] (starts at 1)


@njit(**ELEMENT_OPTIONS)
def _nadam_elem(i, p, g, s, k):
    (shrink, wd, decoupled, w1, b1, small, b2, one_m_b2, bc2, eps,
     coef_g, coef_m, neg) = k
    gi = -g[i] if neg else g[i]
    x = p[i]
    if decoupled:
        x = x * shrink
    elif wd != 0:
        gi = gi + wd * x
    m = lerp(s[0, i], gi, w1, b1, small)
    v = s[1, i] * b2 + one_m_b2 * gi * gi
    s[0, i] = m
    s[1, i] = v
    denom = np.sqrt(v / bc2) + eps
    x = x + coef_g * gi / denom
    p[i] = x + coef_m * m / denom


@njit(**KERNEL_OPTIONS)
def nadam_kernel(p, g, s, c, h, t):
    lr, beta1, beta2, psi = h[0], h[1], h[2], h[5]
    shrink, wd, decoupled = _decay_and_penalty(p, lr, h[4], h[6] != 0)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    # torch keeps mu_product as a tensor of the default dtype.
    mu_product = float(cast_like(c[0] * mu, p))
    c[0] = mu_product
    k = (shrink, wd, decoupled, cast_like(1 - beta1, p), cast_like(beta1, p),
         abs(1 - beta1) < 0.5, cast_like(beta2, p), cast_like(1 - beta2, p),
         cast_like(1 - beta2 ** t, p), cast_like(h[3], p),
         cast_like(-lr * (1.0 - mu) / (1.0 - mu_product), p),
         cast_like(-lr * mu_next / (1.0 - mu_product * mu_next), p), h[7] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _nadam_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _nadam_elem(i, p, g, s, k)


# h = [lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize]
# s = [exp_avg, exp_avg_sq]


@njit(**ELEMENT_OPTIONS)
def _radam_elem(i, p, g, s, k):
    (shrink, wd, decoupled, w1, b1, small, b2, one_m_b2, inv_bc1, lr,
     rectify, rect, bc2_sqrt, eps, neg) = k
    gi = -g[i] if neg else g[i]
    x = p[i]
    if decoupled:
        x = x * shrink
    elif wd != 0:
        gi = gi + wd * x
    m = lerp(s[0, i], gi, w1, b1, small)
    v = s[1, i] * b2 + one_m_b2 * gi * gi
    s[0, i] = m
    s[1, i] = v
    if rectify:
        p[i] = x - m * inv_bc1 * lr * (bc2_sqrt / (np.sqrt(v) + eps)) * rect
    else:
        p[i] = x - m * inv_bc1 * lr


@njit(**KERNEL_OPTIONS)
def radam_kernel(p, g, s, c, h, t):
    lr, beta1, beta2 = h[0], h[1], h[2]
    shrink, wd, decoupled = _decay_and_penalty(p, lr, h[4], h[5] != 0)
    bc2 = 1 - beta2 ** t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
    rectify = rho_t > 5.0
    rect = 0.0
    if rectify:
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                       / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    k = (shrink, wd, decoupled, cast_like(1 - beta1, p), cast_like(beta1, p),
         abs(1 - beta1) < 0.5, cast_like(beta2, p), cast_like(1 - beta2, p),
         cast_like(1 / (1 - beta1 ** t), p), cast_like(lr, p), rectify,
         cast_like(rect, p), cast_like(np.sqrt(bc2), p), cast_like(h[3], p),
         h[6] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _radam_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _radam_elem(i, p, g, s, k)
