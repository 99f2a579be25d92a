"""The ``fastopt`` command line (``python -m fastopt`` or the ``fastopt`` script).

    fastopt compare [--problem rosenbrock] [--methods adam,sgd,...] [--plot out.png]
    fastopt list
    fastopt --version

``compare`` runs optimizers on a test problem from :mod:`fastopt.problems` or on
a synthetic classification task and prints one row per method: final loss,
iterations to reach the tolerance, time. ``--plot FILE`` also draws the
trajectories and loss curves (matplotlib, the optional ``plot`` extra).

:func:`main` takes the argument list and returns the exit status (0 success,
2 bad arguments), so tests and other programs can call it in-process.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import __version__
from .registry import METHODS, REGISTRY

PROG = "fastopt"
CLASSIFICATION = "classification"
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PLOT_HINT = "pip install 'fastopt[plot]'"

# Learning rates `fastopt compare` uses unless --lr is given: method -> (test
# problems, classification). The registry defaults are torch's, made for
# training networks; on these small problems they are far off (SGD's 1e-3 is
# fine, Lion's 1e-4 barely moves, RAdam's 1e-2 diverges on Rosenbrock).
# Tuned by a grid search over 1e-4 .. 3 (steps of ~3x): the test-problem
# column so that each method makes visible progress on Rosenbrock from
# (-1.2, 1) in 2000 iterations without diverging on the other 2-D problems;
# the classification column on the default task (20 epochs, batches of 32),
# for a low training loss after 20 epochs. A method missing here falls back to
# its registry default.
LEARNING_RATES: dict[str, tuple[float, float]] = {
    # Rosenbrock's curvature near (1, 1) is ~1000: gradient descent is stable
    # for lr < 2e-3, and 1e-3 keeps a margin.
    "sgd": (1e-3, 0.1),
    "adagrad": (0.5, 0.3),
    "adadelta": (1.0, 1.0),   # torch's default: Adadelta needs no tuning here
    "rmsprop": (3e-3, 1e-2),
    "adam": (0.1, 3e-2),
    "adamw": (0.1, 3e-2),     # weight_decay=1e-2 stays on: it biases the minimum
    "adamax": (0.3, 0.1),
    "nadam": (3e-2, 3e-2),
    "radam": (5e-3, 0.1),     # first steps unscaled by sqrt(v): 8e-3 diverges on Rosenbrock
    "rprop": (1e-2, 0.1),
    "asgd": (1e-3, 0.1),      # t0=1e6: no averaging within these runs, so SGD's rates
    "lion": (5e-3, 1e-2),
}

DEFAULT_PROBLEM = "rosenbrock"
DEFAULT_MAXITER = 2000
DEFAULT_TOL = {"problem": 1e-4, CLASSIFICATION: 1e-2}
N_TRAIN, N_VALIDATION = 1000, 500
CLASSIFICATION_DEFAULTS = {"classes": 2, "epochs": 20, "batch_size": 32}
DEFAULT_FEATURES = 20


class UsageError(Exception):
    """A bad argument found after parsing; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is ONE line on stderr (no usage block):
    ``fastopt: error: <what> (see 'fastopt compare --help')``, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def default_lr(method: str, task: str = "problem") -> float:
    """The learning rate ``compare`` uses for ``method`` without ``--lr``."""
    if method in LEARNING_RATES:
        return LEARNING_RATES[method][1 if task == CLASSIFICATION else 0]
    return float(REGISTRY[method].defaults["lr"])


# --------------------------------------------------------------------------
# Argument types: each raises ArgumentTypeError, which the parser reports as
# "fastopt: error: argument --x: <message> (see ...)", exit status 2.
# --------------------------------------------------------------------------

