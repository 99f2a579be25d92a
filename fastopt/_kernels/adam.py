"""Adam and its relatives: Adam/AdamW (with AMSGrad), Adamax, NAdam, RAdam."""

import numpy as np
from numba import njit, prange

from .._config import ELEMENT_OPTIONS, KERNEL_OPTIONS, PRANGE_MIN, PROX_OPTIONS, SERIAL_OPTIONS
from ._common import cast_like, lerp, shrink
from ._powers import SLOTS, bias_power


@njit(inline="always")
def _moment_coefs(p, lr, beta1, beta2, wd, decoupled, maximize):
    """Coefficients of ``_moments``, cast to p's dtype (torch's two weight decays)."""
    if wd != 0 and decoupled:
        shrink, l2, decoupled = cast_like(1 - lr * wd, p), cast_like(0.0, p), True
    else:
        shrink, l2, decoupled = cast_like(1.0, p), cast_like(wd, p), False
    # torch's lerp takes the weight 1 - beta1 and forms 1 - weight itself,
    # which is not beta1 exactly (1 - (1 - 1e-5) is 1e-5 * (1 + 6.6e-12)).
    w1 = cast_like(1 - beta1, p)
    return (shrink, l2, decoupled, maximize, w1, cast_like(1.0, p) - w1,
            abs(1 - beta1) < 0.5, cast_like(beta2, p), cast_like(1 - beta2, p))


@njit(inline="always")
def _moments(i, p, g, s, k):
    """Weight decay, then the first and second moments of element i (stored in s[0], s[1]).

    ``k`` starts with ``_moment_coefs``'s nine values (one flat tuple: Numba's
    parfor analysis rejects nested ones). Returns (decayed parameter,
    gradient used, m, v).
    """
    shrink, l2, decoupled, neg, w1, b1, small, b2, one_m_b2 = (k[0], k[1], k[2], k[3], k[4], k[5],
                                                                k[6], k[7], k[8])
    gi = -g[i] if neg else g[i]
    x = p[i]
    if decoupled:
        x = x * shrink
    elif l2 != 0:
        gi = gi + l2 * x
    m = lerp(s[0, i], gi, w1, b1, small)
    v = s[1, i] * b2 + one_m_b2 * gi * gi
    s[0, i] = m
    s[1, i] = v
    return x, gi, m, v


# h = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay]
# s = [exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)]; c = [beta1 ** t, beta2 ** t] (_powers)


@njit(**ELEMENT_OPTIONS)
def _adam_elem(i, p, g, s, k, amsgrad):
    inv_bc2_sqrt, eps, neg_step = k[9], k[10], k[11]
    x, gi, m, v = _moments(i, p, g, s, k)
    if amsgrad:
        v = max(s[2, i], v)
        s[2, i] = v
    p[i] = x + neg_step * m / (np.sqrt(v) * inv_bc2_sqrt + eps)


@njit(inline="always")
def _adam_coefs(p, c, h, t):
    lr, beta1, beta2 = h[0], h[1], h[2]
    power1, power2 = bias_power(c, 0, beta1, t), bias_power(c, SLOTS, beta2, t)  # without pow
    # sqrt, not ** 0.5: the same value (both correctly rounded) at a fraction of the cost.
    return _moment_coefs(p, lr, beta1, beta2, h[4], h[7] != 0, h[6] != 0) + (
        cast_like(1 / np.sqrt(1 - power2), p), cast_like(h[3], p),
        cast_like(-lr / (1 - power1), p), h[5] != 0)


@njit(inline="always")
def _adam_rows(p, g, s, k):
    """The serial step (the kernel's below PRANGE_MIN, and its serial twin).

    Two loops, each with AMSGrad fixed: with ``if amsgrad`` inside one loop,
    LLVM made masked loads and stores of row 2, which without AMSGrad lies
    past the slot array; a masked access to an unmapped page takes a
    microcode assist on Intel cores (Adam at n = 10,000: 10 against 2.4 ns
    an element). (The prange loop keeps one body: it showed no such cost.)
    Both loops stay inlined: the AMSGrad loop as a call of its own function
    put an exception path in every caller, and LLVM's pruning then kept the
    reference counts of p, g and s: six atomic updates a step, ~40 ns of an
    Adam step at n = 2 on an Intel host (63 against 19 ns).
    """
    if k[12]:
        for i in range(p.size):
            _adam_elem(i, p, g, s, k, True)
    else:
        for i in range(p.size):
            _adam_elem(i, p, g, s, k, False)


