"""``fastopt.minimize``: scipy.optimize.minimize conventions, first-order methods.

A Numba objective runs the whole loop compiled (``_loop.make_loop`` under
``njit``); a Python objective runs the same loop source in Python. Both call
the same cached optimizer kernel, so they produce the same iterates.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import time
import types
import warnings
from typing import TYPE_CHECKING, Callable

import numpy as np
from numba import njit
from numba.core.registry import CPUDispatcher

from . import _loop, _loopcache
from . import _validation as v
from ._config import compile_options
from ._kernels import inlinable, quiet_first_call, ran
from ._optimizer import fresh_arguments
from .optimizers import CLASSES
from .registry import METHODS, get_spec
from .schedules import ReduceLROnPlateau, as_schedule

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

__all__ = ["minimize", "METHODS"]

_MESSAGES = {
    _loop.CONVERGED_G: "Optimization terminated successfully: the gradient's max-norm is <= gtol.",
    _loop.CONVERGED_F: "Optimization terminated successfully: the objective's relative change is <= ftol.",
    _loop.MAXITER: "Maximum number of iterations has been exceeded.",
    _loop.INTERRUPTED: "Interrupted by KeyboardInterrupt; x is the last iterate with a finite objective.",
    _loop.CALLBACK_STOP: "`callback` raised `StopIteration`.",
}

# Loop settings every method accepts; the rest of `options` are the method's
# hyperparameters.
_LOOP_DEFAULTS = {"maxiter": 1000, "gtol": 1e-5, "ftol": 0.0, "disp": False,
                  "clip_norm": None, "clip_value": None, "fd_step": None}


def _loop_options(method: str, options: dict, hyper_names) -> tuple[dict, dict]:
    """Split ``options`` into (loop settings, hyperparameters); warn on unknown keys."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    loop = dict(_LOOP_DEFAULTS)
    hyper = {}
    for key, value in options.items():
        if key in hyper_names:
            hyper[key] = value
        elif key in loop:
            loop[key] = value
        elif key == "tol":  # what scipy.optimize.minimize(tol=...) passes on
            if value is not None and "gtol" not in options:
                loop["gtol"] = value
        else:
            from scipy.optimize import OptimizeWarning  # scipy.optimize is slow to import

            warnings.warn(f"Unknown solver options: {key}", OptimizeWarning, stacklevel=3)
    maxiter = loop["maxiter"]
    if isinstance(maxiter, (bool, np.bool_)) or not isinstance(maxiter, numbers.Integral):
        raise TypeError(f"options['maxiter'] must be an int, got {type(maxiter).__name__}")
    if maxiter < 0:
        raise ValueError(f"options['maxiter'] must be >= 0, got {maxiter}")
    loop["maxiter"] = int(maxiter)
    for key in ("gtol", "ftol"):
        loop[key] = v.nonneg(f"options['{key}']", loop[key])
    if loop["fd_step"] is not None:
        loop["fd_step"] = v.positive("options['fd_step']", loop["fd_step"])
    for key in ("clip_norm", "clip_value"):
        if loop[key] is not None:
            loop[key] = v.positive(f"options['{key}']", loop[key])
    loop["disp"] = bool(loop["disp"])
    return loop, hyper


def _prepare_x0(x0) -> np.ndarray:
    if (type(x0) is np.ndarray and x0.ndim == 1 and x0.dtype.char in "fd" and x0.dtype.isnative
            and x0.size):
        # the common case, in few calls (~30 us fewer with the caches cold after an epoch)
        x = x0.copy()  # C-contiguous
    else:
        x = np.array(x0, copy=True)
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
        if x.dtype not in v.FLOAT_DTYPES:
            raise TypeError(f"x0 must be real float32 or float64 numbers, got dtype {x.dtype}")
        if x.ndim != 1:
            if x.ndim == 0:
                x = x.reshape(1)
            else:
                raise ValueError(f"x0 must be one-dimensional, got shape {x.shape}")
        if x.size == 0:
            raise ValueError("x0 must not be empty")
        x = np.ascontiguousarray(x)
    if not np.isfinite(x).all():
        raise ValueError("x0 must be finite (no NaN or inf)")
    return x