def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def _float_in(low: float, *, strict: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>' if strict else '>='} {low:g}, got {text}")
        return value
    return parse


def _problem_names() -> list[str]:
    from .problems import PROBLEMS

    return list(PROBLEMS) + [CLASSIFICATION]


def _problem_name(text: str) -> str:
    name = text.strip().lower()
    if name not in _problem_names():
        raise argparse.ArgumentTypeError(
            f"unknown problem {text!r}; choose from {', '.join(_problem_names())}")
    return name


def _method_list(text: str) -> list[str]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of methods, e.g. adam,sgd")
    if names == ["all"]:
        return list(METHODS)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown method{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(METHODS)}")
    return list(dict.fromkeys(names))  # drop repeats, keep the order given


def _plot_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"the file name must end in {', '.join(PLOT_SUFFIXES)} (the image format), got {text!r}")
    return path


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------

_COMPARE_EPILOG = """\
examples:
  fastopt compare                                  all methods on Rosenbrock (2-D)
  fastopt compare --methods adam,sgd,lion --plot rosenbrock.png
  fastopt compare --problem quadratic --dim 100 --maxiter 500 --format markdown
  fastopt compare --problem classification --classes 3 --plot curves.svg

time: by default each run is driven by Python, which calls the same compiled
kernels and objective and gives the same iterates as the compiled loop; the
compiled loop is recompiled in every process (seconds per method), far more
than these short runs take. --compiled runs the compiled loops instead and
reports their compile time apart.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description="fastopt: first-order optimizers compiled with Numba. "
        "Compare them on test problems from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    compare = sub.add_parser(
        "compare", help="run optimizers on a test problem and print a table",
        description="Run each optimizer on a test problem (or a synthetic classification\n"
        "task) and print the final loss, the iterations to reach --tol and the time.",
        epilog=_COMPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    compare.add_argument(
        "--problem", type=_problem_name, default=DEFAULT_PROBLEM, metavar="NAME",
        help=f"a test problem ({', '.join(_problem_names()[:-1])}) or '{CLASSIFICATION}': "
        "a seeded synthetic logistic (2 classes) / softmax task trained in mini-batches "
        f"(default: {DEFAULT_PROBLEM})")
    compare.add_argument(
        "--methods", type=_method_list, default=None, metavar="LIST",
        help="comma-separated methods, e.g. adam,sgd (default: all, see 'fastopt list')")
    compare.add_argument(
        "--dim", type=_int_at_least(1), default=None, metavar="N",
        help="problem dimension for the n-D problems (default 2); number of features "
        f"for classification (default {DEFAULT_FEATURES})")
    compare.add_argument(
        "--maxiter", type=_int_at_least(1), default=None, metavar="N",
        help=f"iterations per method (default {DEFAULT_MAXITER}); for classification a cap on "
        "the mini-batch steps (default: none, --epochs decides)")
    compare.add_argument(
        "--tol", type=_float_in(0.0, strict=False), default=None, metavar="TOL",
        help="report the first iteration with f - f* <= TOL (default 1e-4; classification: "
        "the first epoch with training loss - f* <= TOL, default 1e-2, f* from L-BFGS)")
    compare.add_argument(
        "--lr", type=_float_in(0.0, strict=True), default=None, metavar="LR",
        help="one learning rate for every method (default: a tuned rate per method, "
        "see 'fastopt list')")
    compare.add_argument(
        "--seed", type=_int_at_least(0), default=0, metavar="N",
        help="seed of the classification data and of the mini-batch shuffling (default 0)")
    compare.add_argument(
        "--plot", type=_plot_file, default=None, metavar="FILE",
        help="also draw the trajectories (2-D problems) and loss curves into FILE "
        f"(.png, .svg or .pdf; needs matplotlib: {PLOT_HINT})")
    compare.add_argument(
        "--format", choices=("table", "markdown", "csv"), default="table",
        help="output format (default: table)")
    compare.add_argument(
        "--compiled", action="store_true",
        help="run each method's loop compiled by Numba; the time then excludes the "
        "compilation, shown in its own column (a few seconds per method)")
    # Defaults None so that using them with a test problem is an error, not ignored.
    group = compare.add_argument_group("with --problem classification")
    group.add_argument("--classes", type=_int_at_least(2), default=None, metavar="K",
                       help="number of classes: 2 is logistic regression, more is softmax "
                       f"(default {CLASSIFICATION_DEFAULTS['classes']})")
    group.add_argument("--epochs", type=_int_at_least(1), default=None, metavar="N",
                       help="passes over the training set "
                       f"(default {CLASSIFICATION_DEFAULTS['epochs']})")
    group.add_argument("--batch-size", type=_int_at_least(1), default=None, metavar="N",
                       help=f"mini-batch size (default {CLASSIFICATION_DEFAULTS['batch_size']}; "
                       f"{N_TRAIN} training rows)")
    compare.set_defaults(handler=_compare, parser=compare)

    listing = sub.add_parser(
        "list", help="list the methods (with their defaults) and the problems",
        description="List the optimizers with the learning rates 'compare' uses and their "
        "constructor defaults, and the test problems.")
    listing.set_defaults(handler=_list, parser=listing)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the subcommand, whose --help lists its options
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
        try:
            return args.handler(args)
        except UsageError as exc:
            args.parser.error(str(exc))  # one line, SystemExit(2)
    except SystemExit as exc:  # argparse: --help, --version, bad arguments
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fastopt compare | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------

@dataclass
class Run:
    """One method's run and what the table reports about it."""

    method: str
    lr: float
    result: object                 # scipy.optimize.OptimizeResult
    seconds: float
    compile_seconds: float | None
    to_tol: int | None
    path: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