@njit(**KERNEL_OPTIONS)
def adam_kernel(p, g, s, c, h, t):
    k = _adam_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        _adam_rows(p, g, s, k)
    else:
        amsgrad = k[12]
        for i in prange(p.size):
            _adam_elem(i, p, g, s, k, amsgrad)


@njit(**SERIAL_OPTIONS)
def adam_serial(p, g, s, c, h, t):
    _adam_rows(p, g, s, _adam_coefs(p, c, h, t))


@njit(**PROX_OPTIONS)
def adam_prox(p, s, c, h, t, l1, skip):
    k = _adam_coefs(p, c, h, t)
    inv_bc2_sqrt, eps, step, row = k[9], k[10], -k[11], 2 if k[12] else 1
    for i in range(p.size - skip):
        shrink(p, i, l1 * step / (np.sqrt(s[row, i]) * inv_bc2_sqrt + eps))


# h = [lr, beta1, beta2, eps, weight_decay, maximize]
# s = [exp_avg, exp_inf]; c = [beta1 ** t] (_powers)


@njit(**ELEMENT_OPTIONS)
def _adamax_elem(i, p, g, s, k):
    wd, w1, b1, small, b2, eps, neg_clr, neg = k
    gi = -g[i] if neg else g[i]
    x = p[i]  # read once: a second load after the stores kept LLVM from vectorizing
    if wd != 0:
        gi = gi + wd * x
    m = lerp(s[0, i], gi, w1, b1, small)
    u = max(s[1, i] * b2, abs(gi) + eps)
    s[0, i] = m
    s[1, i] = u
    p[i] = x + neg_clr * m / u


@njit(inline="always")
def _adamax_coefs(p, c, h, t):
    beta1 = h[1]
    w1 = cast_like(1 - beta1, p)  # torch's lerp weight; see _moment_coefs
    return (cast_like(h[4], p), w1, cast_like(1.0, p) - w1,
            abs(1 - beta1) < 0.5, cast_like(h[2], p), cast_like(h[3], p),
            cast_like(-h[0] / (1 - bias_power(c, 0, beta1, t)), p), h[5] != 0)


@njit(**KERNEL_OPTIONS)
def adamax_kernel(p, g, s, c, h, t):
    k = _adamax_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _adamax_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _adamax_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def adamax_serial(p, g, s, c, h, t):
    k = _adamax_coefs(p, c, h, t)
    for i in range(p.size):
        _adamax_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def adamax_prox(p, s, c, h, t, l1, skip):
    step = -_adamax_coefs(p, c, h, t)[6]
    for i in range(p.size - skip):
        shrink(p, i, l1 * step / s[1, i])


# h = [lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize]
# s = [exp_avg, exp_avg_sq]; c = [mu_product (starts at 1), beta2 ** t (_powers)]


@njit(**ELEMENT_OPTIONS)
def _nadam_elem(i, p, g, s, k):
    inv_bc2, eps, coef_g, coef_m = k[9], k[10], k[11], k[12]
    x, gi, m, v = _moments(i, p, g, s, k)
    # torch divides by bias_correction2; a multiplication by its reciprocal
    # (within an ulp) saves the one division per element that isn't needed.
    denom = np.sqrt(v * inv_bc2) + eps
    x = x + coef_g * gi / denom
    p[i] = x + coef_m * m / denom


@njit(inline="always")
def _nadam_mus(h, t):
    """The momentum coefficients of steps t and t + 1 (Dozat's schedule)."""
    beta1, psi = h[1], h[5]
    return (beta1 * (1.0 - 0.5 * 0.96 ** (t * psi)),
            beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi)))


