"""Standard test functions for optimizers, with known minima and starting points.

Each function ``name(x) -> (f, g)`` is a module-level Numba-jitted function
taking a 1-D float32 or float64 array and returning the value and a new
gradient array of ``x``'s dtype; ``name_value(x) -> f`` is the value alone
(for line searches and value-only ``fun``). The arithmetic stays in ``x``'s
dtype: float32 in, float32 work and float32 gradient out.

Each formula is written once, in a private kernel ``_name(x, g)`` that returns
the value and also writes the gradient into ``g`` unless ``g`` is empty; the
public functions are thin wrappers around it. ``name_inplace(x, g) -> f``
writes the gradient into ``g`` (x's shape and dtype), the form
``minimize(..., jac="inplace")`` takes: no array allocated per call.

============  ======  ==============================================  ================
name          dim     f(x)                                            minimum
============  ======  ==============================================  ================
quadratic     any     sum 0.5 c_i x_i^2, c_i = 10^(i/(n-1))            0 at 0
rosenbrock    >= 2    sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2        0 at ones
rastrigin     any     10 n + sum x_i^2 - 10 cos(2 pi x_i)              0 at 0
beale         2       see :func:`beale`                                0 at (3, 0.5)
himmelblau    2       (x^2 + y - 11)^2 + (x + y^2 - 7)^2               0 at 4 points
booth         2       (x + 2y - 7)^2 + (2x + y - 5)^2                  0 at (1, 3)
saddle        2       x^4/4 - x^2/2 + y^2/2                            -1/4 at (+-1, 0)
============  ======  ==============================================  ================

:data:`PROBLEMS` describes each one as a :class:`Problem` (n-D ones in 2-D);
:func:`get_problem` gives a fresh :class:`Problem` of any allowed size.

Importing this module compiles nothing: the functions compile (or load from
Numba's disk cache) at their first call for each dtype.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable

import numba
import numpy as np

from fastopt._config import CACHE
from fastopt._kernels._common import last_use

__all__ = [
    "Problem", "PROBLEMS", "get_problem",
    "quadratic", "quadratic_value", "rosenbrock", "rosenbrock_value",
    "rastrigin", "rastrigin_value", "beale", "beale_value",
    "himmelblau", "himmelblau_value", "booth", "booth_value",
    "saddle", "saddle_value",
] + [f"{name}_inplace" for name in (
    "quadratic", "rosenbrock", "rastrigin", "beale", "himmelblau", "booth", "saddle")]

# No fastmath here: these functions are reference values (exact zeros at the
# minima, finite-difference checks), not hot loops worth reassociating.
_jit = numba.njit(cache=CACHE)
# The formulas, inlined into each public function by Numba: as calls they
# cost the compiled minimize loop ~24 ns per iteration at n = 2 (0.82 against
# 0.58 ms for W3's 10,000 Adam steps, benchmarks/w3_minimize.py).
_inline = numba.njit(cache=CACHE, inline="always")


# --------------------------------------------------------------------------
# Kernels: one copy of each formula. ``t = x.dtype.type`` casts every constant
# to x's dtype, because a float64 literal times a float32 value is float64 in
# Numba and would silently promote the float32 work. Each ends with
# ``last_use(x, g)``: without it, a public function paid atomic reference
# count updates on every call (see ``_kernels._common.last_use``).
# --------------------------------------------------------------------------

@_inline
def _quadratic(x, g):
    t = x.dtype.type
    n = x.size
    want = g.size != 0
    f = t(0.0)
    for i in range(n):
        # c_i = 10^(i/(n-1)): condition number 10 whatever n, so the problem
        # stays equally hard as it grows; n == 1 has the single c_0 = 1.
        c = t(1.0) if n == 1 else t(10.0 ** (i / (n - 1)))
        f += t(0.5) * c * x[i] * x[i]
        if want:
            g[i] = c * x[i]
    last_use(x, g)
    return f


@_inline
def _rosenbrock(x, g):
    t = x.dtype.type
    n = x.size
    want = g.size != 0
    if want:
        # The terms through g first: this loop vectorizes, so the chains
        # below only add (W3 at n = 1000: f in 0.52 against 1.0 us).
        for i in range(n - 1):
            g[i] = _rosen_term(x, i)
    # f in four partial sums (terms i mod 4), added at the end: four short
    # add chains instead of one of n - 1 additions, whose latency was most of
    # the cost at n = 1000. The same sums, so the same f, with or without g.
    f0, f1, f2, f3 = t(0.0), t(0.0), t(0.0), t(0.0)
    i = 0
    while i + 4 <= n - 1:
        f0 += _rosen_term_of(x, g, want, i)
        f1 += _rosen_term_of(x, g, want, i + 1)
        f2 += _rosen_term_of(x, g, want, i + 2)
        f3 += _rosen_term_of(x, g, want, i + 3)
        i += 4
    while i < n - 1:
        f0 += _rosen_term_of(x, g, want, i)
        i += 1
    if want:
        # g[i] = 200 a(i-1) + (-400 x_i a(i) - 2 b(i)), each entry on its own
        # (no store to g[i + 1] read back by the next iteration) and the two
        # ends peeled, so the loop vectorizes. The "0 +" keeps the signs of
        # zero that accumulating into a zeroed g gave.
        if n == 1:
            g[0] = t(0.0)
        else:
            a = x[1] - x[0] * x[0]
            g[0] = t(0.0) + (t(-400.0) * x[0] * a - t(2.0) * (t(1.0) - x[0]))
            for i in range(1, n - 1):
                a = x[i + 1] - x[i] * x[i]
                g[i] = ((t(0.0) + t(200.0) * (x[i] - x[i - 1] * x[i - 1]))
                        + (t(-400.0) * x[i] * a - t(2.0) * (t(1.0) - x[i])))
            g[n - 1] = t(0.0) + t(200.0) * (x[n - 1] - x[n - 2] * x[n - 2])
    last_use(x, g)
    return (f0 + f1) + (f2 + f3)


@_inline
def _rosen_term_of(x, g, stored, i):
    """Term i: stored in g[i] already, or computed."""
    return g[i] if stored else _rosen_term(x, i)


@_inline
def _rosen_term(x, i):
    a = x[i + 1] - x[i] * x[i]
    b = x.dtype.type(1.0) - x[i]
    return x.dtype.type(100.0) * a * a + b * b


@_inline
def _rastrigin(x, g):
    t = x.dtype.type
    A = t(10.0)
    pi = t(math.pi)
    want = g.size != 0
    f = t(0.0)
    for i in range(x.size):
        # A (1 - cos(2 pi x)) written as 2 A sin(pi x)^2: the same function
        # without the cancellation of A n - A sum cos, so f is accurate (and
        # exactly 0) near the minimum instead of rounding noise of size A n.
        s = np.sin(pi * x[i])
        f += x[i] * x[i] + t(2.0) * A * s * s
        if want:
            # d/dx 2 A sin(pi x)^2 = 4 pi A sin(pi x) cos(pi x) = 2 pi A sin(2 pi x)
            g[i] = t(2.0) * x[i] + t(4.0) * pi * A * s * np.cos(pi * x[i])
    last_use(x, g)
    return f


@_inline
def _beale(x, g):
    if x.size != 2:
        raise ValueError("beale: x must have exactly 2 elements")
    t = x.dtype.type
    u, v = x[0], x[1]
    v2 = v * v
    v3 = v2 * v
    a1 = t(1.5) - u + u * v
    a2 = t(2.25) - u + u * v2
    a3 = t(2.625) - u + u * v3
    if g.size != 0:
        g[0] = t(2.0) * (a1 * (v - t(1.0)) + a2 * (v2 - t(1.0)) + a3 * (v3 - t(1.0)))
        g[1] = t(2.0) * u * (a1 + t(2.0) * v * a2 + t(3.0) * v2 * a3)
    last_use(x, g)
    return a1 * a1 + a2 * a2 + a3 * a3


@_inline
def _himmelblau(x, g):
    if x.size != 2:
        raise ValueError("himmelblau: x must have exactly 2 elements")
    t = x.dtype.type
    u, v = x[0], x[1]
    a = u * u + v - t(11.0)
    b = u + v * v - t(7.0)
    if g.size != 0:
        g[0] = t(4.0) * u * a + t(2.0) * b
        g[1] = t(2.0) * a + t(4.0) * v * b
    last_use(x, g)
    return a * a + b * b


@_inline
def _booth(x, g):
    if x.size != 2:
        raise ValueError("booth: x must have exactly 2 elements")
    t = x.dtype.type
    a = x[0] + t(2.0) * x[1] - t(7.0)
    b = t(2.0) * x[0] + x[1] - t(5.0)
    if g.size != 0:
        g[0] = t(2.0) * a + t(4.0) * b
        g[1] = t(4.0) * a + t(2.0) * b
    last_use(x, g)
    return a * a + b * b


@_inline
def _saddle(x, g):
    if x.size != 2:
        raise ValueError("saddle: x must have exactly 2 elements")
    t = x.dtype.type
    u, v = x[0], x[1]
    u2 = u * u
    if g.size != 0:
        g[0] = u * (u2 - t(1.0))
        g[1] = v
    last_use(x, g)
    return t(0.25) * u2 * u2 - t(0.5) * u2 + t(0.5) * v * v


# --------------------------------------------------------------------------
# Public jitted functions. An empty gradient buffer tells a kernel to skip the
# gradient; np.empty(0) costs no more than a view and, unlike x[:0], is
# writable even when x is read-only (Numba types read-only arrays apart).
# The gradient is np.empty(x.shape, x.dtype), not np.empty_like(x): inlined,
# empty_like holds a reference to x of its own, which the allocation's error
# path kept from being pruned (two more atomic updates a call).
# --------------------------------------------------------------------------

@_jit
def quadratic(x):
    r"""Ill-conditioned convex quadratic, any dimension n >= 1.

    .. math:: f(x) = \sum_{i=0}^{n-1} \tfrac12 c_i x_i^2, \quad
              c_i = 10^{i/(n-1)} \ (c_0 = 1 \text{ when } n = 1)

    The curvatures spread geometrically from 1 to 10 (condition number 10).
    Minimum 0 at x = 0.

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (n,), x's dtype
        The gradient ``c_i x_i``, a new array.
    """
    g = np.empty(x.shape, x.dtype)
    return _quadratic(x, g), g


@_jit
def quadratic_value(x):
    """Value of :func:`quadratic` alone (no gradient array allocated)."""
    return _quadratic(x, np.empty(0, x.dtype))


@_jit
def rosenbrock(x):
    r"""Rosenbrock's banana valley, any dimension n >= 2.

    .. math:: f(x) = \sum_{i=0}^{n-2} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2

    Minimum 0 at x = (1, ..., 1). For 4 <= n <= 7 there is also a local
    minimum near (-1, 1, ..., 1).

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (n,), x's dtype
    """
    g = np.empty(x.shape, x.dtype)
    return _rosenbrock(x, g), g


@_jit
def rosenbrock_value(x):
    """Value of :func:`rosenbrock` alone."""
    return _rosenbrock(x, np.empty(0, x.dtype))


@_jit
def rastrigin(x):
    r"""Rastrigin's function (A = 10), any dimension n >= 1; highly multimodal.

    .. math:: f(x) = A n + \sum_{i=0}^{n-1} \left(x_i^2 - A \cos(2\pi x_i)\right)
              = \sum_{i=0}^{n-1} \left(x_i^2 + 2A \sin^2(\pi x_i)\right)

    (computed in the second form, exact near the minimum). Global minimum 0
    at x = 0; a local minimum near every integer point.

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (n,), x's dtype
        ``2 x_i + 2 pi A sin(2 pi x_i)``.
    """
    g = np.empty(x.shape, x.dtype)
    return _rastrigin(x, g), g


@_jit
def rastrigin_value(x):
    """Value of :func:`rastrigin` alone."""
    return _rastrigin(x, np.empty(0, x.dtype))


@_jit
def beale(x):
    """Beale's function, 2-D.

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Minimum 0 at (3, 0.5); flat valleys along x = 0 and y = 1.

    Parameters
    ----------
    x : ndarray, shape (2,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (2,), x's dtype

    Raises
    ------
    ValueError
        If ``x`` does not have 2 elements.
    """
    g = np.empty(x.shape, x.dtype)
    return _beale(x, g), g


@_jit
def beale_value(x):
    """Value of :func:`beale` alone."""
    return _beale(x, np.empty(0, x.dtype))


@_jit
def himmelblau(x):
    """Himmelblau's function, 2-D, with four global minima.

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    Value 0 at (3, 2) and near (-2.805118, 3.131312), (-3.779310, -3.283186),
    (3.584428, -1.848126); a local maximum near (-0.270845, -0.923039).

    Parameters
    ----------
    x : ndarray, shape (2,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (2,), x's dtype

    Raises
    ------
    ValueError
        If ``x`` does not have 2 elements.
    """
    g = np.empty(x.shape, x.dtype)
    return _himmelblau(x, g), g


@_jit
def himmelblau_value(x):
    """Value of :func:`himmelblau` alone."""
    return _himmelblau(x, np.empty(0, x.dtype))


@_jit
def booth(x):
    """Booth's function, 2-D: a convex quadratic with coupled variables.

    .. math:: f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2

    Minimum 0 at (1, 3).

    Parameters
    ----------
    x : ndarray, shape (2,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (2,), x's dtype

    Raises
    ------
    ValueError
        If ``x`` does not have 2 elements.
    """
    g = np.empty(x.shape, x.dtype)
    return _booth(x, g), g


@_jit
def booth_value(x):
    """Value of :func:`booth` alone."""
    return _booth(x, np.empty(0, x.dtype))


@_jit
def saddle(x):
    r"""A saddle point that is bounded below (tilted double well), 2-D.

    .. math:: f(x, y) = \tfrac14 x^4 - \tfrac12 x^2 + \tfrac12 y^2

    Not the unbounded x^2 - y^2: this one has a saddle at the origin
    (Hessian diag(-1, 1), f = 0) and two global minima at (+-1, 0) with
    f = -1/4, so an optimizer can be shown escaping the saddle and landing
    somewhere. Along x = 0 the gradient points at the saddle; started near
    that line, plain gradient descent lingers there before it escapes.

    Parameters
    ----------
    x : ndarray, shape (2,), float32 or float64

    Returns
    -------
    f : float
    g : ndarray, shape (2,), x's dtype
        ``(x^3 - x, y)``.

    Raises
    ------
    ValueError
        If ``x`` does not have 2 elements.
    """
    g = np.empty(x.shape, x.dtype)
    return _saddle(x, g), g


@_jit
def saddle_value(x):
    """Value of :func:`saddle` alone."""
    return _saddle(x, np.empty(0, x.dtype))



# In-place forms for jac="inplace": the gradient goes into g, f is returned.

@_jit
def quadratic_inplace(x, g):
    """:func:`quadratic` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _quadratic(x, g)

@_jit
def rosenbrock_inplace(x, g):
    """:func:`rosenbrock` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _rosenbrock(x, g)

@_jit
def rastrigin_inplace(x, g):
    """:func:`rastrigin` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _rastrigin(x, g)

@_jit
def beale_inplace(x, g):
    """:func:`beale` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _beale(x, g)

@_jit
def himmelblau_inplace(x, g):
    """:func:`himmelblau` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _himmelblau(x, g)

@_jit
def booth_inplace(x, g):
    """:func:`booth` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _booth(x, g)

@_jit
def saddle_inplace(x, g):
    """:func:`saddle` writing the gradient into ``g`` (shaped and typed like ``x``); returns f."""
    return _saddle(x, g)


# --------------------------------------------------------------------------
# Problem descriptions
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # eq=False: == on ndarray fields is ambiguous
class Problem:
    """A test problem: function, usual start, known minimum, plot box.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"rosenbrock"``.
    fun : numba dispatcher
        Jitted ``fun(x) -> (f, g)`` (value and new gradient array).
        Works with ``fastopt.minimize(p.fun, p.x0, jac=True)``.
    x0 : ndarray, float64
        The usual starting point.
    xmin : ndarray, float64
        A known minimizer (for multimodal problems, one global minimizer).
    fmin : float
        ``fun(xmin)[0]``, exactly.
    dim : int or None
        The dimension the function accepts; None for any dimension (then
        ``x0.size`` is the size this instance was made for).
    bounds : ((float, float), (float, float)) or None
        Plot box ``((xlo, xhi), (ylo, yhi))`` for 2-D instances, else None.
    description : str
        One line with the formula.

    Notes
    -----
    The arrays in :data:`PROBLEMS` are read-only, so the shared registry
    cannot be changed by accident; :func:`get_problem` returns writable
    copies, ready to be updated in place by an optimizer.
    """

    name: str
    fun: Callable
    x0: np.ndarray
    xmin: np.ndarray
    fmin: float
    dim: int | None
    bounds: tuple[tuple[float, float], tuple[float, float]] | None
    description: str


@dataclass(frozen=True)
class _Spec:
    """How to build a Problem of size n (x0, xmin are functions of n)."""

    fun: Callable
    x0: Callable[[int], np.ndarray]
    xmin: Callable[[int], np.ndarray]
    fmin: float
    dim: int | None      # fixed dimension, or None for any
    min_dim: int
    bounds: tuple[tuple[float, float], tuple[float, float]]
    description: str


def _rosenbrock_x0(n: int) -> np.ndarray:
    """The classic start (-1.2, 1, -1.2, 1, ...)."""
    x0 = np.ones(n)
    x0[::2] = -1.2
    return x0


def _point(*values: float) -> Callable[[int], np.ndarray]:
    """A fixed-size point, as a function of n like the n-D ones."""
    def make(n: int) -> np.ndarray:
        return np.array(values, dtype=np.float64)
    return make


def _full(value: float) -> Callable[[int], np.ndarray]:
    def make(n: int) -> np.ndarray:
        return np.full(n, value, dtype=np.float64)
    return make


_SPECS: dict[str, _Spec] = {
    "quadratic": _Spec(
        quadratic, _full(1.0), _full(0.0), 0.0, None, 1, ((-1.5, 1.5), (-1.5, 1.5)),
        "sum 0.5 c_i x_i^2, c_i = 10^(i/(n-1)) from 1 to 10; min 0 at 0"),
    "rosenbrock": _Spec(
        rosenbrock, _rosenbrock_x0, _full(1.0), 0.0, None, 2, ((-2.0, 2.0), (-1.0, 3.0)),
        "sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; min 0 at (1, ..., 1)"),
    # Start at 3: in the basin of the local minimum near 3, where plain
    # gradient descent stalls; the global minimum is 0 at the origin.
    "rastrigin": _Spec(
        rastrigin, _full(3.0), _full(0.0), 0.0, None, 1, ((-5.12, 5.12), (-5.12, 5.12)),
        "10 n + sum x_i^2 - 10 cos(2 pi x_i); many local minima, global min 0 at 0"),
    "beale": _Spec(
        beale, _point(1.0, 1.0), _point(3.0, 0.5), 0.0, 2, 2, ((-4.5, 4.5), (-4.5, 4.5)),
        "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2; min 0 at (3, 0.5)"),
    "himmelblau": _Spec(
        himmelblau, _point(0.0, 0.0), _point(3.0, 2.0), 0.0, 2, 2, ((-5.0, 5.0), (-5.0, 5.0)),
        "(x^2 + y - 11)^2 + (x + y^2 - 7)^2; four minima with value 0, one at (3, 2)"),
    "booth": _Spec(
        booth, _point(0.0, 0.0), _point(1.0, 3.0), 0.0, 2, 2, ((-10.0, 10.0), (-10.0, 10.0)),
        "(x + 2y - 7)^2 + (2x + y - 5)^2; min 0 at (1, 3)"),
    # Start just off the line x = 0, where the gradient leads to the saddle:
    # an optimizer has to notice the small negative-curvature pull to escape.
    "saddle": _Spec(
        saddle, _point(0.01, 1.0), _point(1.0, 0.0), -0.25, 2, 2, ((-2.0, 2.0), (-1.5, 1.5)),
        "x^4/4 - x^2/2 + y^2/2; saddle at (0, 0), minima -1/4 at (+-1, 0)"),
}


def _build(name: str, n: int) -> Problem:
    spec = _SPECS[name]
    return Problem(
        name=name,
        fun=spec.fun,
        x0=spec.x0(n),
        xmin=spec.xmin(n),
        fmin=spec.fmin,
        dim=spec.dim,
        bounds=spec.bounds if n == 2 else None,
        description=spec.description,
    )


def _frozen(p: Problem) -> Problem:
    p.x0.setflags(write=False)
    p.xmin.setflags(write=False)
    return p


#: Every problem by name; n-D problems at dimension 2. Arrays are read-only.
PROBLEMS: dict[str, Problem] = {
    name: _frozen(_build(name, spec.dim or 2)) for name, spec in _SPECS.items()
}


def get_problem(name: str, dim: int | None = None) -> Problem:
    """A fresh :class:`Problem` by name, with writable ``x0`` and ``xmin``.

    Parameters
    ----------
    name : str
        One of ``PROBLEMS`` (case-insensitive).
    dim : int, optional
        Size for the n-D problems (quadratic, rastrigin: >= 1; rosenbrock:
        >= 2); default 2. For a fixed 2-D problem it may be omitted or 2.

    Returns
    -------
    Problem
        ``x0`` and ``xmin`` are new arrays of size ``dim``.

    Raises
    ------
    TypeError
        If ``name`` is not a str or ``dim`` is not an integer.
    ValueError
        If ``name`` is unknown (the message lists the valid names) or ``dim``
        is out of range for the problem.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    key = name.lower()
    if key not in _SPECS:
        raise ValueError(f"name must be one of {', '.join(sorted(_SPECS))}; got {name!r}")
    spec = _SPECS[key]
    if dim is None:
        n = spec.dim or 2
    else:
        if isinstance(dim, (bool, np.bool_)):
            raise TypeError("dim must be an integer, got bool")
        try:
            n = operator.index(dim)
        except TypeError:
            raise TypeError(f"dim must be an integer, got {type(dim).__name__}") from None
        if spec.dim is not None and n != spec.dim:
            raise ValueError(f"dim must be {spec.dim} for {key!r} (a fixed "
                             f"{spec.dim}-D problem), got {n}")
        if n < spec.min_dim:
            raise ValueError(f"dim must be >= {spec.min_dim} for {key!r}, got {n}")
    return _build(key, n)