_STATUS = {0: "converged", 1: "maxiter", 2: "diverged", 3: "interrupted", 99: "stopped"}


def _first_at_most(values: np.ndarray, tol: float) -> int | None:
    hits = np.flatnonzero(np.asarray(values) <= tol)
    return int(hits[0]) if hits.size else None


def _check_plot_target(path: Path) -> None:
    """Fail before the runs, not after: matplotlib present, folder exists."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"argument --plot: drawing needs matplotlib, which is not installed: "
                         f"{PLOT_HINT}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"argument --plot: folder {str(folder)!r} does not exist")


def _compare(args) -> int:
    methods = args.methods or list(METHODS)
    for key, default in CLASSIFICATION_DEFAULTS.items():
        if args.problem != CLASSIFICATION and getattr(args, key) is not None:
            raise UsageError(f"argument --{key.replace('_', '-')}: only for --problem "
                             f"{CLASSIFICATION}")
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.plot is not None:
        _check_plot_target(args.plot)
    if args.compiled:
        print(f"{PROG}: --compiled: compiling each method's loop first (seconds each)...",
              file=sys.stderr, flush=True)
    if args.problem == CLASSIFICATION:
        task = _classification_task(args)
        runs = [_run_classification(task, m, args) for m in _progress(methods)]
        caption, columns = _classification_report(task, args)
    else:
        problem = _test_problem(args)
        want_paths = args.plot is not None and problem.x0.size == 2
        runs = [_run_problem(problem, m, args, want_paths) for m in _progress(methods)]
        caption, columns = _problem_report(problem, args)
    if args.compiled:
        columns.insert(-1, ("compile [s]", "compile_s", lambda r: r.compile_seconds, "{:.2f}"))
    sys.stdout.write(_render(runs, columns, caption, args.format))
    sys.stdout.flush()
    if args.plot is not None:
        try:
            if args.problem == CLASSIFICATION:
                _plot_classification(runs, args)
            else:
                _plot_problem(problem, runs, args)
        except OSError as exc:
            print(f"{PROG}: error: cannot write {args.plot}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        print(f"{PROG}: wrote {args.plot}", file=sys.stderr)
    return 0


def _progress(methods: list[str]):
    """Yield the methods, showing which one runs on a terminal's stderr (the
    first run in a new environment compiles the kernels: seconds per method)."""
    show = sys.stderr.isatty()
    for i, method in enumerate(methods, 1):
        if show:
            print(f"\r\033[K{PROG}: running {method} ({i}/{len(methods)})", end="",
                  file=sys.stderr, flush=True)
        yield method
    if show:
        print("\r\033[K", end="", file=sys.stderr, flush=True)


def _stop_if_interrupted(res) -> None:
    """minimize turns Ctrl-C into status 3 and returns; here it ends the whole comparison."""
    if res.status == 3:
        raise KeyboardInterrupt


# ---- test problems -------------------------------------------------------

def _test_problem(args):
    from .problems import get_problem

    try:
        return get_problem(args.problem, args.dim)
    except ValueError as exc:
        raise UsageError(f"argument --dim: {exc}") from None


def _run_problem(problem, method: str, args, want_path: bool) -> Run:
    from .minimize import minimize

    lr = args.lr if args.lr is not None else default_lr(method)
    maxiter = args.maxiter or DEFAULT_MAXITER
    options = {"maxiter": maxiter, "lr": lr}
    path = [problem.x0.copy()] if want_path else None

    def record(xk):
        if path is not None:
            path.append(xk)

    # Warm-up: one iteration loads the kernel from Numba's disk cache (or
    # compiles it, the first time), and with --compiled compiles the loop;
    # the timed run then measures iterations only.
    warm = dict(options, maxiter=1)
    start = time.perf_counter()
    if args.compiled:
        minimize(problem.fun, problem.x0, jac=True, method=method, options=warm)
    else:
        minimize(problem.fun, problem.x0, jac=True, method=method, options=warm, callback=_ignore)
    compile_seconds = time.perf_counter() - start if args.compiled else None
    if args.compiled:
        start = time.perf_counter()
        res = minimize(problem.fun, problem.x0, jac=True, method=method, options=options)
        seconds = time.perf_counter() - start
        if path is not None:
            # The compiled loop cannot hand out iterates; a second, Python-driven
            # run gives the same ones (same kernels) for a fraction of the
            # compile time already paid.
            minimize(problem.fun, problem.x0, jac=True, method=method, options=options,
                     callback=record)
    else:
        # A callback makes minimize drive the loop from Python: 5-10 us of
        # overhead per iteration (2000 iterations: ~15 ms), against 2-5 s to
        # compile the loop for each method in each process. The same callback
        # collects the iterates for the trajectories, so one run gives both.
        start = time.perf_counter()
        res = minimize(problem.fun, problem.x0, jac=True, method=method, options=options,
                       callback=record)
        seconds = time.perf_counter() - start
    _stop_if_interrupted(res)
    tol = args.tol if args.tol is not None else DEFAULT_TOL["problem"]
    return Run(method, lr, res, seconds, compile_seconds,
               _first_at_most(res.history - problem.fmin, tol),
               np.array(path) if path is not None else None)


def _ignore(xk) -> None:
    """A callback that only makes minimize run its Python-driven loop."""


def _fmt_point(x: np.ndarray) -> str:
    if x.size > 4:
        return f"[{x[0]:g}, {x[1]:g}, ...] ({x.size} values)"
    return "[" + ", ".join(f"{v:g}" for v in x) + "]"


def _problem_report(problem, args):
    tol = args.tol if args.tol is not None else DEFAULT_TOL["problem"]
    fmin = problem.fmin
    engine = "compiled loop" if args.compiled else "Python-driven loop (see --compiled)"
    caption = [
        f"{problem.name} ({problem.x0.size}-D): {problem.description}",
        f"start {_fmt_point(problem.x0)}, f* = {fmin:g}, "
        f"at most {args.maxiter or DEFAULT_MAXITER} iterations",
        f"to tol: first iteration with f - f* <= {tol:g}; time: {engine}",
    ]
    columns = [
        ("method", "method", lambda r: r.method, "{}"),
        ("lr", "lr", lambda r: r.lr, "{:g}"),
        ("f(x)", "f", lambda r: r.result.fun, "{:.3g}"),
        ("f - f*", "f_minus_fstar", lambda r: r.result.fun - fmin, "{:.3g}"),
        ("iters", "iterations", lambda r: r.result.nit, "{}"),
        ("to tol", "iterations_to_tol", lambda r: r.to_tol, "{}"),
        ("time [ms]", "time_s", lambda r: r.seconds, _ms),
        ("status", "status", lambda r: _STATUS.get(r.result.status, str(r.result.status)), "{}"),
    ]
    return caption, columns


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else (f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}")


# ---- classification --------------------------------------------------------

@dataclass
class Task:
    """The synthetic classification task: data, loss and reference optimum."""

    fun: Callable                  # fastopt.losses.logistic or softmax
    x0: np.ndarray
    train: tuple
    validation: tuple
    classes: int
    features: int
    fstar: float                   # minimum of the full training loss (L-BFGS)

    def accuracy(self, w: np.ndarray, data: tuple) -> float:
        X, T = data
        d, k = self.features, self.classes
        if k == 2:
            predicted = X @ w[:d] + w[d] > 0
            return float(np.mean(predicted == (T > 0.5)))
        scores = X @ w[: d * k].reshape(d, k) + w[d * k:]
        return float(np.mean(scores.argmax(axis=1) == T.argmax(axis=1)))


def _classification_task(args) -> Task:
    """Seeded data: Gaussian features with scales 10^-0.5 .. 10^0.5 (so that the
    step sizes of the methods matter) and labels drawn from a random linear
    teacher's softmax, so some labels are noisy and f* > 0."""
    from scipy.optimize import minimize as scipy_minimize

    from . import losses

    d, k = args.dim or DEFAULT_FEATURES, args.classes
    rng = np.random.default_rng(args.seed)
    n = N_TRAIN + N_VALIDATION
    scales = 10.0 ** np.linspace(-0.5, 0.5, d)
    X = rng.standard_normal((n, d)) * scales
    W = rng.standard_normal((d, k)) * (3.0 / np.sqrt(d)) / scales[:, None]
    Z = X @ W + rng.standard_normal(k)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    labels = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1).clip(max=k - 1)
    if k == 2:
        fun, T, size = losses.logistic, labels.astype(np.float64), d + 1
    else:
        fun, T, size = losses.softmax, losses.one_hot(labels, k), (d + 1) * k
    train = (np.ascontiguousarray(X[:N_TRAIN]), np.ascontiguousarray(T[:N_TRAIN]))
    validation = (np.ascontiguousarray(X[N_TRAIN:]), np.ascontiguousarray(T[N_TRAIN:]))
    x0 = np.zeros(size)
    ref = scipy_minimize(lambda w: fun(w, *train), x0, jac=True, method="L-BFGS-B",
                         options={"maxiter": 10_000, "gtol": 1e-10, "ftol": 1e-15})
    return Task(fun, x0, train, validation, k, d, float(ref.fun))


