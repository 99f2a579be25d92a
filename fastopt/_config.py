"""Compile-time switches, read once from the environment.

Numba freezes module globals into compiled code, and its disk cache does not
notice when they change: after changing one of these variables, clear the
cache (``NUMBA_CACHE_DIR`` or the ``__pycache__`` folders) to see its effect.

FASTOPT_FASTMATH      "1" (default) or "0": LLVM fast-math flags on kernels.
FASTOPT_PARALLEL_MIN  element count from which optimizer kernels use prange
                      (default: compiled loops from 32768 float64 / 65536
                      float32 elements; the optimizer classes time both ways
                      from PRANGE_MIN up and keep the faster). Set, it fixes
                      every threshold and turns the timing off.
FASTOPT_CACHE         "1" (default) or "0": Numba's on-disk cache of kernels.
FASTOPT_FAST_EXIT     "1" (default) or "0": skip the garbage collections of
                      interpreter shutdown (see ``_exit``).
"""

import os


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "1" if default else "0").strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"environment variable {name} must be 0 or 1, got {value!r}")
    return value in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"environment variable {name} must be >= 1, got {number}")
    return number


# No "nnan"/"ninf": with them LLVM may fold away the checks that catch a NaN
# or inf gradient. The remaining flags are what let the loops vectorize; the
# losses' reductions need "reassoc" for that.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"} if _flag("FASTOPT_FASTMATH", True) else False

# The optimizer kernels drop "reassoc" and "contract" too: under them LLVM may
# round one expression differently in a loop's vector body, its scalar
# remainder and its prange copy, and every copy of a kernel (the prange
# kernel, its serial twin inside a compiled loop) must give the same bits.
# Nor "arcp": float32 divisions then differ between those copies. The
# element loops vectorize without any of the three.
KERNEL_FASTMATH = FASTMATH and {"nsz", "afn"}

# Below this many elements a prange launch costs more than it saves
# (benchmarks/w1_step.py --crossover on 2 cores, see docs/performance):
# float64 Adam and SGD steps win from 16-32k elements whether the worker
# threads are hot or parked, float32 ones (half the bytes) only from ~64k.
# Compiled loops (minimize, training) call a kernel's serial twin below these.
PARALLEL_MIN = _int("FASTOPT_PARALLEL_MIN", 65536)  # float32
PARALLEL_MIN_F64 = _int("FASTOPT_PARALLEL_MIN", 32768)

# The kernels' own branch: prange from this many elements. Where the launch
# pays off depends on the optimizer's work per element and on the machine
# (Adam's divisions: from ~8k on an Intel host; SGD's few flops: past 32k),
# so an optimizer class times the kernel against its serial twin on its
# first steps for sizes from PRANGE_MIN to TUNE_MAX and keeps the faster
# (``_optimizer._Timed``); elementwise updates give the same bits either way.
# No prange launch has paid off below 4096 elements on either test host.
TUNE = "FASTOPT_PARALLEL_MIN" not in os.environ
PRANGE_MIN = _int("FASTOPT_PARALLEL_MIN", 4096)
TUNE_MAX = 1 << 20


def parallel_min(dtype) -> int:
    """The element count from which compiled loops call the prange kernel for ``dtype``."""
    import numpy as np

    return PARALLEL_MIN_F64 if np.dtype(dtype).itemsize == 8 else PARALLEL_MIN

def compile_options(dispatcher) -> dict:
    """The options ``dispatcher`` was compiled with that shape its code.

    A function that inlines its source (a kernel, a loss) and is compiled
    with these gives its bits.
    """
    return {k: v for k, v in dispatcher.targetoptions.items()
            if k in ("parallel", "error_model", "fastmath")}


CACHE = _flag("FASTOPT_CACHE", True)
FAST_EXIT = _flag("FASTOPT_FAST_EXIT", True)

# Options of helpers whose float arithmetic must round the same wherever they
# are called from. fastmath is stated: left unset, Numba compiles a helper
# first called from a function with fast-math flags (an epoch that inlines a
# loss) under that function's flags, and its bits then depend on which caller
# compiled it first.
STRICT = dict(cache=CACHE, error_model="numpy", fastmath=False)

# Options for every optimizer kernel. error_model="numpy" drops the
# zero-division branch that blocks vectorization of the update loops.
KERNEL_OPTIONS = dict(cache=CACHE, parallel=True, error_model="numpy", fastmath=KERNEL_FASTMATH)
# The same kernels without prange ("serial twins"), for compiled loops that
# are themselves disk-cached: a cached function that calls one with a prange
# crashes when it is loaded back (numba issue #8578). They keep parallel=True
# for Numba's parallel pipeline, under which their loops vectorize (without
# it, branches on the optimizer's flags and Numba's max/min keep LLVM from
# vectorizing them: 2-3x slower); with no prange there is nothing to launch.
SERIAL_OPTIONS = dict(cache=CACHE, parallel=True, error_model="numpy", fastmath=KERNEL_FASTMATH)
# The L1 proximal steps that follow a kernel's step (serial: they run once per
# step beside a loss that costs far more).
PROX_OPTIONS = dict(cache=CACHE, error_model="numpy", fastmath=KERNEL_FASTMATH)
# Options for the element functions inlined into those kernels.
ELEMENT_OPTIONS = dict(inline="always", error_model="numpy", fastmath=KERNEL_FASTMATH)