def _jac_mode(fun, jac) -> str:
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    if jac is True:
        return "fun"
    if jac is None or jac is False:
        return "fd"
    if callable(jac):
        return "callable"
    if isinstance(jac, str):
        if jac in ("2-point", "fd"):
            return "fd"
        if jac == "inplace":
            return "inplace"
        raise ValueError(f"jac must be a callable, True, None, 'inplace' or '2-point', got {jac!r}")
    raise TypeError("jac must be a callable, True, None, 'inplace' or '2-point', got "
                    f"{type(jac).__name__}")


def _not_inline(fun, jac) -> None:
    """Reject a ``numba.njit(inline="always")`` objective before anything compiles.

    The compiled loops call ``fun(x, *args)``, and Numba cannot inline a call
    with ``*args``: it would stop with its own error inside the compile.
    """
    for f, what in ((fun, "fun"), (jac, "jac")):
        if isinstance(f, CPUDispatcher) and f.targetoptions.get("inline", "never") == "always":
            raise TypeError(f"{what} is a numba.njit(inline='always') function, which the "
                            "compiled loop cannot call (Numba does not inline a call with "
                            "*args): call it from a plain @numba.njit function and pass that")


def _checked_gradient(g, x: np.ndarray, what: str, it: int = 0) -> np.ndarray:
    """The gradient as the kernels need it, or an error naming ``what`` returned it."""
    where = f" at iteration {it}" if it else ""
    if isinstance(g, np.ndarray):
        if g.dtype != x.dtype:
            raise TypeError(f"{what} must return a gradient of dtype {x.dtype} (the dtype of x0)"
                            f"{where}, got {g.dtype}")
    else:
        try:
            g = np.asarray(g, dtype=x.dtype)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must return a gradient array of shape {x.shape}{where}, got "
                            f"{type(g).__name__}") from None
    if g.shape != x.shape:
        raise ValueError(f"{what} must return a gradient of shape {x.shape}{where}, got shape "
                         f"{g.shape}")
    return np.ascontiguousarray(g)


def _objective_value(f, what: str) -> float:
    if isinstance(f, (bool, np.bool_)) or not isinstance(f, (numbers.Real, np.ndarray)) or (
            isinstance(f, np.ndarray) and f.size != 1):
        raise TypeError(f"{what} must return a real number (the objective), got {type(f).__name__}")
    return float(f)


def _inplace_value(out, call: str) -> float:
    """The objective a jac='inplace' ``fun`` returned, checked (``call`` shows its signature)."""
    if isinstance(out, tuple):
        raise TypeError(f"with jac='inplace', {call} must write the gradient into g and return "
                        "the objective alone, got a tuple")
    return _objective_value(out, "fun")


def _first_evaluation(fun, jac, mode, x, args, st, fl):
    """Evaluate at x0 from Python, checking what fun and jac return before any loop compiles."""
    if mode == "fun":
        out = fun(x, *args)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("with jac=True, fun must return a pair (f, g), got "
                            f"{type(out).__name__}")
        f, g = _objective_value(out[0], "fun"), out[1]
        st[_loop.NFEV] += 1
        st[_loop.NJEV] += 1
    elif mode == "callable":
        f = _objective_value(fun(x, *args), "fun")
        g = jac(x, *args)
        st[_loop.NFEV] += 1
        st[_loop.NJEV] += 1
    elif mode == "inplace":
        g = np.zeros_like(x)
        f = _inplace_value(fun(x, g, *args), "fun(x, g, *args)")
        st[_loop.NFEV] += 1
        st[_loop.NJEV] += 1
        return f, g  # fastopt's own buffer: nothing to check
    else:
        try:
            f, g = _loop.make_evaluate(fun, jac, mode)(x, None, args, st, fl)
        except TypeError as e:
            raise TypeError(f"fun must return a real number (the objective): {e}") from None
    what = "jac" if mode == "callable" else "fun"
    if isinstance(fun, CPUDispatcher) and not isinstance(g, np.ndarray):
        raise TypeError(f"{what} must return the gradient as an ndarray, got {type(g).__name__}")
    return f, _checked_gradient(g, x, what)


def _wants_result(callback) -> bool:
    """scipy's rule: a callback whose only parameter is ``intermediate_result`` gets an OptimizeResult."""
    if hasattr(callback, "stop_iteration"):  # already wrapped by scipy.optimize.minimize
        return True
    key = _signature_key(callback)
    if key is None:
        return _only_intermediate_result(callback)
    wants = _WANTS_RESULT.get(key)
    if wants is None:
        wants = _WANTS_RESULT[key] = _only_intermediate_result(callback)
    return wants


