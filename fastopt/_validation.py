"""Argument checks shared by every public entry point.

Each check returns the normalized value or raises ``TypeError``/``ValueError``
whose message names the argument and the rule, before anything is compiled.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def real(name: str, value, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in [low, high] (ends open where asked)."""
    kind = type(value)
    # float and int first: numbers.Real is an ABC, whose isinstance costs ~0.5 us,
    # and every optimizer construction and state load checks dozens of these.
    if kind is not float and kind is not int and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {x}")
    return x


def nonneg(name: str, value) -> float:
    return real(name, value, low=0.0)


def positive(name: str, value) -> float:
    return real(name, value, low=0.0, low_open=True)


def unit_interval(name: str, value) -> float:
    """In [0, 1]."""
    return real(name, value, low=0.0, high=1.0)


def flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def pair(name: str, value) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a pair (a, b), got {value!r}")
    return tuple(value)


def betas(name: str, value) -> tuple[float, float]:
    """Two decay rates, each in [0, 1)."""
    b1, b2 = pair(name, value)
    return (real(f"{name}[0]", b1, low=0.0, high=1.0, high_open=True),
            real(f"{name}[1]", b2, low=0.0, high=1.0, high_open=True))


def unit_pair(name: str, value) -> tuple[float, float]:
    """Two rates, each in [0, 1] (Lion's betas)."""
    b1, b2 = pair(name, value)
    return unit_interval(f"{name}[0]", b1), unit_interval(f"{name}[1]", b2)


def etas(name: str, value) -> tuple[float, float]:
    """Rprop's (etaminus, etaplus) with 0 < etaminus < 1 < etaplus."""
    lo, hi = pair(name, value)
    lo = real(f"{name}[0]", lo, low=0.0, high=1.0, low_open=True, high_open=True)
    hi = real(f"{name}[1]", hi, low=1.0, low_open=True)
    return lo, hi


def step_sizes(name: str, value) -> tuple[float, float]:
    """Rprop's (min, max) step size with 0 <= min <= max."""
    lo, hi = pair(name, value)
    lo = real(f"{name}[0]", lo, low=0.0)
    hi = real(f"{name}[1]", hi, low=lo)
    return lo, hi


def learning_rate(name: str, value):
    """A float >= 0 or a schedule (anything with ``encode`` and a call)."""
    if callable(value) and hasattr(value, "encode"):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float or a fastopt.schedules schedule, "
                        f"got {type(value).__name__}")
    return real(name, value, low=0.0)


def float_array(name: str, a, *, writeable: bool = False) -> np.ndarray:
    """A float32/float64 C-contiguous ndarray, as the kernels need."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} must be writeable: it is updated in place")
    return a
