"""SGD with momentum, dampening and Nesterov; ASGD (averaged SGD)."""

from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PRANGE_MIN, PROX_OPTIONS, SERIAL_OPTIONS
from ._common import cast_like, last_use, shrink

# h = [lr, momentum, dampening, weight_decay, nesterov, maximize]
# s = [momentum_buffer] (only when momentum != 0); c = [buffer_started]


@njit(**ELEMENT_OPTIONS)
def _sgd_elem(i, p, g, s, k):
    lr, mom, one_m_damp, wd, nesterov, neg, first, use_momentum = k
    gi = -g[i] if neg else g[i]
    x = p[i]  # read once (see _rmsprop_elem)
    if wd != 0:
        gi = gi + wd * x
    if use_momentum:
        # torch starts the buffer as a copy of the first gradient.
        b = gi if first else s[0, i] * mom + one_m_damp * gi
        s[0, i] = b
        gi = gi + mom * b if nesterov else b
    p[i] = x - lr * gi


@njit(inline="always")
def _sgd_coefs(p, c, h, t):
    # Flags come from the float64 hyperparameters, as torch tests the Python
    # floats: a momentum that rounds to 0 in float32 still keeps its buffer.
    first = h[1] != 0 and c[0] == 0
    if h[1] != 0:
        c[0] = 1.0
    last_use(c)  # c's last use in the branch above cost the kernels 10 atomic updates a step
    return (cast_like(h[0], p), cast_like(h[1], p), cast_like(1 - h[2], p),
            cast_like(h[3], p), h[4] != 0, h[5] != 0, first, h[1] != 0)


@njit(**KERNEL_OPTIONS)
def sgd_kernel(p, g, s, c, h, t):
    k = _sgd_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _sgd_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _sgd_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def sgd_serial(p, g, s, c, h, t):
    k = _sgd_coefs(p, c, h, t)
    for i in range(p.size):
        _sgd_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def sgd_prox(p, s, c, h, t, l1, skip):
    lr, momentum, dampening = h[0], h[1], h[2]
    # A constant gradient g builds the buffer up to (1 - dampening) g / (1 - momentum)
    # (Nesterov, whose dampening is 0, steps by g + momentum * buffer: the same).
    step = lr * (1.0 - dampening) / (1.0 - momentum) if 0 < momentum < 1 else lr
    for i in range(p.size - skip):
        shrink(p, i, l1 * step)


# h = [lr, lambd, alpha, t0, weight_decay, maximize]
# s = [ax]; c = [eta, mu] (start [lr, 1])


@njit(**ELEMENT_OPTIONS)
def _asgd_elem(i, p, g, s, k):
    eta, decay, wd, neg, average = k
    gi = -g[i] if neg else g[i]
    if wd != 0:
        gi = gi + wd * p[i]
    x = p[i] * decay - eta * gi
    p[i] = x
    s[0, i] = s[0, i] + (x - s[0, i]) * average if average != 1 else x


@njit(inline="always")
def _asgd_coefs(p, c, h, t):
    eta = c[0]
    return (cast_like(eta, p), cast_like(1 - h[1] * eta, p), cast_like(h[4], p),
            h[5] != 0, cast_like(c[1], p))


@njit(inline="always")
def _asgd_after(p, c, h, t):
    # eta and mu for the next step, rounded as torch stores them.
    lr, lambd, alpha, t0 = h[0], h[1], h[2], h[3]
    c[0] = cast_like(lr / (1 + lambd * lr * t) ** alpha, p)
    c[1] = cast_like(1 / max(1.0, t - t0), p)


@njit(**KERNEL_OPTIONS)
def asgd_kernel(p, g, s, c, h, t):
    k = _asgd_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _asgd_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _asgd_elem(i, p, g, s, k)
    _asgd_after(p, c, h, t)


@njit(**SERIAL_OPTIONS)
def asgd_serial(p, g, s, c, h, t):
    k = _asgd_coefs(p, c, h, t)
    for i in range(p.size):
        _asgd_elem(i, p, g, s, k)
    _asgd_after(p, c, h, t)


@njit(**PROX_OPTIONS)
def asgd_prox(p, s, c, h, t, l1, skip):
    lr, lambd, alpha = h[0], h[1], h[2]
    # step t's eta (c holds step t + 1's by now), from torch's formula
    eta = cast_like(lr / (1 + lambd * lr * (t - 1)) ** alpha, p)
    for i in range(p.size - skip):
        shrink(p, i, l1 * eta)
