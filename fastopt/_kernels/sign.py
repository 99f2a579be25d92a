"""Methods that step by the sign of the gradient: Rprop and Lion."""

import numpy as np
from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PARALLEL_MIN
from ._common import cast_like

# h = [lr, etaminus, etaplus, step_size_min, step_size_max, maximize]
# s = [prev, step_size] (step_size starts at lr)


@njit(**ELEMENT_OPTIONS)
def _rprop_elem(i, p, g, s, k):
    etaminus, etaplus, lo, hi, neg = k
    gi = -g[i] if neg else g[i]
    agree = gi * s[0, i]
    if agree > 0:
        step = s[1, i] * etaplus
    elif agree < 0:
        step = s[1, i] * etaminus
        gi = gi - gi  # a sign flip skips this step and forgets the gradient
    else:
        step = s[1, i]
    step = min(max(step, lo), hi)
    s[1, i] = step
    s[0, i] = gi
    p[i] = p[i] - np.sign(gi) * step


@njit(**KERNEL_OPTIONS)
def rprop_kernel(p, g, s, c, h, t):
    k = (cast_like(h[1], p), cast_like(h[2], p), cast_like(h[3], p),
         cast_like(h[4], p), h[5] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _rprop_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _rprop_elem(i, p, g, s, k)


# h = [lr, beta1, beta2, weight_decay, maximize]  (optax.lion)
# s = [mu]


@njit(**ELEMENT_OPTIONS)
def _lion_elem(i, p, g, s, k):
    lr, b1, one_m_b1, b2, one_m_b2, wd, neg = k
    gi = -g[i] if neg else g[i]
    mu = s[0, i]
    update = np.sign(one_m_b1 * gi + b1 * mu)
    if wd != 0:
        update = update + wd * p[i]
    s[0, i] = one_m_b2 * gi + b2 * mu
    p[i] = p[i] - lr * update


@njit(**KERNEL_OPTIONS)
def lion_kernel(p, g, s, c, h, t):
    k = (cast_like(h[0], p), cast_like(h[1], p), cast_like(1 - h[1], p),
         cast_like(h[2], p), cast_like(1 - h[2], p), cast_like(h[3], p),
         h[4] != 0)
    if p.size < PARALLEL_MIN:
        for i in range(p.size):
            _lion_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _lion_elem(i, p, g, s, k)
