"""Helpers shared by the kernels.

Numba promotes ``int op float32`` to float64, so kernels never write a bare
number into float32 arithmetic: every constant goes through ``cast_like``.
"""

from numba import njit
from numba.extending import overload


def cast_like(x, a):
    """Return the float ``x`` converted to the dtype of array ``a``."""
    return a.dtype.type(x)


@overload(cast_like, inline="always")
def _cast_like_impl(x, a):
    dtype = a.dtype

    def impl(x, a):
        return dtype(x)

    return impl


@njit(inline="always")
def lerp(a, b, w, one_minus_w, small):
    # torch's lerp: the formula is picked by |w| < 0.5 for accuracy at both ends.
    if small:
        return a + w * (b - a)
    return b - (b - a) * one_minus_w