# inspect.signature costs ~0.05 ms, a fifth of a small data-mode minimize (an
# estimator's partial_fit passes a new callback object each call): the answer
# is kept per code object, which alone fixes a plain function's parameter names.
_WANTS_RESULT: dict = {}


def _signature_key(callback):
    """What fixes the parameter names of ``callback``, or None when it is not that simple."""
    if isinstance(callback, types.FunctionType):
        kind, fn = "function", callback
    elif isinstance(callback, types.MethodType):
        kind, fn = "method", callback.__func__
    elif not isinstance(callback, type):
        kind, fn = "instance", getattr(type(callback), "__call__", None)
    else:
        return None
    if (not isinstance(fn, types.FunctionType) or any(
            hasattr(o, a) for o in (callback, fn) for a in ("__signature__", "__wrapped__"))):
        return None  # signature() would follow these
    return kind, fn.__code__


def _only_intermediate_result(callback) -> bool:
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False
    return set(params) == {"intermediate_result"}


_NAMES: dict = {}


def learning_rate(lr) -> tuple:
    """(ReduceLROnPlateau or None, schedule or None, the lr of step 0) of ``options['lr']``.

    Both None for a float: the common case, without a ConstantSchedule to
    build (~4 us; ~40 us with the caches cold after a data-mode epoch).
    """
    if type(lr) is float:
        return None, None, v.nonneg("options['lr']", lr)
    plateau = lr if isinstance(lr, ReduceLROnPlateau) else None
    schedule = as_schedule(lr, "options['lr']") if plateau is None else None
    return plateau, schedule, plateau(0) if plateau is not None else schedule(0)


def _method_names(spec) -> tuple[frozenset, float]:
    """(the method's hyperparameter names, its default lr), kept per method."""
    known = _NAMES.get(spec.name)
    if known is None:
        known = _NAMES[spec.name] = (frozenset(h.name for h in spec.hypers), spec.defaults["lr"])
    return known


_COMPILED: dict = {}


def _compiled_loop(fun, jac, mode, spec, x: np.ndarray):
    """The njit loop over (fun, jac) for the parameters ``x``, compiled once per process.

    Below ``parallel_min(x.dtype)`` the kernel is its serial twin (same bits).
    When the objective is itself disk-cached, the loop inlines the kernel
    (``_kernels.inlinable``) and is disk-cached too: a fresh process then
    loads it instead of compiling it (about 1 s). An objective that is not
    cacheable gets a loop that calls the kernel, compiled once per process.
    """
    kernel = spec.loop_kernel(x)
    key = (fun, jac, mode, kernel)
    if key not in _COMPILED:
        jac_fn = jac if mode == "callable" else None
        cached = _loopcache.cacheable(fun) and (jac_fn is None or _loopcache.cacheable(jac_fn))
        # Inlined, evaluate passes x and g to fun without reference count updates
        # (W3: ~2 ns an iteration). Not the finite differences: their arithmetic
        # would take the loop's compile options (the kernel's error model).
        evaluate = njit(inline="never" if mode == "fd" else "always")(
            _loop.make_evaluate(fun, jac, mode))
        step = inlinable(kernel) if cached else kernel
        loop = njit(**(compile_options(kernel) if cached else {}))(
            _loop.make_loop(evaluate, step, _loop.no_hook, inplace=mode == "inplace"))
        if cached:
            _loopcache.cache_loop(loop, fun, jac_fn, f"{mode}, inline", kernel, own_parfors=True)
        _COMPILED[key] = (loop, evaluate)
    return _COMPILED[key]