@njit(inline="always")
def _nadam_coefs(p, c, h, t):
    lr, beta1, beta2 = h[0], h[1], h[2]
    mu, mu_next = _nadam_mus(h, t)
    # torch keeps mu_product as a tensor of the default dtype (the parameters' here, see
    # tests/reference.py) and multiplies it by mu cast to that dtype.
    mu_product = float(cast_like(c[0], p) * cast_like(mu, p))
    c[0] = mu_product
    return _moment_coefs(p, lr, beta1, beta2, h[4], h[6] != 0, h[7] != 0) + (
        cast_like(1 / (1 - bias_power(c, 1, beta2, t)), p), cast_like(h[3], p),
        cast_like(-lr * (1.0 - mu) / (1.0 - mu_product), p),
        cast_like(-lr * mu_next / (1.0 - mu_product * mu_next), p))


@njit(**KERNEL_OPTIONS)
def nadam_kernel(p, g, s, c, h, t):
    k = _nadam_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _nadam_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _nadam_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def nadam_serial(p, g, s, c, h, t):
    k = _nadam_coefs(p, c, h, t)
    for i in range(p.size):
        _nadam_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def nadam_prox(p, s, c, h, t, l1, skip):
    # Not _nadam_coefs: it advances mu_product, which holds step t's value already.
    lr, beta2, eps, mu_product = h[0], h[2], h[3], c[0]
    mu, mu_next = _nadam_mus(h, t)
    step = lr * ((1.0 - mu) / (1.0 - mu_product) + mu_next / (1.0 - mu_product * mu_next))
    inv_bc2 = 1 / (1 - bias_power(c, 1, beta2, t))
    for i in range(p.size - skip):
        shrink(p, i, l1 * step / (np.sqrt(s[1, i] * inv_bc2) + eps))


# h = [lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize]
# s = [exp_avg, exp_avg_sq]; c = [beta1 ** t, beta2 ** t] (_powers)


@njit(**ELEMENT_OPTIONS)
def _radam_elem(i, p, g, s, k):
    inv_bc1, lr, rectify, rect, bc2_sqrt, eps = k[9], k[10], k[11], k[12], k[13], k[14]
    x, gi, m, v = _moments(i, p, g, s, k)
    if rectify:
        p[i] = x - m * inv_bc1 * lr * (bc2_sqrt / (np.sqrt(v) + eps)) * rect
    else:
        p[i] = x - m * inv_bc1 * lr


@njit(inline="always")
def _radam_coefs(p, c, h, t):
    lr, beta1, beta2 = h[0], h[1], h[2]
    power2 = bias_power(c, SLOTS, beta2, t)
    bc2 = 1 - power2
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * power2 / bc2
    rectify = rho_t > 5.0
    rect = 0.0
    if rectify:
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                       / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return _moment_coefs(p, lr, beta1, beta2, h[4], h[5] != 0, h[6] != 0) + (
        cast_like(1 / (1 - bias_power(c, 0, beta1, t)), p), cast_like(lr, p), rectify,
        cast_like(rect, p),
        cast_like(np.sqrt(bc2), p), cast_like(h[3], p))


@njit(**KERNEL_OPTIONS)
def radam_kernel(p, g, s, c, h, t):
    k = _radam_coefs(p, c, h, t)
    if p.size < PRANGE_MIN:
        for i in range(p.size):
            _radam_elem(i, p, g, s, k)
    else:
        for i in prange(p.size):
            _radam_elem(i, p, g, s, k)


@njit(**SERIAL_OPTIONS)
def radam_serial(p, g, s, c, h, t):
    k = _radam_coefs(p, c, h, t)
    for i in range(p.size):
        _radam_elem(i, p, g, s, k)


@njit(**PROX_OPTIONS)
def radam_prox(p, s, c, h, t, l1, skip):
    k = _radam_coefs(p, c, h, t)
    inv_bc1, lr, rectify, rect, bc2_sqrt, eps = k[9], k[10], k[11], k[12], k[13], k[14]
    for i in range(p.size - skip):
        scale = rect * bc2_sqrt / (np.sqrt(s[1, i]) + eps) if rectify else 1.0
        shrink(p, i, l1 * lr * inv_bc1 * scale)