def _run_classification(task: Task, method: str, args) -> Run:
    from .minimize import minimize

    lr = args.lr if args.lr is not None else default_lr(method, CLASSIFICATION)
    options = {"epochs": args.epochs, "seed": args.seed, "lr": lr, "early_stopping": False}
    if args.maxiter is not None:
        options["maxiter"] = args.maxiter
    losses_after_epoch = []

    def record(xk):
        # The full training loss after each epoch (history holds the mean of
        # the mini-batch losses seen during the epoch, at moving iterates).
        losses_after_epoch.append(task.fun(xk, *task.train)[0])

    kwargs = dict(jac=True, method=method, data=task.train, batch_size=args.batch_size,
                  validation_data=task.validation, callback=record)
    if args.compiled:
        fun = task.fun
    else:
        # A plain Python function makes the epochs run in Python, calling the
        # compiled loss and kernel once per batch; the compiled epoch would be
        # recompiled for each method in each process (seconds each).
        def fun(w, X, y, _loss=task.fun):
            return _loss(w, X, y)
    # Warm-up (one step): loads the cached kernel, with --compiled compiles the epoch.
    start = time.perf_counter()
    minimize(fun, task.x0, jac=True, method=method, data=task.train, batch_size=args.batch_size,
             options=dict(options, epochs=1, maxiter=1))
    compile_seconds = time.perf_counter() - start if args.compiled else None
    start = time.perf_counter()
    res = minimize(fun, task.x0, options=options, **kwargs)
    seconds = time.perf_counter() - start
    _stop_if_interrupted(res)
    tol = args.tol if args.tol is not None else DEFAULT_TOL[CLASSIFICATION]
    excess = np.asarray(losses_after_epoch) - task.fstar
    to_tol = _first_at_most(excess, tol)
    train_loss = float(task.fun(res.x, *task.train)[0])
    extra = {
        "train_loss": train_loss,
        "val_loss": float(res.val_history[-1]) if len(res.val_history) else math.nan,
        "val_acc": task.accuracy(res.x, task.validation),
    }
    return Run(method, lr, res, seconds, compile_seconds, to_tol, None, extra)


