"""Training over data: full-batch, mini-batch and stochastic gradient descent.

``fastopt.minimize(fun, x0, data=(X, y, ...), batch_size=...)`` lands here.
Python drives the epochs (shuffling, validation, early stopping, callbacks);
each epoch runs the single source of ``_epoch.make_epoch``, compiled when
``fun`` is a Numba function.
"""

from __future__ import annotations

import contextlib
import numbers
import time
import warnings

import numpy as np
from numba import njit
from numba.core.registry import CPUDispatcher

from . import _coop, _epoch, _loop, _loopcache
from . import _validation as v
from . import losses
from ._config import CACHE, compile_options, parallel_min
from ._kernels import quiet_first_call, ran
from ._optimizer import build_state_dict, entry_state, fresh_state
from .losses import PARALLEL_WORK
from .optimizers import CLASSES

_DEFAULTS = {
    "epochs": 10, "shuffle": True, "seed": None, "drop_last": False, "disp": False,
    "clip_norm": None, "clip_value": None, "l2": 0.0, "l1": 0.0, "penalty_skip": 0,
    "grad_noise": 0.0, "grad_noise_gamma": 0.55, "input_noise": 0.0,
    "early_stopping": None, "validation_fraction": None, "patience": 10, "min_delta": 0.0,
    "restore_best": True, "maxiter": None, "optimizer_state": None, "progress": False,
}
# minimize's options that mean nothing over data: accepted silently.
_IGNORED = {"gtol", "ftol", "tol", "fd_step"}


