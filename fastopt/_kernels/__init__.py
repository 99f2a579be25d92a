"""Numba update kernels, one per optimizer, all with one signature.

``kernel(p, g, s, c, h, t)`` updates in place:

p  parameters, 1-D C-contiguous float32 or float64
g  gradient, same dtype and size as ``p``
s  per-element state slots, 2-D ``(slots, p.size)``, dtype of ``p``
c  per-tensor scalar state, 1-D float64 (rounded to p's dtype, as torch keeps
   it in the default dtype)
h  hyperparameters, 1-D float64, laid out as the registry says
t  the step number being taken, 1 for the first step (float64)

Each kernel reads its scalars, casts the per-element coefficients to the
dtype of ``p`` (so float32 work stays float32) and runs ONE inlined element
update, serially below ``PRANGE_MIN`` elements and with ``prange`` above.

Beside each kernel, ``<name>_prox(p, s, c, h, t, l1, skip)`` is the L1
proximal step that follows step ``t``: it soft-thresholds every entry but the
last ``skip`` by ``l1`` times the optimizer's per-coordinate step size, the
factor by which the step multiplies a gradient that stays constant (Adam:
``lr / bias_correction1 / (sqrt(v_hat) + eps)``; SGD with momentum:
``lr (1 - dampening) / (1 - momentum)``). With that threshold the fixed
points of "step, then shrink" are exactly the minimizers of
``f + l1 * ||x||_1``, as for proximal gradient descent. Rprop and Lion step
by the gradient's sign, which no such factor describes; they shrink by
``lr * l1``, an approximation.
"""

import contextlib
import warnings

from numba import njit
from numba.core.errors import NumbaPerformanceWarning

_INLINABLE: dict = {}


def inlinable(kernel):
    """``kernel`` (a kernel or its serial twin: the same function) for Numba to inline.

    A loop compiled with the kernel's options (``_config.compile_options``)
    that inlines it gives the kernel's bits, and LLVM sees the update next to the loop's own code (the W3 loop at
    N=2: 107 against 115 ns per iteration). A kernel's prange region becomes the
    loop's own: such a loop can be disk-cached, where one that calls the
    parallel kernel crashes when loaded back (numba issue #8578).
    """
    inline = _INLINABLE.get(kernel)
    if inline is None:
        inline = _INLINABLE[kernel] = njit(inline="always")(kernel.py_func)
    return inline


_RAN: set = set()  # keys of quiet_first_call that returned: nothing left to compile for them


def quiet_first_call(key):
    """``quiet_twin_compiles()`` for a call that may compile, a no-op context once ``key`` ran.

    ``key`` names the compiled function and every argument type it is called
    with (None when those are not known: always quiet); ``ran(key)`` records
    a call that returned. The filter costs ~3 us a call, ~90 us with the
    caches cold after a data-mode epoch.
    """
    return contextlib.nullcontext() if key is not None and key in _RAN else quiet_twin_compiles()


def ran(key) -> None:
    """Record that the call ``key`` names returned (see ``quiet_first_call``)."""
    if key is not None:
        _RAN.add(key)


@contextlib.contextmanager
def quiet_twin_compiles():
    """Silence Numba's warning about the serial twins while they compile.

    They (the kernels' and the losses') are compiled with parallel=True and no
    prange on purpose (see ``_config.SERIAL_OPTIONS``), which Numba reports as
    a missed parallelization; so are the minimize loops that inline a serial
    twin (``inlinable``). Only that warning, only for those files.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=(r"(?s).*no transformation for parallel execution was possible"
                     r".*(_kernels|losses\.py|_loop\.py)"),
            category=NumbaPerformanceWarning)
        yield