def _classification_report(task: Task, args):
    tol = args.tol if args.tol is not None else DEFAULT_TOL[CLASSIFICATION]
    loss = "logistic" if task.classes == 2 else f"softmax, {task.classes} classes"
    engine = "compiled epochs" if args.compiled else "Python-driven epochs (see --compiled)"
    caption = [
        f"classification ({loss}): {N_TRAIN} training + {N_VALIDATION} validation rows, "
        f"{task.features} features, seed {args.seed}",
        f"f* = {task.fstar:.6g} (training loss minimum, L-BFGS); {args.epochs} epochs of "
        f"batches of {args.batch_size}" + (f", at most {args.maxiter} steps" if args.maxiter else ""),
        f"to tol: first epoch (from 0, like best epoch) with training loss - f* <= {tol:g}",
        f"time: {engine}",
    ]
    columns = [
        ("method", "method", lambda r: r.method, "{}"),
        ("lr", "lr", lambda r: r.lr, "{:g}"),
        ("train loss", "train_loss", lambda r: r.extra["train_loss"], "{:.4g}"),
        ("train - f*", "train_minus_fstar", lambda r: r.extra["train_loss"] - task.fstar, "{:.3g}"),
        ("val loss", "val_loss", lambda r: r.extra["val_loss"], "{:.4g}"),
        ("val acc", "val_accuracy", lambda r: r.extra["val_acc"], "{:.3f}"),
        ("best epoch", "best_epoch", lambda r: r.result.best_epoch, "{}"),
        ("to tol", "epochs_to_tol", lambda r: r.to_tol, "{}"),
        ("steps", "steps", lambda r: r.result.nit, "{}"),
        ("time [ms]", "time_s", lambda r: r.seconds, _ms),
        ("status", "status", lambda r: ("completed" if r.result.status == 0 else
                                        _STATUS.get(r.result.status, str(r.result.status))), "{}"),
    ]
    return caption, columns


