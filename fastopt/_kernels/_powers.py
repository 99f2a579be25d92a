"""``beta ** t`` for the bias corrections, advanced by one multiplication a step.

torch computes ``1 - beta ** step`` with the C library's ``pow``: ~19 ns a
call here, two per Adam step, a third of a compiled Adam iteration on a
small problem. A kernel instead keeps ``beta ** t`` in its scalar state ``c``
as a double-double ``hi + lo`` and multiplies it by ``beta`` exactly (an FMA
gives the product's rounding error) at each step. ``hi`` is then ``beta ** t``
correctly rounded, the value a correctly rounded ``pow`` returns (glibc's is
within 0.52 ulp: at rare steps it is one ulp away).

The state is a cache of a function of (beta, t): when it does not hold the
previous step with the same beta (the first step, a changed beta, a step
count set by hand), the power is recomputed by binary powering in
double-double, ``O(log t)`` multiplications, which rounds to the same ``hi``.

Below ``TINY`` (2^-200) a power is stored and returned as 0: every use of it
rounds to the same value (``1 - p`` is 1 from 2^-54 down, and RAdam's
``2 t p / (1 - p)`` against rho_inf >= 1 is absorbed for any t below 2^99),
and a double-double sliding into the subnormal range costs a microcode
assist per operation on Intel cores (~160 ns an Adam step at n = 2 after
step ~6,400 with beta 0.9, five times the step itself).

A power takes ``SLOTS`` entries of ``c`` from ``c[at]``: t, beta, and
beta ** t as (hi, lo). ``state(name)`` names them for the registry.
"""

from numba import njit, types
from numba.extending import intrinsic

SLOTS = 4
TINY = 2.0 ** -200


# (suffix, initial value) of a power's entries, in c's order; the initial values are
# a cache miss (t 0, beta NaN), so a missing entry recomputes the power
_PARTS = (("_step", 0.0), ("_beta", float("nan")), ("", 1.0), ("_lo", 0.0))


def state(name: str) -> tuple:
    """The registry's (name, initial value) entries of one power named ``name``
    (ending in "_power", which ``is_state`` recognizes)."""
    if not name.endswith("_power"):
        raise ValueError(f"a power's name ends in '_power', got {name!r}")
    return tuple((name + suffix, init) for suffix, init in _PARTS)


def is_state(key: str) -> bool:
    """Whether a scalar-state name is one of a power's entries (``state``): a cache of
    (beta, t) that a state dict may leave out (then recomputed at the next step)."""
    return key.endswith(tuple("_power" + suffix for suffix, _ in _PARTS))


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
def bias_power(c, at, beta, t):
    """beta ** t, correctly rounded (0 below ``TINY``); ``c[at:at + SLOTS]`` carries it
    from step to step."""
    if c[at + 1] == beta and c[at] == t - 1:
        # (hi + lo) * beta: hi' = RN(hi beta + lo beta), within 2^-106 of the exact
        # product; hi beta - hi' is exact (an FMA), and lo' adds the rest. Only what
        # changes is stored: in the compiled loop at n = 2 this path, taken first,
        # runs an Adam step in 23 against 44 ns for a general double-double product.
        hi, lo = c[at + 2], c[at + 3]
        tail = lo * beta
        hi_next = fma(hi, beta, tail)
        lo_next = fma(hi, beta, -hi_next) + tail
        if hi_next < TINY:
            hi_next = lo_next = 0.0
        c[at] = t
        c[at + 2] = hi_next
        c[at + 3] = lo_next
        return hi_next
    if not (c[at + 1] == beta and c[at] == t):
        hi, lo = _dd_pow(beta, int(t))
        if hi < TINY:
            hi = lo = 0.0
        c[at] = t
        c[at + 1] = beta
        c[at + 2] = hi
        c[at + 3] = lo
    return c[at + 2]