def _int_option(name, value, low):
    if type(value) is not int and (  # int first: numbers.Integral is a slow ABC check
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)):
        raise TypeError(f"options['{name}'] must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"options['{name}'] must be >= {low}, got {value}")
    return int(value)


def _options(options, hyper_names):
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    opts, hyper = dict(_DEFAULTS), {}
    for key, value in options.items():
        if key in hyper_names:
            hyper[key] = value
        elif key in opts:
            opts[key] = value
        elif key not in _IGNORED:
            from scipy.optimize import OptimizeWarning

            warnings.warn(f"Unknown solver options: {key}", OptimizeWarning, stacklevel=4)
    opts["epochs"] = _int_option("epochs", opts["epochs"], 0)
    opts["patience"] = _int_option("patience", opts["patience"], 1)
    opts["penalty_skip"] = _int_option("penalty_skip", opts["penalty_skip"], 0)
    if opts["maxiter"] is not None:
        opts["maxiter"] = _int_option("maxiter", opts["maxiter"], 0)
    if opts["seed"] is not None:
        opts["seed"] = _int_option("seed", opts["seed"], 0)
    for key in ("l2", "l1", "grad_noise", "grad_noise_gamma", "input_noise", "min_delta"):
        opts[key] = v.nonneg(f"options['{key}']", opts[key])
    for key in ("clip_norm", "clip_value"):
        if opts[key] is not None:
            opts[key] = v.positive(f"options['{key}']", opts[key])
    if opts["validation_fraction"] is not None:
        opts["validation_fraction"] = v.real("options['validation_fraction']",
                                             opts["validation_fraction"], low=0.0, high=1.0,
                                             low_open=True, high_open=True)
    for key in ("shuffle", "drop_last", "restore_best"):
        opts[key] = v.flag(f"options['{key}']", opts[key])
    return opts, hyper


def _arrays(name: str, arrays) -> tuple:
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of arrays (X, y, ...), got {type(arrays).__name__}")
    if not 1 <= len(arrays) <= _epoch.MAX_ARITY:
        raise ValueError(f"{name} must hold 1 to {_epoch.MAX_ARITY} arrays, got {len(arrays)}")
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{name}[{i}] must be numeric, got dtype {a.dtype}")
        if a.ndim not in (1, 2):
            raise ValueError(f"{name}[{i}] must be 1-D or 2-D, got shape {a.shape}")
        if a.dtype.kind == "b":
            a = a.astype(np.float64)
        out.append(np.ascontiguousarray(a))
    n = out[0].shape[0]
    for i, a in enumerate(out):
        if a.shape[0] != n:
            raise ValueError(f"{name} arrays must share their first axis: {name}[0] has {n} rows, "
                             f"{name}[{i}] has {a.shape[0]}")
    if n == 0:
        raise ValueError(f"{name} must not be empty")
    return tuple(out)


def _raise_if_nonfinite(arrays, name: str, rows=None) -> None:
    """Name the array and row holding a NaN or inf.

    Data is not scanned up front (that would cost as much as an epoch):
    the loss reads every value anyway, so a non-finite batch is traced back
    to its input here, before the run is reported as diverged.
    """
    for i, a in enumerate(arrays):
        if a.dtype.kind != "f":
            continue
        part = a if rows is None else a[rows]
        bad = ~np.isfinite(part.reshape(part.shape[0], -1)).all(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) if rows is None else int(np.asarray(rows)[bad][0])
            raise ValueError(f"{name}[{i}] contains NaN or inf (row {row})")


@njit(cache=CACHE, error_model="numpy")
def _outside_unit_interval(y):
    """Whether some y[i] < 0 or y[i] > 1 (NaN is not: it is reported as non-finite later)."""
    bad = False
    for i in range(y.size):
        bad |= (y[i] < 0) | (y[i] > 1)
    return bad


def _check_labels(fun, arrays, name):
    """Label rules of the built-in losses, checked before training starts."""
    if fun is losses.logistic and len(arrays) >= 2:
        y = arrays[1]
        # one jitted pass, no temporaries: y.min() and y.max() read 200k labels twice
        # (~0.1 ms per minimize, from memory after an epoch)
        if y.ndim != 1 or _outside_unit_interval(y):
            raise ValueError(f"{name}[1] must hold labels in [0, 1] for fastopt.losses.logistic")
    if fun is losses.softmax and len(arrays) >= 2:
        Y = arrays[1]
        if Y.ndim != 2 or (Y.size and Y.min() < 0) or not np.allclose(Y.sum(axis=1), 1.0):
            raise ValueError(f"{name}[1] must be one-hot rows (fastopt.losses.one_hot) for "
                             "fastopt.losses.softmax")


def _progress_bar(progress, total):
    """A tqdm bar when asked for and tqdm is installed (an optional dependency)."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("options['progress'] needs tqdm (pip install tqdm); continuing without",
                      RuntimeWarning, stacklevel=4)
        return None
    return tqdm(total=total, unit="epoch", leave=False)


_COMPILED: dict = {}


def epoch_ready(fun, method: str, arity: int, x: np.ndarray, batch_size: int,
                n_args: int = 0, noise: bool = False) -> bool:
    """Whether the compiled epoch of ``fun`` (jac=True, ``n_args`` extra args) runs without
    compiling first.

    True when this process has compiled it, or when Numba's disk cache holds
    it (a built-in loss, or small batches of a cacheable per_example loss).
    Building the epoch's dispatcher to ask compiles nothing.
    """
    from .registry import get_spec

    epoch, _ = _compiled_epoch(fun, True, "fun", get_spec(method), arity, x,
                               batch_size * x.size, losses.serial_twin(fun), n_args, noise)
    if epoch.overloads:
        return True
    if epoch in _NOT_ON_DISK:  # asked before in this process: no file read per fit
        return False
    if _loopcache.has_entries(epoch):
        return True
    _NOT_ON_DISK.add(epoch)
    return False


_NOT_ON_DISK: set = set()  # epochs whose disk cache was empty when asked


def _compiled_epoch(fun, jac, mode, spec, arity, x, batch_work, twin, n_args, noise=False):
    """The njit epoch over (fun, jac), compiled once per process, or loaded from disk.

    With few parameters (a serial optimizer kernel), the epoch is disk-cached
    like minimize's loop, so a fresh process loads it instead of compiling it
    (2-3 s), when nothing it calls is parallel (numba issue #8578):

    * small batches (``batch_work`` multiply-adds, below the losses'
      PARALLEL_WORK): the loss (built-in, or a ``losses.per_example``
      objective) runs as its serial twin (the same bits). A per_example twin
      is cached only when the user's example function is itself
      ``njit(cache=True)``; the key holds its code.
    * of those, batches of a built-in loss below CHUNK_WORK (data (X, y), at
      most one extra arg, no gradient or input ``noise``): the loss's ranged
      twin, which takes the batch's rows by bounds and writes the gradient
      into a buffer the caller passes as ``args[0]`` (``epoch.needs_grad``);
      the same bits, without two views and an array per batch.
    * of those, batches of a built-in loss from CHUNK_WORK (the same
      conditions; noise draws would come from the generator of whichever
      thread runs the epoch): the epoch shares each batch's chunks with
      helper threads (``_coop``); it then needs ``pool`` and ``g_out``
      arguments (``epoch.needs_pool``).
    * larger batches of a built-in loss (data (X, y), at most one extra arg)
      or of a per_example objective: the epoch inlines the loss
      (``losses.inline_twin``), parallel chunks and all, and is compiled with
      the loss's options (the same bits); a per_example one is cached on the
      same condition as its serial twin.

    ``twin`` is ``losses.serial_twin(fun)``, or None.
    """
    small_x = x.size < parallel_min(x.dtype)
    # (X, y), at most one extra arg, no noise: what the ranged and the coop epochs take
    plain = small_x and mode == "fun" and arity == 2 and n_args <= 1 and not noise
    coop = plain and losses.CHUNK_WORK <= batch_work < PARALLEL_WORK and fun in _coop.TWINS
    ranged = plain and batch_work < losses.CHUNK_WORK and fun in losses.RANGED_TWINS
    serial = (not coop and not ranged and twin is not None and batch_work < PARALLEL_WORK
              and small_x)
    inline = (None if coop or ranged or serial or not small_x or mode != "fun" or arity != 2
              or n_args > 1 else losses.inline_twin(fun))
    kernel = spec.loop_kernel(x)  # the serial twin for small x, which every case above needs
    key = (fun, jac, mode, kernel, arity, ("coop", n_args) if coop else ("ranged", n_args)
           if ranged else n_args if inline else None)
    if key not in _COMPILED:
        if ranged:  # rows by bounds, the gradient into the epoch's buffer (args[0])
            ranged_twin, default = losses.RANGED_TWINS[fun]
            evaluate = njit(inline="always")(
                _epoch.make_ranged_evaluate(ranged_twin, default, n_args))
            epoch = njit(_epoch.make_epoch(evaluate, kernel, spec.prox, arity, njit, bounds=True))
            epoch.needs_grad = True
            _loopcache.cache_loop(epoch, ranged_twin, None, f"ranged, {n_args} args", kernel)
        elif coop:  # the epoch and its helpers
            # No loss arithmetic is inlined here (the rows, the chunk sums and the
            # mean are compiled on their own), so the epoch's options do not
            # touch the loss's bits: plain njit, and parallel for the prange only.
            evaluate, helper = _coop.make_parts(fun, n_args)
            main = njit(_epoch.make_epoch(evaluate, kernel, spec.prox, arity, njit, bounds=True))
            epoch = njit(parallel=True)(_coop.make_run(main, njit(helper)))
            epoch.needs_pool = True
            _loopcache.cache_loop(epoch, _coop.TWINS[fun][0], None, f"coop, {n_args} args", kernel,
                                  own_parfors=True)
        elif inline:  # the loss's inline twin, inside an epoch compiled with the loss's options
            evaluate = njit(inline="always")(_epoch.make_inline_evaluate(inline, n_args))
            epoch = njit(**compile_options(fun))(
                _epoch.make_epoch(evaluate, kernel, spec.prox, arity, njit))
            if _loopcache.closure_cacheable(inline):  # a per_example over njit(cache=True)
                _loopcache.cache_loop(epoch, inline, None, f"inline, {n_args} args", kernel,
                                      own_parfors=True)
        else:
            evaluate = njit(_epoch.make_evaluate(twin if serial else fun, jac, mode))
            epoch = njit(_epoch.make_epoch(evaluate, kernel, spec.prox, arity, njit))
            if serial and _loopcache.closure_cacheable(twin):
                _loopcache.cache_loop(epoch, twin, None, f"{mode}, arity {arity}", kernel)
        _COMPILED[key] = (epoch, evaluate)
    return _COMPILED[key]


def minimize_data(fun, x0, args, spec, jac, callback, options, *, data, batch_size,
                  validation_data):
    """Data mode of ``fastopt.minimize``; see its docstring and the user guide."""
    from scipy.optimize import OptimizeResult

    from .minimize import (_checked_gradient, _inplace_value, _not_inline, _prepare_x0,
                           _wants_result, learning_rate)

    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    if jac is True:
        mode = "fun"
    elif callable(jac):
        mode = "callable"
    elif isinstance(jac, str) and jac == "inplace":
        mode = "inplace"
    else:
        raise ValueError("data mode needs gradients: pass jac=True (fun returns (f, g)), "
                         "jac='inplace' or a callable jac")
    _not_inline(fun, jac)
    if not isinstance(args, tuple):
        args = (args,)
    user_args = args
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if data is None:
        raise ValueError("batch_size and validation_data need data=(X, y, ...)")
    opts, hyper = _options(options, {h.name for h in spec.hypers})
    data = _arrays("data", data)
    _check_labels(fun, data, "data")
    if validation_data is not None:
        validation_data = _arrays("validation_data", validation_data)
        _check_labels(fun, validation_data, "validation_data")
        if len(validation_data) != len(data) or any(
                a.shape[1:] != b.shape[1:] for a, b in zip(data, validation_data)):
            raise ValueError("validation_data must hold arrays shaped like data's (but rows)")
    x = _prepare_x0(x0)
    val_args = args
    if mode == "inplace":  # the gradient buffers, last of the args (_epoch.make_evaluate)
        args, val_args = args + (np.zeros_like(x),), args + (np.zeros_like(x),)
    # A generator costs ~0.1 ms to make (OS entropy when unseeded): made only when
    # something draws from it. A given seed also seeds Numba's generator for a
    # stochastic objective.
    noise = opts["grad_noise"] > 0 or opts["input_noise"] > 0
    rng = (np.random.default_rng(opts["seed"])
           if opts["shuffle"] or opts["validation_fraction"] is not None or noise
           or opts["seed"] is not None else None)
    if opts["validation_fraction"] is not None:
        if validation_data is not None:
            raise ValueError("give validation_data or options['validation_fraction'], not both")
        n_all = data[0].shape[0]
        n_val = int(np.ceil(opts["validation_fraction"] * n_all))
        if not 0 < n_val < n_all:
            raise ValueError("options['validation_fraction'] leaves no training or no validation rows")
        perm = rng.permutation(n_all)
        validation_data = tuple(np.ascontiguousarray(a[perm[:n_val]]) for a in data)
        data = tuple(np.ascontiguousarray(a[perm[n_val:]]) for a in data)
    n = data[0].shape[0]
    if batch_size is None:
        size = n
    else:
        size = _int_option("batch_size", batch_size, 1) if not isinstance(batch_size, bool) else None
        if size is None:
            raise TypeError("batch_size must be an int or None, got bool")
        size = min(size, n)
    n_batches = n // size if opts["drop_last"] else -(-n // size)
    if n_batches == 0:
        raise ValueError("options['drop_last'] with batch_size > rows leaves no batch")
    # A full batch holds every row whatever their order: shuffling it would only
    # reorder the loss's sum, at the price of a copy of the data each epoch
    # (20,000 x 50, 20 epochs: 23 ms instead of 4).
    shuffle = opts["shuffle"] and size < n
    early = opts["early_stopping"]
    early = validation_data is not None if early is None else v.flag("options['early_stopping']", early)
    if early and validation_data is None:
        raise ValueError("options['early_stopping'] needs validation_data or "
                         "options['validation_fraction']")
    if opts["penalty_skip"] > x.size:
        raise ValueError(f"options['penalty_skip'] must be <= x0.size = {x.size}")

    plateau, schedule, hyper["lr"] = learning_rate(hyper.get("lr", spec.defaults["lr"]))
    if opts["optimizer_state"] is None:
        slots, scalars, h, group = fresh_state(CLASSES[spec.name], x, hyper)
        steps_before = 0
    else:
        opt = CLASSES[spec.name](x, **hyper)
        opt.load_state_dict(opts["optimizer_state"])
        slots, scalars, h = opt._kernel_arguments()
        group, steps_before = opt.param_groups[0], opt._entries[0][0].step
    kind, sched_params = (0, np.array([hyper["lr"]])) if schedule is None else schedule.encode()

    gather = shuffle or opts["input_noise"] > 0
    buffers = tuple(np.empty((size,) + a.shape[1:], dtype=a.dtype) for a in data)
    st = np.array([steps_before, 0, 0, _loop.RUNNING, n, size, n_batches, int(gather)], dtype=np.int64)
    fl = np.array([0.0, opts["clip_value"] or 0.0, opts["clip_norm"] or 0.0, opts["l2"], opts["l1"],
                   opts["grad_noise"], opts["grad_noise_gamma"], opts["input_noise"]])
    compiled = isinstance(fun, CPUDispatcher) and (mode == "fun" or isinstance(jac, CPUDispatcher))
    arity = len(data)
    # The validation set is evaluated from Python through ``fun`` itself: a
    # built-in loss then runs in parallel on a large validation set.
    validate = _epoch.make_evaluate(fun, jac, mode)
    twin = losses.serial_twin(fun) if mode == "fun" else None
    # What the types of a compiled call's arguments depend on, with no args of the user's
    # (the quiet filter is skipped on calls that have run: nothing left to compile)
    types = ((x.dtype.char,) + tuple((a.dtype.char, a.ndim, a.flags.writeable, a.flags.aligned)
                                     for a in data) if user_args == () else None)
    epoch_key = None
    if compiled:
        batch_work = size * x.size  # >= the loss's rows x outputs x features
        epoch, _ = _compiled_epoch(fun, jac, mode, spec, arity, x, batch_work, twin, len(args),
                                   noise)
        epoch_key = (epoch, types) if types is not None else None
        if getattr(epoch, "needs_pool", False):
            run, pool, g_out = epoch, _coop.new_pool(x.size, x.dtype), np.empty_like(x)

            def epoch(*arguments):
                return run(*arguments, pool, g_out)
        elif getattr(epoch, "needs_grad", False):
            run, g_out = epoch, np.empty_like(x)

            def epoch(x, x_good, data, buffers, args, *rest):
                return run(x, x_good, data, buffers, (g_out,) + args, *rest)
    else:
        # the same Python evaluate as the validation below
        epoch = _epoch.make_epoch(validate, spec.loop_kernel(x), spec.prox, arity)

    # One evaluation up front, in Python, so that a wrong return is a clear error
    # (not through the compiled ``evaluate``, which may come from the disk cache
    # inside the epoch and need no compile of its own). A small batch goes through
    # the loss's serial twin (the same bits): nothing parallel is loaded or, for a
    # per_example objective, compiled before the epoch. A built-in loss or a
    # per_example objective takes any number of rows: it is probed on one row
    # (the whole first batch cost ~45 us more with the caches cold after an epoch),
    # and the first batch's loss is computed only if the result needs it (no
    # epoch completes).
    small = twin is not None and size * x.size < PARALLEL_WORK
    check = _epoch.make_evaluate(twin, jac, mode) if small else validate
    callee = twin if small else fun
    check_key = ((callee, jac, mode, types) if isinstance(callee, CPUDispatcher) and types is not None
                 else None)
    batch_of = _epoch.make_batcher(arity)[0]
    first_batch = batch_of(data, 0, min(n, size))
    if mode == "inplace":
        out = fun(x, args[-1], *(first_batch + args[:-1]))
        f_check, g_check = _inplace_value(out, "fun(x, g, *batch, *args)"), args[-1]
    else:
        with quiet_first_call(check_key):
            f_check, g_check = check(x, first_batch if twin is None else batch_of(data, 0, 1), args)
        ran(check_key)
        if twin is not None:
            f_check = None
    _checked_gradient(g_check, x, "jac" if mode == "callable" else "fun")
    if rng is not None:
        _epoch.seed_noise(int(rng.integers(2 ** 31)))

    # the row order is read only when rows are gathered (shuffling or input noise)
    order = np.arange(n, dtype=np.int64) if gather else np.zeros(0, dtype=np.int64)
    x_good = x.copy()
    g = g_check
    history, val_history = [], []
    best_val, best_epoch, best_x, wait = np.inf, -1, None, 0
    status, message = None, ""
    wants_result = callback is not None and _wants_result(callback)
    started = time.perf_counter()
    bar = _progress_bar(opts["progress"], opts["epochs"])
    try:
        for e in range(opts["epochs"]):
            if shuffle:
                order = rng.permutation(n).astype(np.int64, copy=False)
            st[_epoch.BATCH] = 0
            if opts["maxiter"] is not None:
                st[_epoch.N_BATCHES] = min(n_batches, opts["maxiter"] - st[_epoch.IT])
            fl[_epoch.LOSS_SUM] = 0.0
            # only the first call compiles or loads
            with quiet_first_call(epoch_key) if e == 0 else contextlib.nullcontext():
                g = epoch(x, x_good, data, buffers, args, order, slots, scalars, h, kind,
                          sched_params, opts["penalty_skip"], st, fl)
            if e == 0:
                ran(epoch_key)
            if st[_epoch.STATUS] == _loop.NONFINITE:
                lo = st[_epoch.BATCH] * size
                _raise_if_nonfinite(data, "data", order[lo:lo + size] if order.size
                                    else np.arange(lo, min(n, lo + size)))
                status = _loop.NONFINITE
                message = (f"Stopped: non-finite objective or gradient in epoch {e} at step "
                           f"{st[_epoch.IT]}; x is the last finite iterate.")
                x[:] = x_good
                break
            rows = min(n, st[_epoch.N_BATCHES] * size)
            history.append(fl[_epoch.LOSS_SUM] / max(rows, 1))
            if validation_data is not None:
                f_val = validate(x, validation_data, val_args)[0]
                if not np.isfinite(f_val):
                    _raise_if_nonfinite(validation_data, "validation_data")
                val_history.append(f_val)
                if f_val < best_val - opts["min_delta"]:
                    best_val, best_epoch, best_x, wait = f_val, e, x.copy(), 0
                else:
                    wait += 1
            if plateau is not None:
                plateau.step(val_history[-1] if val_history else history[-1])
                sched_params[0] = plateau(e + 1)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=history[-1], **({"val": val_history[-1]} if val_history else {}))
            if opts["disp"]:
                extra = f", validation loss {val_history[-1]:.6g}" if val_history else ""
                print(f"epoch {e + 1}/{opts['epochs']}: loss {history[-1]:.6g}{extra}")
            if callback is not None:
                try:
                    if wants_result:
                        callback(OptimizeResult(x=x.copy(), fun=history[-1], nit=int(st[_epoch.IT]),
                                                epoch=e, history=np.array(history)))
                    else:
                        callback(x.copy())
                    stop = bool(getattr(callback, "stop_iteration", False))
                except StopIteration:
                    stop = True
                if stop:
                    status, message = _loop.CALLBACK_STOP, "`callback` raised `StopIteration`."
                    break
            if early and wait >= opts["patience"]:
                status = 0
                message = (f"Early stopping: no validation improvement > min_delta for "
                           f"{opts['patience']} epochs; best epoch {best_epoch}.")
                break
            if opts["maxiter"] is not None and st[_epoch.IT] >= opts["maxiter"]:
                status, message = _loop.MAXITER, "Maximum number of iterations has been exceeded."
                break
    except KeyboardInterrupt:
        status = _loop.INTERRUPTED
        message = "Interrupted by KeyboardInterrupt; x is the last finite iterate."
        x[:] = x_good
    finally:
        if bar is not None:
            bar.close()
    if status is None:
        status, message = 0, f"Completed {len(history)} epoch(s)."
    restored = early and opts["restore_best"] and best_x is not None and status != _loop.NONFINITE
    if restored:
        x[:] = best_x
        message += f" Restored the best epoch ({best_epoch})."
    if not history and f_check is None:  # no epoch completed: the objective at x0, first batch
        f_check, g_first = check(_prepare_x0(x0), first_batch, args)
        if g is g_check:  # and none ran
            g = g_first
    result = OptimizeResult(
        # a copy: with jac='inplace' g is the buffer fun writes
        x=x, fun=float(history[-1]) if history else float(f_check), jac=np.array(g),
        nit=int(st[_epoch.IT]), nfev=int(st[_epoch.NFEV]) + 1, njev=int(st[_epoch.NFEV]) + 1,
        status=status, success=status == 0, message=message, history=np.array(history),
        epochs=len(history), time=time.perf_counter() - started)
    # Resumable: options={"optimizer_state": result.optimizer_state} continues this run.
    # Built from the kernel's arguments (this run's own: not copied), as the class's
    # state_dict() would be: the class costs ~0.1 ms here, with the caches cold after an epoch.
    steps = int(st[_epoch.IT])
    result.optimizer_state = build_state_dict(
        spec.name, steps, {0: entry_state(spec, steps, slots, scalars, x.shape)}, [(group, 1)],
        copy=False)
    if validation_data is not None:
        result.val_history = np.array(val_history)
        result.best_epoch = best_epoch
        if restored:
            result.fun = float(history[best_epoch])
    return result
