"""Methods that step by the sign of the gradient: Rprop and Lion."""

import numpy as np
from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PRANGE_MIN, PROX_OPTIONS, SERIAL_OPTIONS
from ._common import cast_like, shrink

# h = [lr, etaminus, etaplus, step_size_min, step_size_max, maximize]
# s = [prev, step_size] (step_size starts at lr)


@njit(**ELEMENT_OPTIONS)
def _rprop_elem(i, p, g, s, k):
    etaminus, etaplus, lo, hi, neg, zero, one = k
    gi = -g[i] if neg else g[i]
    # Every value read once and chosen by conditional expressions, not
    # branches around loads and stores: that is what lets the loop vectorize.
    prev, step, x = s[0, i], s[1, i], p[i]
    agree = gi * prev
    factor = etaplus if agree > 0 else (etaminus if agree < 0 else one)
    gi = zero if agree < 0 else gi  # a sign flip skips this step and forgets the gradient
    step = min(max(step * factor, lo), hi)
    s[1, i] = step
    s[0, i] = gi
    p[i] = x - np.sign(gi) * step


@njit(inline="always")
def _rprop_coefs(p, c, h, t):
    return (cast_like(h[1], p), cast_like(h[2], p), cast_like(h[3], p),
            cast_like(h[4], p), h[5] != 0, cast_like(0.0, p), cast_like(1.0, p))


@njit(**KERNEL_OPTIONS)
def rprop_kernel(p, g, s, c, h, t):
    k = _rprop_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _rprop_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _rprop_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def rprop_serial(p, g, s, c, h, t):
    k = _rprop_coefs(p, c, h, t)
    for i in range(p.size):
        _rprop_elem(i, p, g, s, k)


# h = [lr, beta1, beta2, weight_decay, maximize]  (optax.lion)
# s = [mu]


@njit(**ELEMENT_OPTIONS)
def _lion_elem(i, p, g, s, k):
    lr, b1, one_m_b1, b2, one_m_b2, wd, neg = k
    gi = -g[i] if neg else g[i]
    mu, x = s[0, i], p[i]  # each read once (see _rmsprop_elem)
    update = np.sign(one_m_b1 * gi + b1 * mu)
    if wd != 0:
        update = update + wd * x
    s[0, i] = one_m_b2 * gi + b2 * mu
    p[i] = x - lr * update


@njit(inline="always")
def _lion_coefs(p, c, h, t):
    return (cast_like(h[0], p), cast_like(h[1], p), cast_like(1 - h[1], p),
            cast_like(h[2], p), cast_like(1 - h[2], p), cast_like(h[3], p),
            h[4] != 0)


@njit(**KERNEL_OPTIONS)
def lion_kernel(p, g, s, c, h, t):
    k = _lion_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _lion_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _lion_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def lion_serial(p, g, s, c, h, t):
    k = _lion_coefs(p, c, h, t)
    for i in range(p.size):
        _lion_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def sign_prox(p, s, c, h, t, l1, skip):
    """Rprop's and Lion's L1 step: a threshold of lr * l1 (their steps ignore |gradient|)."""
    threshold = l1 * h[0]
    for i in range(p.size - skip):
        shrink(p, i, threshold)


rprop_prox = lion_prox = sign_prox
