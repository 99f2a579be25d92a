"""Pictures of optimizer runs (needs matplotlib: ``pip install 'fastopt[plot]'``).

:func:`plot_trajectories`
    the iterates of several optimizers on a 2-D function's contour map;
:func:`plot_loss_curves`
    the objective per iteration (or epoch) from ``OptimizeResult.history``;
:func:`plot_train_validation`
    training and validation loss of a data-mode run, with the best
    (early-stopping) epoch marked.

Each function draws into ``ax`` (a new figure's axes when ``ax`` is None) and
returns the Axes. matplotlib is imported inside the functions, so importing
this module works without it; calling a function without it raises
ImportError with the install hint.

Example
-------
>>> import numpy as np, fastopt
>>> from fastopt.problems import get_problem
>>> from fastopt.plot import plot_trajectories
>>> p = get_problem("rosenbrock")
>>> path = [p.x0.copy()]
>>> res = fastopt.minimize(p.fun, p.x0, jac=True, method="adam",
...                        options={"lr": 0.1}, callback=path.append)
>>> ax = plot_trajectories(p, {"adam": np.array(path)})   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = ["plot_trajectories", "plot_loss_curves", "plot_train_validation", "method_style"]

INSTALL_HINT = "fastopt.plot needs matplotlib: pip install 'fastopt[plot]' (or pip install matplotlib)"

_LINESTYLES = ("-", "--", ":", "-.")


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def _axes(ax):
    """``ax``, or the axes of a new pyplot figure (pyplot only when it is needed)."""
    _require_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(layout="constrained")
    return ax


def method_style(i: int) -> dict:
    """Colour and line style of the ``i``-th curve: the 10 ``C`` colours, then new dashes.

    The same index gives the same style in every function here, so one method
    keeps its colour across the panels of a figure.
    """
    return {"color": f"C{i % 10}", "linestyle": _LINESTYLES[(i // 10) % len(_LINESTYLES)]}


# --------------------------------------------------------------------------
# Trajectories
# --------------------------------------------------------------------------

def _as_problem(problem_or_fun):
    """(Problem or None, function) from a Problem, a problem name or a callable."""
    from .problems import PROBLEMS, Problem

    if isinstance(problem_or_fun, str):
        key = problem_or_fun.lower()
        if key not in PROBLEMS:
            raise ValueError(f"unknown problem {problem_or_fun!r}; valid names: "
                             f"{', '.join(PROBLEMS)}")
        problem_or_fun = PROBLEMS[key]
    if isinstance(problem_or_fun, Problem):
        return problem_or_fun, problem_or_fun.fun
    if not callable(problem_or_fun):
        raise TypeError("problem_or_fun must be a fastopt.problems.Problem, a problem name or a "
                        f"callable f(x), got {type(problem_or_fun).__name__}")
    return None, problem_or_fun


def _value(fun: Callable, x: np.ndarray) -> float:
    """f(x) of a function returning a value or ``(value, gradient)``."""
    out = fun(x)
    if isinstance(out, tuple):
        out = out[0]
    return float(out)


def _grid(fun: Callable, bounds, resolution: int):
    (xlo, xhi), (ylo, yhi) = bounds
    xs = np.linspace(xlo, xhi, resolution)
    ys = np.linspace(ylo, yhi, resolution)
    Z = np.empty((resolution, resolution))
    x = np.empty(2)
    # One call per grid point: the test problems take one point at a time
    # (a jitted call costs about a microsecond, 40 000 of them a few hundredths of a second).
    for i, y in enumerate(ys):
        x[1] = y
        for j, xv in enumerate(xs):
            x[0] = xv
            Z[i, j] = _value(fun, x)
    return xs, ys, Z


def _check_paths(paths) -> dict:
    if not isinstance(paths, Mapping):
        raise TypeError(f"paths must be a dict name -> array of shape (k, 2), got "
                        f"{type(paths).__name__}")
    out = {}
    for name, path in paths.items():
        p = np.asarray(path, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"paths[{name!r}] must have shape (k, 2), got {p.shape}")
        out[str(name)] = p
    return out


def _bounds_around(points: list[np.ndarray]):
    pts = np.concatenate([p[np.isfinite(p).all(axis=1)] for p in points]) if points else np.zeros((0, 2))
    if pts.size == 0:
        return ((-1.0, 1.0), (-1.0, 1.0))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum(0.1 * (hi - lo), 0.5)
    return ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))


def _auto_levels(D: np.ndarray, n: int):
    """(levels, log?) for D = Z - min Z >= 0.

    Log-spaced levels when the values span orders of magnitude over the box
    (Rosenbrock, Beale: a deep narrow valley that linear levels would leave
    blank), linear ones otherwise (quadratics, Rastrigin's bumps).
    """
    top = float(np.nanmax(D))
    low = float(np.nanpercentile(D, 10))
    if top > 0 and (low <= 0 or top / low > 100):
        positive = D[D > 0]
        floor = max(float(np.nanpercentile(positive, 0.05)) if positive.size else top * 1e-6,
                    top * 1e-8)
        return np.geomspace(floor, top, n), True
    return np.linspace(0.0, top, n + 1)[1:], False


def plot_trajectories(problem_or_fun, paths: Mapping[str, np.ndarray], ax=None, bounds=None,
                      levels=None, *, xmin=None, title: str | None = None, resolution: int = 200):
    """Draw the iterates of several optimizers on the contour map of a 2-D function.

    Parameters
    ----------
    problem_or_fun : fastopt.problems.Problem, str or callable
        A test problem (or its name) from :mod:`fastopt.problems`, whose plot
        box and minimum are then used, or any ``f(x)`` of a 2-element array
        returning a value or ``(value, gradient)``.
    paths : dict str -> ndarray, shape (k, 2)
        Iterates of each run, start first (for instance collected with
        ``minimize(..., callback=path.append)`` after ``path = [x0]``).
        Non-finite rows (a diverged run) are left out.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    bounds : ((xlo, xhi), (ylo, yhi)), optional
        The box shown; default the problem's box, else a box around the paths.
    levels : int or sequence of float, optional
        Contour levels: a count (default 30) placed automatically -- log-spaced
        for functions spanning orders of magnitude over the box (Rosenbrock,
        Beale), linear otherwise -- or the values themselves.
    xmin : array_like, shape (2,), optional
        The minimum, marked with a star; default the problem's ``xmin``.
    title : str, optional
        Default: the problem's name.
    resolution : int
        Grid points per axis for the contours.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require_matplotlib()
    from matplotlib.colors import LogNorm

    problem, fun = _as_problem(problem_or_fun)
    if problem is not None and problem.x0.size != 2:
        raise ValueError(f"plot_trajectories needs a 2-D function; this {problem.name!r} "
                         f"instance has {problem.x0.size} variables")
    paths = _check_paths(paths)
    if xmin is None and problem is not None:
        xmin = problem.xmin
    if bounds is None:
        bounds = problem.bounds if problem is not None and problem.bounds is not None else None
    if bounds is None:
        extra = [np.asarray(xmin, dtype=float).reshape(1, 2)] if xmin is not None else []
        bounds = _bounds_around(list(paths.values()) + extra)
    (xlo, xhi), (ylo, yhi) = bounds
    if not (xlo < xhi and ylo < yhi):
        raise ValueError(f"bounds must be ((xlo, xhi), (ylo, yhi)) with lo < hi, got {bounds}")
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")

    ax = _axes(ax)
    xs, ys, Z = _grid(fun, bounds, resolution)
    if levels is None or isinstance(levels, (int, np.integer)):
        count = 30 if levels is None else int(levels)
        if count < 1:
            raise ValueError(f"levels must be >= 1, got {count}")
        D = Z - np.nanmin(Z)
        lv, log = _auto_levels(D, count)
        norm = None
        if log:
            norm = LogNorm(lv[0], lv[-1])
            D = np.maximum(D, 0.5 * lv[0])  # no zeros under a log norm; all below the levels
        ax.contour(xs, ys, D, levels=lv, norm=norm, cmap="viridis", linewidths=0.8, alpha=0.7)
    else:
        ax.contour(xs, ys, Z, levels=np.sort(np.asarray(levels, dtype=float)), cmap="viridis",
                   linewidths=0.8, alpha=0.7)

    starts = []
    for i, (name, p) in enumerate(paths.items()):
        p = p[np.isfinite(p).all(axis=1)]
        if len(p) == 0:
            continue
        style = method_style(i)
        ax.plot(p[:, 0], p[:, 1], label=name, linewidth=1.4, **style)
        ax.plot(p[-1, 0], p[-1, 1], marker="o", markersize=5, markeredgecolor="k",
                markeredgewidth=0.6, color=style["color"], linestyle="none")  # where it ended
        if not any(np.array_equal(p[0], s) for s in starts):
            starts.append(p[0])
    if starts:
        starts = np.array(starts)
        ax.plot(starts[:, 0], starts[:, 1], marker="o", markersize=7, color="k",
                linestyle="none", label="start", zorder=4)
    if xmin is not None:
        xm = np.asarray(xmin, dtype=float).ravel()
        ax.plot(xm[0], xm[1], marker="*", markersize=16, color="gold", markeredgecolor="k",
                linestyle="none", label="minimum", zorder=5)
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    if title is None:
        title = f"{problem.name}: iterates" if problem is not None else "iterates"
    ax.set_title(title)
    if paths:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return ax


# --------------------------------------------------------------------------
# Loss curves
# --------------------------------------------------------------------------

def _curve(result, key: str, name: str) -> np.ndarray:
    if isinstance(result, Mapping):
        if key not in result:
            raise ValueError(f"results[{name!r}] has no {key!r} (a data-mode result of "
                             f"fastopt.minimize with validation_data has 'val_history')")
        values = result[key]
    else:
        values = result
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"results[{name!r}]: {key} must be one-dimensional, got shape {values.shape}")
    return values