# ---- output ---------------------------------------------------------------

def _cell(value, fmt) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt(value) if callable(fmt) else fmt.format(value)


def _render(runs: list[Run], columns, caption: list[str], style: str) -> str:
    if style == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([key for _, key, _, _ in columns])
        for run in runs:
            writer.writerow(["" if (v := get(run)) is None else v for _, _, get, _ in columns])
        return out.getvalue()
    header = [title for title, _, _, _ in columns]
    body = [[_cell(get(run), fmt) for _, _, get, fmt in columns] for run in runs]
    if style == "markdown":
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(":---" if i in (0, len(header) - 1) else "---:"
                                for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]

    def line(cells):
        # First and last columns (method, status) left-aligned; numbers right-aligned.
        return "  ".join(c.ljust(w) if i in (0, len(cells) - 1) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join(caption + ["", line(header), rule] + [line(row) for row in body]) + "\n"


# ---- plots ----------------------------------------------------------------

def _figure(panels: int):
    """A matplotlib Figure on the Agg canvas: no pyplot, no GUI, no global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0 * panels + 1.4, 5.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, axes


def _legend_outside(fig, axes) -> None:
    """One legend for the figure, right of the panels (the methods keep their
    colours across panels), instead of one over each panel's curves."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")


def _plot_problem(problem, runs: list[Run], args) -> None:
    from .plot import plot_loss_curves, plot_trajectories

    two_d = problem.x0.size == 2
    fig, axes = _figure(2 if two_d else 1)
    if two_d:
        plot_trajectories(problem, {r.method: r.path for r in runs}, ax=axes[0],
                          title=f"{problem.name}: iterates from {_fmt_point(problem.x0)}")
    plot_loss_curves({r.method: r.result for r in runs}, ax=axes[-1], fmin=problem.fmin,
                     title="f(x) - f* per iteration")
    _legend_outside(fig, axes)
    fig.suptitle(f"fastopt compare: {problem.name} ({problem.x0.size}-D), "
                 f"up to {args.maxiter or DEFAULT_MAXITER} iterations")
    fig.savefig(args.plot, dpi=110)


def _plot_classification(runs: list[Run], args) -> None:
    from .plot import plot_loss_curves, plot_train_validation

    loss = "logistic" if args.classes == 2 else f"softmax, {args.classes} classes"
    if len(runs) == 1:
        fig, axes = _figure(1)
        plot_train_validation(runs[0].result, ax=axes[0],
                              title=f"{runs[0].method}: training and validation loss")
    else:
        fig, axes = _figure(2)
        results = {r.method: r.result for r in runs}
        # Linear axes: these losses stay within a decade.
        plot_loss_curves(results, ax=axes[0], log=False,
                         title="training loss (mean over each epoch)")
        plot_loss_curves(results, ax=axes[1], log=False, key="val_history",
                         title="validation loss (dots: best epoch)")
        _legend_outside(fig, axes)
    fig.suptitle(f"fastopt compare: classification ({loss}), {args.epochs} epochs, "
                 f"batches of {args.batch_size}")
    fig.savefig(args.plot, dpi=110)


# --------------------------------------------------------------------------
# list
# --------------------------------------------------------------------------

def _list(args) -> int:
    from .problems import PROBLEMS

    def fmt(value):
        if isinstance(value, tuple):
            return "(" + ", ".join(map(fmt, value)) + ")"
        return f"{value:g}" if isinstance(value, float) else str(value)

    lines = ["methods (fastopt compare --methods NAME,...):", ""]
    rows = [("name", "class", "lr: problems", "lr: classification", "defaults (torch)")]
    for name in METHODS:
        spec = REGISTRY[name]
        defaults = ", ".join(f"{k}={fmt(v)}" for k, v in spec.defaults.items())
        rows.append((name, spec.class_name, f"{default_lr(name):g}",
                     f"{default_lr(name, CLASSIFICATION):g}", defaults))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    lines += ["", "problems (fastopt compare --problem NAME):", ""]
    width = max(len(n) for n in _problem_names())
    for name, p in PROBLEMS.items():
        size = "n-D" if p.dim is None else f"{p.dim}-D"
        lines.append(f"  {name.ljust(width)}  {size:4s} {p.description}")
    lines.append(f"  {CLASSIFICATION.ljust(width)}  data synthetic, seeded linear classification "
                 f"({N_TRAIN} + {N_VALIDATION} rows): logistic loss, softmax with --classes > 2")
    print("\n".join(lines))
    return 0
