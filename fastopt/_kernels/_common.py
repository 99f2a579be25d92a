"""Helpers shared by the kernels.

Numba promotes ``int op float32`` to float64, so kernels never write a bare
number into float32 arithmetic: every constant goes through ``cast_like``.
"""

from numba import njit, types
from numba.core.typing import signature
from numba.extending import intrinsic, overload


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


@njit(inline="always")
def shrink(p, i, threshold):
    """The L1 proximal operator on p[i]: move it toward 0 by ``threshold``, stopping at 0."""
    x = p[i]
    if x > threshold:
        p[i] = x - threshold
    elif x < -threshold:
        p[i] = x + threshold
    else:
        p[i] = 0


@intrinsic
def float_bits(typingctx, x):
    """The IEEE bits of a float64 (float32) as an int64 (int32)."""
    if x == types.float64:
        ity = types.int64
    elif x == types.float32:
        ity = types.int32
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(ity))

    return ity(x), codegen


@intrinsic
def float_from_bits(typingctx, bits):
    """The float64 (float32) whose IEEE bits are the int64 (int32) ``bits``."""
    if bits == types.int64:
        fty = types.float64
    elif bits == types.int32:
        fty = types.float32
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(fty))

    return fty(bits), codegen


@intrinsic
def last_use(typingctx, *arrays):
    """Compiles to nothing; to Numba, a use of ``arrays`` at this point.

    A function inlined by Numba holds its own references to its array
    arguments and drops each after its last use. When the last uses sit on
    different branches, LLVM's reference-count pruning cannot pair the drops
    with the takes, and every call pays for them: atomic updates, ~7-10 ns
    each on an Intel host (problems.rosenbrock_inplace at n = 2: 35 against
    12 ns a call). Ending the function with ``last_use(x, g)`` moves every
    drop to that one place, where the pruning removes the pairs.
    """
    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return signature(types.none, types.StarArgTuple.from_types(arrays)), codegen
