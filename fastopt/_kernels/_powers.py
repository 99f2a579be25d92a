"""``beta ** t`` for the bias corrections, advanced by one multiplication a step.

torch computes ``1 - beta ** step`` with the C library's ``pow``: two calls
per Adam step, ~19 ns each here, a third of a compiled Adam iteration on a
small problem. A kernel instead keeps ``beta ** t`` in its scalar state ``c``
as a double-double ``hi + lo`` and multiplies it by ``beta`` exactly (an FMA
gives the product's rounding error) at each step. ``hi`` is then ``beta ** t``
correctly rounded, the value a correctly rounded ``pow`` returns (glibc's is
within 0.52 ulp: at rare steps it is one ulp away).

The state is a cache of a function of (beta, t): when it does not hold the
previous step with the same beta (the first step, a changed beta, a step
count set by hand), the powers are recomputed by binary powering in
double-double, ``O(log t)`` multiplications, which rounds to the same ``hi``.

Layout, from ``c[at]``: t, beta1, beta1**t (hi, lo), beta2, beta2**t (hi, lo).
"""

from numba import njit, types
from numba.extending import intrinsic

# (name, initial value) of each entry, as the registry lists an optimizer's scalar state
STATE = (("power_step", 0.0), ("power_beta1", float("nan")), ("beta1_power", 1.0),
         ("beta1_power_lo", 0.0), ("power_beta2", float("nan")), ("beta2_power", 1.0),
         ("beta2_power_lo", 0.0))
SLOTS = len(STATE)


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c with one rounding (``llvm.fma``: the instruction, or libm's fma)."""
    if not (a == types.float64 and b == types.float64 and c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@njit(inline="always")
def _dd_mul(ah, al, bh, bl):
    """(ah + al) * (bh + bl) as a normalized double-double (error ~2^-104 relative)."""
    p = ah * bh
    e = fma(ah, bh, -p) + (ah * bl + al * bh)
    s = p + e
    return s, e - (s - p)


@njit(inline="always")
def _dd_pow(b, n):
    rh, rl = 1.0, 0.0
    xh, xl = b, 0.0
    while n > 0:
        if n & 1:
            rh, rl = _dd_mul(rh, rl, xh, xl)
        n >>= 1
        if n > 0:
            xh, xl = _dd_mul(xh, xl, xh, xl)
    return rh, rl


@njit(inline="always")
def bias_powers(c, at, beta1, beta2, t):
    """(beta1 ** t, beta2 ** t), each correctly rounded; ``c[at:at + SLOTS]`` carries them on."""
    same = c[at + 1] == beta1 and c[at + 4] == beta2
    if not (same and c[at] == t):
        if same and c[at] == t - 1:
            h1, l1 = _dd_mul(c[at + 2], c[at + 3], beta1, 0.0)
            h2, l2 = _dd_mul(c[at + 5], c[at + 6], beta2, 0.0)
        else:
            n = int(t)
            h1, l1 = _dd_pow(beta1, n)
            h2, l2 = _dd_pow(beta2, n)
        c[at] = t
        c[at + 1] = beta1
        c[at + 2] = h1
        c[at + 3] = l1
        c[at + 4] = beta2
        c[at + 5] = h2
        c[at + 6] = l2
    return c[at + 2], c[at + 5]
