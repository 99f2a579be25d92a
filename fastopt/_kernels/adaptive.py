"""Per-coordinate step sizes from squared-gradient sums: Adagrad, Adadelta, RMSprop."""

import numpy as np
from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PRANGE_MIN, PROX_OPTIONS, SERIAL_OPTIONS
from ._common import cast_like, lerp, shrink

# h = [lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize]
# s = [sum]


@njit(**ELEMENT_OPTIONS)
def _adagrad_elem(i, p, g, s, k):
    clr, wd, eps, neg = k
    gi = -g[i] if neg else g[i]
    x = p[i]  # read once (see _rmsprop_elem)
    if wd != 0:
        gi = gi + wd * x
    acc = s[0, i] + gi * gi
    s[0, i] = acc
    p[i] = x - clr * gi / (np.sqrt(acc) + eps)


@njit(inline="always")
def _adagrad_coefs(p, c, h, t):
    return (cast_like(h[0] / (1 + (t - 1) * h[1]), p), cast_like(h[2], p),
            cast_like(h[4], p), h[5] != 0)


@njit(**KERNEL_OPTIONS)
def adagrad_kernel(p, g, s, c, h, t):
    k = _adagrad_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _adagrad_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _adagrad_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def adagrad_serial(p, g, s, c, h, t):
    k = _adagrad_coefs(p, c, h, t)
    for i in range(p.size):
        _adagrad_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def adagrad_prox(p, s, c, h, t, l1, skip):
    clr, eps = _adagrad_coefs(p, c, h, t)[0], h[4]
    for i in range(p.size - skip):
        shrink(p, i, l1 * clr / (np.sqrt(s[0, i]) + eps))


# h = [lr, rho, eps, weight_decay, maximize]
# s = [square_avg, acc_delta]


@njit(**ELEMENT_OPTIONS)
def _adadelta_elem(i, p, g, s, k):
    lr, rho, one_m_rho, eps, wd, neg = k
    gi = -g[i] if neg else g[i]
    x, acc = p[i], s[1, i]  # each read once (see _rmsprop_elem)
    if wd != 0:
        gi = gi + wd * x
    sq = s[0, i] * rho + one_m_rho * gi * gi
    s[0, i] = sq
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * gi
    s[1, i] = acc * rho + one_m_rho * delta * delta
    p[i] = x - lr * delta


@njit(inline="always")
def _adadelta_coefs(p, c, h, t):
    return (cast_like(h[0], p), cast_like(h[1], p), cast_like(1 - h[1], p),
            cast_like(h[2], p), cast_like(h[3], p), h[4] != 0)


@njit(**KERNEL_OPTIONS)
def adadelta_kernel(p, g, s, c, h, t):
    k = _adadelta_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _adadelta_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _adadelta_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def adadelta_serial(p, g, s, c, h, t):
    k = _adadelta_coefs(p, c, h, t)
    for i in range(p.size):
        _adadelta_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def adadelta_prox(p, s, c, h, t, l1, skip):
    lr, eps = h[0], h[2]
    for i in range(p.size - skip):
        shrink(p, i, l1 * lr * np.sqrt(s[1, i] + eps) / np.sqrt(s[0, i] + eps))


# h = [lr, alpha, eps, weight_decay, momentum, centered, maximize]
# s = [square_avg, grad_avg (centered), momentum_buffer (momentum > 0)]


@njit(**ELEMENT_OPTIONS)
def _rmsprop_elem(i, p, g, s, k):
    lr, alpha, one_m_alpha, small, lerp_c, eps, wd, mom, centered, neg, use_momentum = k
    gi = -g[i] if neg else g[i]
    x = p[i]  # read once: a second load after the stores to s kept LLVM from vectorizing
    if wd != 0:
        gi = gi + wd * x
    sq = s[0, i] * alpha + one_m_alpha * gi * gi
    s[0, i] = sq
    var = sq
    if centered:
        ga = lerp(s[1, i], gi, one_m_alpha, lerp_c, small)
        s[1, i] = ga
        var = sq - ga * ga
    avg = np.sqrt(var) + eps  # one sqrt, outside the branches, for the same reason
    if use_momentum:
        b = s[2, i] * mom + gi / avg
        s[2, i] = b
        p[i] = x - lr * b
    else:
        p[i] = x - lr * gi / avg


@njit(inline="always")
def _rmsprop_coefs(p, c, h, t):
    # lerp_c: 1 - (1 - alpha) as torch's lerp forms it (see adam._moment_coefs).
    w = cast_like(1 - h[1], p)
    return (cast_like(h[0], p), cast_like(h[1], p), w, abs(1 - h[1]) < 0.5,
            cast_like(1.0, p) - w, cast_like(h[2], p), cast_like(h[3], p),
            cast_like(h[4], p), h[5] != 0, h[6] != 0, h[4] > 0)


@njit(**KERNEL_OPTIONS)
def rmsprop_kernel(p, g, s, c, h, t):
    k = _rmsprop_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _rmsprop_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _rmsprop_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def rmsprop_serial(p, g, s, c, h, t):
    k = _rmsprop_coefs(p, c, h, t)
    for i in range(p.size):
        _rmsprop_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def rmsprop_prox(p, s, c, h, t, l1, skip):
    lr, eps, momentum, centered = h[0], h[2], h[4], h[5] != 0
    # the momentum buffer sums gradient / avg with weights momentum^k
    step = lr / (1.0 - momentum) if 0 < momentum < 1 else lr
    for i in range(p.size - skip):
        var = s[0, i] - s[1, i] * s[1, i] if centered else s[0, i]
        shrink(p, i, l1 * step / (np.sqrt(var) + eps))