def _is_data_mode(result) -> bool:
    return isinstance(result, Mapping) and "epochs" in result


def _set_loss_scale(ax, curves: list[np.ndarray], log: bool) -> None:
    """Log (or linear) y axis whose range a diverging run cannot blow up.

    The range is the curves' own, but at most 1000x above the largest starting
    value (a diverging run would stretch a log axis over hundreds of decades)
    and, on a log axis, at most 15 decades below it (rounding level: a run
    reaching an exact zero would add dozens of empty decades).
    """
    finite = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else np.zeros(0)
    firsts = [c[0] for c in curves if c.size and np.isfinite(c[0])]
    if log and finite.size and (finite > 0).any() and not (finite < 0).any():
        # Exact zeros (a minimum reached exactly) are masked: the curve ends there.
        ax.set_yscale("log", nonpositive="mask")
        positive = finite[finite > 0]
        start = max([f for f in firsts if f > 0], default=float(positive.max()))
        lo = max(float(positive.min()), 1e-15 * start)
        hi = min(float(positive.max()), 1e3 * start)
        if hi <= lo:
            hi, lo = lo * 10, lo / 10
        margin = 10 ** (0.04 * np.log10(hi / lo))
        ax.set_ylim(lo / margin, hi * margin)
    elif finite.size and firsts:
        lo, hi = float(finite.min()), float(finite.max())
        span = max(firsts) - lo
        if span > 0:
            hi = min(hi, lo + 10 * span)
        if hi > lo:
            pad = 0.04 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_loss_curves(results: Mapping, ax=None, log: bool = True, *, fmin: float | None = None,
                     key: str = "history", title: str | None = None, mark_best: bool = True):
    """Draw the objective per iteration (or per epoch) of several runs.

    Parameters
    ----------
    results : dict str -> OptimizeResult (or 1-D array)
        Runs by name; each curve is ``result[key]``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    log : bool
        Logarithmic y axis (used when the values are positive; exact zeros are
        left out).
    fmin : float, optional
        The known minimum: the curves then show ``f - fmin``.
    key : str
        ``"history"`` (default) or, for data-mode runs with validation data,
        ``"val_history"``.
    title : str, optional
    mark_best : bool
        With ``key="val_history"``, a dot at each run's ``best_epoch``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require_matplotlib()
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a dict name -> OptimizeResult, got {type(results).__name__}")
    curves = {str(name): _curve(res, key, str(name)) for name, res in results.items()}
    if fmin is not None:
        curves = {name: c - float(fmin) for name, c in curves.items()}
    ax = _axes(ax)
    data_mode = any(_is_data_mode(r) for r in results.values())
    for i, (name, res) in enumerate(results.items()):
        c = curves[str(name)]
        style = method_style(i)
        ax.plot(np.arange(c.size), c, label=str(name), linewidth=1.4, **style)
        best = res.get("best_epoch", -1) if isinstance(res, Mapping) else -1
        if mark_best and key == "val_history" and best is not None and 0 <= best < c.size:
            ax.plot(best, c[best], marker="o", markersize=6, markeredgecolor="k",
                    color=style["color"], linestyle="none")
    _set_loss_scale(ax, list(curves.values()), log)
    _integer_ticks(ax)
    ax.set_xlabel("epoch" if data_mode else "iteration")
    what = "validation loss" if key == "val_history" else ("training loss" if data_mode else "f(x)")
    ax.set_ylabel(f"{what} - f*" if fmin is not None else what)
    if title is None:
        title = what + (" (dots: best epoch)" if key == "val_history" and mark_best else "")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if curves:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return ax


def plot_train_validation(result, ax=None, *, title: str | None = None):
    """Training and validation loss per epoch, the best epoch marked.

    Parameters
    ----------
    result : OptimizeResult
        From ``fastopt.minimize(..., data=..., validation_data=...)`` (or
        ``options={"validation_fraction": ...}``): ``history``,
        ``val_history`` and ``best_epoch`` are used.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        With a vertical line at ``best_epoch`` (the epoch early stopping
        restores) in the legend.
    """
    _require_matplotlib()
    if not isinstance(result, Mapping) or "val_history" not in result or "history" not in result:
        raise ValueError("plot_train_validation needs the result of fastopt.minimize(..., data=..., "
                         "validation_data=...), which has 'history' and 'val_history'")
    train = np.asarray(result["history"], dtype=float)
    val = np.asarray(result["val_history"], dtype=float)
    best = int(result.get("best_epoch", -1))
    ax = _axes(ax)
    ax.plot(np.arange(train.size), train, label="training loss (epoch mean)", **method_style(0))
    ax.plot(np.arange(val.size), val, label="validation loss", **method_style(1))
    if 0 <= best < val.size:
        stopped = "Early stopping" in str(result.get("message", ""))
        label = f"best epoch ({best})" + (", early stopping" if stopped else "")
        ax.axvline(best, color="k", linestyle="--", linewidth=1.0, label=label)
        ax.plot(best, val[best], marker="o", markersize=6, markeredgecolor="k",
                color=method_style(1)["color"], linestyle="none")
    _integer_ticks(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("training and validation loss" if title is None else title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return ax