def minimize(fun: Callable, x0, args: tuple = (), method: str = "adam", jac=None,
             callback: Callable | None = None, options: dict | None = None, *,
             data=None, batch_size: int | None = None, validation_data=None) -> "OptimizeResult":
    """Minimize ``fun`` with a first-order method, in the style of ``scipy.optimize.minimize``.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` (or ``(float, gradient)`` with ``jac=True``).
        A ``numba.njit`` function (with a jitted ``jac``) runs the whole loop
        compiled, with no Python per iteration.
    x0 : array_like, shape (n,)
        Starting point; float32 stays float32, anything else becomes float64.
    args : tuple
        Extra arguments passed to ``fun`` and ``jac``.
    method : str
        A name from ``fastopt.METHODS`` (case-insensitive), default ``"adam"``.
    jac : callable, True, "inplace" or None
        The gradient ``jac(x, *args)``; ``True`` if ``fun`` returns
        ``(f, g)``; ``"inplace"`` if ``fun(x, g, *args)`` writes the
        gradient into ``g`` (an array shaped and typed like ``x``, the same
        one every call) and returns ``f`` alone: no gradient array is
        allocated per iteration, which a compiled loop over a small problem
        notices (in data mode ``fun(x, g, *batch, *args)``); ``None`` for
        forward finite differences, as scipy does.
    callback : callable, optional
        ``callback(intermediate_result)`` (an ``OptimizeResult``) or
        ``callback(xk)``, called after each iteration; raising
        ``StopIteration`` stops the run with ``status=99``. A callback runs
        the Python loop even for a Numba objective.
    options : dict, optional
        The method's hyperparameters (as the optimizer class takes them) and
        ``maxiter`` (1000), ``gtol`` (1e-5; stop when ``max|g| <= gtol``, 0
        disables), ``ftol`` (0; stop when the relative change of ``f`` is
        <= ftol), ``lr`` (a float or a ``fastopt.schedules`` schedule),
        ``clip_value``, ``clip_norm`` (global L2 norm, torch's rule),
        ``maximize``, ``fd_step`` and ``disp``. Unknown keys warn with
        ``scipy.optimize.OptimizeWarning``.
    data, batch_size, validation_data
        Training over data; see the user guide ("batch, mini-batch and SGD").

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x, fun, jac, nit, nfev, njev, status, success, message`` and
        ``history`` (the objective at each iterate). Status 0 converged, 1
        iteration limit, 2 non-finite objective or gradient (``x`` is the last
        finite iterate), 3 interrupted, 99 stopped by the callback.
    """
    from scipy.optimize import OptimizeResult  # imported on first use: it is slow to import

    spec = get_spec(method)
    if data is not None or batch_size is not None or validation_data is not None:
        from .training import minimize_data  # data mode lives with the training loops
        return minimize_data(fun, x0, args, spec, jac, callback, options,
                             data=data, batch_size=batch_size, validation_data=validation_data)
    mode = _jac_mode(fun, jac)
    _not_inline(fun, jac)
    if not isinstance(args, tuple):
        args = (args,)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    names, default_lr = _method_names(spec)
    loop_opts, hyper = _loop_options(method, options, names)
    x = _prepare_x0(x0)
    plateau, schedule, hyper["lr"] = learning_rate(hyper.get("lr", default_lr))
    slots, scalars, h = fresh_arguments(CLASSES[spec.name], x, hyper)
    kind, sched_params = (0, np.array([hyper["lr"]])) if schedule is None else schedule.encode()

    maxiter = loop_opts["maxiter"]
    st = np.zeros(5, dtype=np.int64)
    st[_loop.STATUS] = _loop.RUNNING
    fd_step = loop_opts["fd_step"] or float(np.finfo(x.dtype).eps) ** 0.5  # scipy's choice
    fl = np.array([0.0, np.nan, loop_opts["gtol"], loop_opts["ftol"],
                   loop_opts["clip_value"] or 0.0, loop_opts["clip_norm"] or 0.0, fd_step])
    x_good = x.copy()
    what = "jac" if mode == "callable" else "fun"

    compiled = (isinstance(fun, CPUDispatcher) and callback is None and plateau is None
                and (mode != "callable" or isinstance(jac, CPUDispatcher)))
    f0, g = _first_evaluation(fun, jac, mode, x, args, st, fl)
    if compiled:
        loop, _ = _compiled_loop(fun, jac, mode, spec, x)
    else:
        evaluate = _loop.make_evaluate(fun, jac, mode)

        def checked_evaluate(xk, gk, args, st, fl):
            f, gk = evaluate(xk, gk, args, st, fl)
            return f, _checked_gradient(gk, xk, what, int(st[_loop.IT]))
        if mode == "inplace":  # fastopt's own buffer: no gradient to check
            checked_evaluate = evaluate

        wants_result = callback is not None and _wants_result(callback)

        def hook(it, xk, f):
            if plateau is not None and it > 0:
                plateau.step(f)
                h[0] = plateau(it)
                sched_params[0] = h[0]
            if callback is None or it == 0:
                return False
            try:
                if wants_result:
                    callback(OptimizeResult(x=xk.copy(), fun=f, nit=it))
                else:
                    callback(xk.copy())
            except StopIteration:
                return True
            return bool(getattr(callback, "stop_iteration", False))

        loop = _loop.make_loop(checked_evaluate, spec.loop_kernel(x), hook, inplace=mode == "inplace")

    fl[_loop.F] = f0
    g_good = np.zeros_like(x)
    # Room for every iterate up front (np.empty: pages are touched as the run
    # writes them; the loop writes each entry the result shows): a run of
    # maxiter iterations then hands this very array to the result.
    history = np.empty(min(maxiter, 1 << 20) + 1)
    history[0] = np.nan  # what the result shows when x0 itself is not finite
    try:
        # Chunks of iterations: the history grows as needed, and a compiled run
        # returns to Python now and then, where a KeyboardInterrupt can land
        # between chunks without losing the state.
        # A compiled loop's first chunk is short; the next ones last ~50 ms at the
        # rate the first one ran (a call costs ~1 us: 2 calls for W3's 10,000 steps).
        chunk = 256 if compiled else 4096
        ran_key = (loop, x.dtype.char) if compiled and args == () else None  # x: its one type
        while st[_loop.STATUS] == _loop.RUNNING and st[_loop.IT] < maxiter:
            first = int(st[_loop.IT])
            stop = min(maxiter, first + chunk)
            if history.size <= stop:
                history = np.concatenate([history, np.empty(max(stop + 1, 2 * history.size)
                                                            - history.size)])
            start = time.perf_counter()
            # Only a call that may compile needs the filter: the first of a loop
            # and dtype (with args, whose types vary, every first chunk).
            with quiet_first_call(ran_key) if first == 0 else contextlib.nullcontext():
                g = loop(x, g, x_good, g_good, args, slots, scalars, h, kind, sched_params,
                         history, st, fl, stop)
            if first == 0:
                ran(ran_key)
            if compiled and st[_loop.IT] > first:
                per_iteration = (time.perf_counter() - start) / (int(st[_loop.IT]) - first)
                chunk = max(chunk, min(int(0.05 / max(per_iteration, 1e-9)), 1 << 24))
    except KeyboardInterrupt:
        st[_loop.STATUS] = _loop.INTERRUPTED

    status = int(st[_loop.STATUS])
    if status == _loop.BAD_GRADIENT:
        raise ValueError(f"{what} must return a gradient of shape {x.shape}, got size "
                         f"{np.asarray(g).size} at iteration {int(st[_loop.IT])}")
    nit = int(st[_loop.IT])
    if status == _loop.RUNNING:  # ran out of iterations: check the last evaluation too
        f_last = fl[_loop.F]
        if math.isfinite(f_last) and np.isfinite(g).all():
            status = _loop.MAXITER
            if history.size <= nit:
                history = np.append(history, np.nan)
            history[nit] = f_last
            # a copy: with jac='inplace' g is the buffer fun writes, which fun may hold on to
            x_good, g_good, fl[_loop.F_GOOD] = x, np.array(g), f_last
            st[_loop.GOOD_IT] = nit
            if not compiled and hook(nit, x, f_last):
                status = _loop.CALLBACK_STOP
        else:
            status = _loop.NONFINITE
    if np.isnan(fl[_loop.F_GOOD]):  # the very first point was not finite
        fl[_loop.F_GOOD] = fl[_loop.F]
        g_good = np.array(g)
    last = int(st[_loop.GOOD_IT])
    if status == _loop.NONFINITE:
        message = (f"Stopped: non-finite objective or gradient at iteration {nit}; "
                   f"x is the last finite iterate (iteration {last}).")
    else:
        message = _MESSAGES[status]
    result = OptimizeResult(
        x=x_good, fun=float(fl[_loop.F_GOOD]), jac=g_good, nit=last, nfev=int(st[_loop.NFEV]),
        njev=int(st[_loop.NJEV]), status=0 if status == _loop.CONVERGED_F else status,
        success=status in (_loop.CONVERGED_G, _loop.CONVERGED_F), message=message,
        history=history if history.size == last + 1 else history[: last + 1].copy())
    if loop_opts["disp"]:
        print(f"{message}\n         Current function value: {result.fun:.6g}\n"
              f"         Iterations: {result.nit}\n         Function evaluations: {result.nfev}")
    return result
