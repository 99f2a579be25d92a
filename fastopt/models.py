"""scikit-learn compatible linear models trained by fastopt's optimizers.

``LinearRegression`` (squared or Huber loss) and ``LogisticRegression``
(binary logistic or multinomial softmax) minimize

    mean loss over the samples + penalty(coef)

with any optimizer of ``fastopt.METHODS`` through ``fastopt.minimize`` in
data mode (``fastopt.losses`` supplies the objectives and their parallel
mini-batch gradients). The penalty follows scikit-learn's ``SGDClassifier``
and ``ElasticNet``; the intercept is never penalized:

    "l2"          alpha / 2 * ||coef||^2
    "l1"          alpha * ||coef||_1                       (a proximal step, see below)
    "elasticnet"  alpha * (l1_ratio * ||coef||_1 + (1 - l1_ratio) / 2 * ||coef||^2)
    None          no penalty

So ``LogisticRegression(alpha=a)`` minimizes the objective of scikit-learn's
``LogisticRegression(C=1 / (n_samples * a))`` (scaled by ``a``), and
``LinearRegression(alpha=a)`` that of ``Ridge(alpha=n_samples * a)``
(scaled by ``1 / (2 n_samples)``), of ``Lasso(alpha=a)`` with
``penalty="l1"`` and of ``ElasticNet(alpha=a, l1_ratio=r)`` with
``penalty="elasticnet", l1_ratio=r``.

scikit-learn is optional. When it is installed the estimators derive from its
``BaseEstimator`` and mixins, validate input with its utilities and pass
``sklearn.utils.estimator_checks``; they work in ``cross_val_score``,
``GridSearchCV``, ``Pipeline`` and ``BaggingClassifier``. Without it, small
stand-ins provide ``get_params``/``set_params``, ``repr``, ``score`` and the
same errors, under the same class names.

Notes
-----
* Input is converted to C-ordered, writeable float64 (float32 and read-only
  input are copied); the weights are float64.
* ``batch_size="auto"`` means ``min(200, n_samples)`` (as scikit-learn's MLP);
  ``None`` is full-batch gradient descent.
* Small fits (fewer than ``COMPILE_STEPS`` optimizer steps) run the epoch loop
  in Python around the compiled loss, which avoids several seconds of Numba
  compilation, unless the compiled loop is ready (compiled in this process or
  in Numba's disk cache) or the process has run ``COMPILE_STEPS`` such steps
  already; larger fits run the loop compiled. Both run the same loop source
  and the same kernels, and give the same bits.
* The L1 term is applied as a proximal step after each update
  (``options["l1"]`` of ``fastopt.minimize``): a soft threshold of
  ``alpha`` times the optimizer's per-coordinate step size (``lr`` for
  plain SGD, ``lr / (sqrt(v_hat) + eps)``-like for the adaptive ones). With
  ``optimizer="sgd"`` that is proximal gradient descent; with any optimizer
  whose step scales with the gradient it converges to the exact L1 solution,
  with exact zeros. Rprop and Lion step by the gradient's sign; with them the
  threshold is ``lr * alpha`` and the L1 solution only approximated (a
  ``UserWarning`` says so).
* The coefficients start at zero and the intercept near its optimum for
  zero coefficients (the mean of ``y`` for the squared loss, the median for
  Huber, the log-odds of the add-one smoothed class frequencies for the
  classifiers), which spares the optimizer the long walk to the data's offset.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings

import numpy as np

from . import _validation as v
from . import losses
from ._optimizer import saved_optimizer
from .minimize import minimize
from .registry import METHODS

try:  # scikit-learn is optional
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by a subprocess test
    HAVE_SKLEARN = False

__all__ = ["LinearRegression", "LogisticRegression", "COMPILE_STEPS", "HAVE_SKLEARN"]

# Above this many optimizer steps a fit runs the compiled epoch loop; below it,
# the Python loop, unless the compiled one is ready (see _objective).
#: Fits of at least this many optimizer steps run the compiled epoch loop.
COMPILE_STEPS = 100_000
# Seconds a fit runs before its progress bar (verbose=1) appears.
PROGRESS_DELAY = 2.0
_PENALTIES = ("l2", "l1", "elasticnet", None)
# Optimizers that step by the gradient's sign: no per-coordinate step size
# makes their L1 step exact (see fastopt._kernels).
_SIGN_OPTIMIZERS = ("rprop", "lion")
_REGRESSION_LOSSES = ("squared_error", "huber")


# --------------------------------------------------------------------------
# Stand-ins for scikit-learn, used only when it is not installed.
# --------------------------------------------------------------------------

if not HAVE_SKLEARN:  # pragma: no cover - exercised by a subprocess test

    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before ``fit`` (as scikit-learn's)."""

    class ConvergenceWarning(UserWarning):
        """The optimizer stopped before the stopping criterion was met."""

    class DataConversionWarning(UserWarning):
        """Input data was converted (a column vector y was raveled)."""

    class BaseEstimator:
        """get_params / set_params from the ``__init__`` signature, and a repr."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

        def get_params(self, deep=True):
            out = {}
            for name in self._get_param_names():
                value = getattr(self, name)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((f"{name}__{k}", x) for k, x in value.get_params().items())
                out[name] = value
            return out

        def set_params(self, **params):
            valid = self.get_params(deep=True)
            nested = {}
            for key, value in params.items():
                name, sep, sub = key.partition("__")
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for estimator {self}. "
                                     f"Valid parameters are: {sorted(self._get_param_names())!r}.")
                if sep:
                    nested.setdefault(name, {})[sub] = value
                else:
                    setattr(self, name, value)
                    valid[name] = value
            for name, sub in nested.items():
                valid[name].set_params(**sub)
            return self

        def __repr__(self):
            sig = inspect.signature(type(self).__init__)
            changed = []
            for name in self._get_param_names():
                value = getattr(self, name)
                default = sig.parameters[name].default
                if not (value is default or (type(value) is type(default) and value == default)):
                    changed.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    class ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None):
            """Mean accuracy of ``predict(X)`` against ``y``."""
            y = np.asarray(y)
            hit = (self.predict(X) == y).astype(float)
            return float(np.average(hit, weights=sample_weight))

    class RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None):
            """Coefficient of determination R^2 of ``predict(X)``."""
            y = np.asarray(y, dtype=np.float64).ravel()
            pred = self.predict(X)
            w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
            ss_res = np.sum(w * (y - pred) ** 2)
            ss_tot = np.sum(w * (y - np.average(y, weights=w)) ** 2)
            if ss_tot == 0:
                return 1.0 if ss_res == 0 else 0.0
            return float(1.0 - ss_res / ss_tot)

    def check_random_state(seed):
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
            return np.random.RandomState(int(seed))
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")

    def check_is_fitted(estimator, attributes=None):
        if not any(k.endswith("_") and not k.startswith("__") for k in vars(estimator)):
            raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this "
                                 "estimator.")

    def check_classification_targets(y):
        y = np.asarray(y)
        if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
            raise ValueError("Unknown label type: continuous. Maybe you are trying to fit a "
                             "classifier, which expects discrete classes on a regression "
                             "problem with continuous values.")
        if y.dtype.kind not in "iubfUSO":
            raise ValueError(f"Unknown label type: {y.dtype}")

    def _plain_array(est, A, name, ensure_2d):
        A = np.asarray(A)
        if A.dtype.kind == "c":
            raise ValueError("Complex data not supported")
        if ensure_2d:
            if A.ndim != 2:
                raise ValueError(f"Expected 2D array, got {A.ndim}D array instead. Reshape your "
                                 "data with X.reshape(-1, 1) for a single feature or "
                                 "X.reshape(1, -1) for a single sample.")
            if A.dtype.kind not in "fiub":
                try:
                    A = A.astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{name} must be numeric: {exc}") from None
            A = np.ascontiguousarray(A, dtype=np.float64)
            if A.shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={A.shape}) while a "
                                 f"minimum of 1 is required by {type(est).__name__}.")
            if A.shape[1] < 1:
                raise ValueError(f"Found array with 0 feature(s) (shape={A.shape}) while a "
                                 f"minimum of 1 is required by {type(est).__name__}.")
            if not np.all(np.isfinite(A)):
                raise ValueError(f"Input {name} contains NaN or infinity.")
        return A

    def validate_data(est, X, y="no_validation", reset=True, y_numeric=False, **_):
        X = _plain_array(est, X, "X", True)
        if reset:
            est.n_features_in_ = X.shape[1]
        elif X.shape[1] != est.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                             f"expecting {est.n_features_in_} features as input.")
        if isinstance(y, str) and y == "no_validation":
            return X
        if y is None:
            raise ValueError(f"This {type(est).__name__} estimator requires y to be passed, "
                             "but the target y is None.")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning, stacklevel=3)
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
        if y.shape[0] != X.shape[0]:
            raise ValueError("Found input variables with inconsistent numbers of samples: "
                             f"[{X.shape[0]}, {y.shape[0]}]")
        if y.dtype.kind == "c":
            raise ValueError("Complex data not supported")
        if y_numeric and y.dtype.kind == "O":
            y = y.astype(np.float64)
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        return X, y


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

# The objectives: fastopt's jitted losses. Short fits wrap them in a Python
# function so that training runs its Python epoch loop around the compiled
# loss (no loop compilation); long fits hand the jitted loss itself to
# training, whose compiled epoch loop then runs with no Python per batch.
_JITTED = {"squared": losses.squared, "logistic": losses.logistic, "huber": losses.huber,
           "softmax": losses.softmax}


def _python_wrapper(loss):
    def objective(w, X, y, *args):
        return loss(w, X, y, *args)

    objective.__name__ = loss.__name__
    return objective


_PYTHON = {name: _python_wrapper(loss) for name, loss in _JITTED.items()}


def _objective(name: str, method: str, steps: int, w: np.ndarray, batch_size: int,
               n_args: int):
    """The jitted loss (compiled epochs) or its Python wrapper (Python epochs).

    Compiling the epoch loop costs seconds, once per loss and optimizer: once
    per machine where Numba's disk cache keeps it (below FASTOPT_PARALLEL_MIN
    parameters), else per process. Fits shorter than COMPILE_STEPS steps run
    the Python loop unless that cost is already paid (compiled in this
    process, or on disk), or this process has run COMPILE_STEPS Python-loop
    steps of the same loss and optimizer (many small fits, e.g. a grid search).
    """
    from . import training

    jitted = _JITTED[name]
    key = (name, method)
    if (steps >= COMPILE_STEPS or _PYTHON_STEPS.get(key, 0) >= COMPILE_STEPS
            or training.epoch_ready(jitted, method, 2, w, batch_size, n_args)):
        return jitted
    _PYTHON_STEPS[key] = _PYTHON_STEPS.get(key, 0) + steps
    return _PYTHON[name]


# Optimizer steps run through the Python epoch loop in this process, per (loss, optimizer).
_PYTHON_STEPS: dict = {}


def _draw_seed(random_state) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


# The same draw, made once per int: seeding a RandomState costs ~0.1 ms, a
# third of a small partial_fit.
_seed_of_int = functools.lru_cache(maxsize=64)(_draw_seed)


def _seed(random_state) -> int:
    """An int seed from ``random_state``, drawn the scikit-learn way."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        return _seed_of_int(int(random_state))
    return _draw_seed(random_state)


def _check_class_labels(y) -> None:
    """scikit-learn's check_classification_targets, without its cost for plain labels.

    Integer and bool labels, and float labels that are all whole numbers, are
    binary or multiclass targets: accepted here in one pass. Anything else
    (strings, objects, fractional floats) goes to ``check_classification_targets``,
    whose type_of_target takes ~0.4 ms even on 32 labels.
    """
    if y.ndim == 1 and (y.dtype.kind in "biu"
                        or (y.dtype.kind == "f" and bool(np.all(y == np.round(y))))):
        return
    check_classification_targets(y)


def _int_param(name, value, low):
    if type(value) is not int and (  # int first: numbers.Integral is a slow ABC check
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _plain(X, y="no_validation"):
    """Whether (X, y) already are what validation would return: nothing to convert or report.

    X a float64, C-ordered, 2-D, non-empty ndarray (no subclass) of finite
    values; y, when given, a 1-D numeric ndarray of as many finite entries.
    """
    if not (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
            and X.shape[0] >= 1 and X.shape[1] >= 1 and X.flags.c_contiguous):
        return False
    given_y = not (isinstance(y, str) and y == "no_validation")
    if given_y and not (type(y) is np.ndarray and y.ndim == 1 and y.shape[0] == X.shape[0]
                        and y.dtype.kind in "fiub"):
        return False
    # A finite sum means finite entries; an overflow to inf (or inf - inf) goes the
    # long way, silently here: validate_data then says what it finds.
    with np.errstate(over="ignore", invalid="ignore"):
        if given_y and y.dtype.kind == "f" and not np.isfinite(y.sum()):
            return False
        return bool(np.isfinite(X.sum()))


def _validate_data(est, X, y="no_validation", reset=True, **options):
    """``validate_data`` (scikit-learn's, or its stand-in), short-cut for plain arrays.

    scikit-learn's costs ~0.1 ms even for 32 rows, most of the cost of a
    ``partial_fit`` or a small ``predict``. Arrays that need no conversion
    and hold no error (``_plain``), given to an estimator fitted without
    feature names, come back as they are, as ``validate_data`` would return
    them; everything else, including every input it would reject or warn
    about, goes through it.
    """
    if (not hasattr(est, "feature_names_in_") and _plain(X, y)
            and (reset or X.shape[1] == getattr(est, "n_features_in_", None))):
        if reset:
            est.n_features_in_ = X.shape[1]
        return X if isinstance(y, str) and y == "no_validation" else (X, y)
    return validate_data(est, X, y, reset=reset, **options)


def _writeable(X):
    """C-ordered, writeable float64 (read-only input, e.g. a memmap, is copied)."""
    if not X.flags.writeable or not X.flags.c_contiguous or X.dtype != np.float64:
        X = np.array(X, dtype=np.float64, order="C")
    return X


class _Monitor:
    """The per-epoch callback: training-loss stopping (``tol``) and the progress bar."""

    def __init__(self, tol, n_iter_no_change, bar):
        self.tol = tol
        self.patience = n_iter_no_change
        self.bar = bar
        self.best = np.inf
        self.wait = 0
        self.converged = False

    def __call__(self, intermediate_result):
        loss = float(intermediate_result.fun)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.5g}", refresh=False)
        if self.tol is not None:
            self.wait = self.wait + 1 if loss > self.best - self.tol else 0
            self.best = min(self.best, loss)
            if self.wait >= self.patience:
                self.converged = True
                raise StopIteration


def _progress_bar(verbose, epochs, name):
    """tqdm bar (verbose == 1) that appears once a fit has run PROGRESS_DELAY seconds."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, unit="epoch", desc=name, delay=PROGRESS_DELAY, leave=False)


# --------------------------------------------------------------------------
# The shared training logic
# --------------------------------------------------------------------------

class _FastoptLinearModel(BaseEstimator):
    """Parameters, validation and the call to ``fastopt.minimize`` shared by both models."""

    # -- parameters -----------------------------------------------------------

    def _check_params(self) -> dict:
        """Validate the constructor parameters (scikit-learn validates in fit, not in __init__)."""
        p = {}
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a str (one of {', '.join(METHODS)}), got "
                            f"{type(self.optimizer).__name__}")
        if self.optimizer.lower() not in METHODS:
            raise ValueError(f"optimizer={self.optimizer!r} is not a fastopt optimizer; valid "
                             f"names: {', '.join(METHODS)}")
        p["optimizer"] = self.optimizer.lower()
        if isinstance(self.lr, numbers.Real) and not isinstance(self.lr, (bool, np.bool_)):
            p["lr"] = v.positive("lr", self.lr)
        elif callable(self.lr):  # a fastopt.schedules schedule; minimize validates it
            p["lr"] = self.lr
        else:
            raise TypeError(f"lr must be a positive float or a fastopt schedule, got "
                            f"{type(self.lr).__name__}")
        bs = self.batch_size
        if bs is None or (isinstance(bs, str) and bs == "auto"):
            p["batch_size"] = bs
        elif isinstance(bs, numbers.Integral) and not isinstance(bs, (bool, np.bool_)):
            if bs <= 0:
                raise ValueError(f"batch_size must be a positive int, 'auto' or None, got {bs}")
            p["batch_size"] = int(bs)
        else:
            raise TypeError(f"batch_size must be a positive int, 'auto' or None, got {bs!r}")
        p["epochs"] = _int_param("epochs", self.epochs, 1)
        p["alpha"] = v.nonneg("alpha", self.alpha)
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of 'l2', 'l1', 'elasticnet' or None, got "
                             f"{self.penalty!r}")
        p["l1_ratio"] = v.unit_interval("l1_ratio", self.l1_ratio)
        p["fit_intercept"] = v.flag("fit_intercept", self.fit_intercept)
        p["early_stopping"] = v.flag("early_stopping", self.early_stopping)
        p["validation_fraction"] = v.real("validation_fraction", self.validation_fraction,
                                          low=0.0, high=1.0, low_open=True, high_open=True)
        p["n_iter_no_change"] = _int_param("n_iter_no_change", self.n_iter_no_change, 1)
        p["tol"] = None if self.tol is None else v.nonneg("tol", self.tol)
        if isinstance(self.verbose, (bool, np.bool_)):
            p["verbose"] = int(self.verbose)
        else:
            p["verbose"] = _int_param("verbose", self.verbose, 0)
        if self.penalty == "l2":
            p["l2"], p["l1"] = p["alpha"], 0.0
        elif self.penalty == "l1":
            p["l2"], p["l1"] = 0.0, p["alpha"]
        elif self.penalty == "elasticnet":
            p["l2"], p["l1"] = p["alpha"] * (1.0 - p["l1_ratio"]), p["alpha"] * p["l1_ratio"]
        else:
            p["l2"], p["l1"] = 0.0, 0.0
        if p["l1"] > 0 and p["optimizer"] in _SIGN_OPTIMIZERS:
            warnings.warn(f"penalty={self.penalty!r} with optimizer={self.optimizer!r}: this "
                          "optimizer steps by the gradient's sign, so the L1 term's soft "
                          "threshold (lr * alpha after each step) only approximates the L1 "
                          "solution. Use an optimizer whose step scales with the gradient "
                          "(any other, e.g. 'sgd' or 'adam') for exact L1 / elastic-net "
                          "solutions.", UserWarning, stacklevel=3)
        return p

    # -- the optimization ------------------------------------------------------

    def _train(self, p, loss, args, X, T, w, *, n_outputs, epochs, seed, state, early_stopping,
               tol):
        """Run ``minimize`` over (X, T) from ``w``; return the OptimizeResult."""
        n = X.shape[0]
        size = n if p["batch_size"] is None else min(200 if p["batch_size"] == "auto"
                                                     else p["batch_size"], n)
        options = {"lr": p["lr"], "epochs": epochs, "seed": seed, "shuffle": True,
                   "l2": p["l2"], "l1": p["l1"],
                   "penalty_skip": n_outputs if p["fit_intercept"] else 0}
        n_train = n
        if early_stopping:
            n_val = math.ceil(p["validation_fraction"] * n)
            if not 0 < n_val < n:
                raise ValueError(f"validation_fraction={p['validation_fraction']} leaves no "
                                 f"training or no validation samples out of {n}")
            n_train = n - n_val
            options.update(validation_fraction=p["validation_fraction"], early_stopping=True,
                           patience=p["n_iter_no_change"], min_delta=tol or 0.0,
                           restore_best=True)
        if state is not None and saved_optimizer(state) == p["optimizer"]:
            options["optimizer_state"] = state
        bar = None
        if p["verbose"] >= 2:
            options["disp"] = True
        elif p["verbose"] == 1 and epochs > 1:
            bar = _progress_bar(p["verbose"], epochs, type(self).__name__)
            if bar is None:  # no tqdm: print the epochs instead
                options["disp"] = True
        monitor = _Monitor(None if early_stopping else tol, p["n_iter_no_change"], bar)
        steps = epochs * -(-n_train // min(size, n_train))
        objective = _objective(loss, p["optimizer"], steps, w, min(size, n_train), len(args))
        try:
            res = minimize(objective, w, args=args, method=p["optimizer"], jac=True,
                           data=(X, T), batch_size=size, callback=monitor, options=options)
        finally:
            if bar is not None:
                bar.close()
        if res.status == 2:  # non-finite loss or gradient (the data itself was checked)
            raise ValueError(f"{type(self).__name__}: the loss or its gradient became "
                             f"non-finite ({res.message}) Try a smaller lr, a stronger "
                             "penalty, or standardize X (e.g. StandardScaler).")
        if res.status == 3:
            warnings.warn(f"{type(self).__name__}.fit interrupted; keeping the last finite "
                          "weights.", RuntimeWarning, stacklevel=3)
        res.converged = monitor.converged or (early_stopping and res.epochs < epochs)
        return res

    def _store_result(self, res, *, append: bool):
        """n_iter_, t_, loss_curve_, validation_scores_, best_epoch_ and the optimizer state."""
        history = res.history.tolist()
        if append and getattr(self, "loss_curve_", None) is not None:
            # extended in place (as MLPClassifier.partial_fit appends): a copy per call
            # would make a long stream of partial_fit calls quadratic in their number
            if not isinstance(self.loss_curve_, list):
                self.loss_curve_ = list(self.loss_curve_)
            self.loss_curve_.extend(history)
            self.n_iter_ = int(self.n_iter_) + int(res.epochs)
        else:
            self.loss_curve_ = history
            self.n_iter_ = int(res.epochs)
        self.t_ = int(res.nit)
        val = getattr(res, "val_history", None)
        if not append:
            self.validation_scores_ = None if val is None else [float(x) for x in val]
            self.best_epoch_ = None if val is None else int(res.best_epoch)
        self._optimizer_state = res.optimizer_state

    def _warn_not_converged(self, p, res):
        if not res.converged and p["tol"] is not None and res.status in (0, 99):
            which = "validation" if p["early_stopping"] else "training"
            warnings.warn(f"{type(self).__name__}: {p['epochs']} epochs reached and the "
                          f"optimization hasn't converged yet (the {which} loss improved by "
                          f"more than tol={p['tol']} within the last {p['n_iter_no_change']} "
                          "epochs). Raise epochs or lr, or set tol=None.",
                          ConvergenceWarning, stacklevel=3)


# --------------------------------------------------------------------------
# LinearRegression
# --------------------------------------------------------------------------

class LinearRegression(RegressorMixin, _FastoptLinearModel):
    """Linear regression (squared or Huber loss) trained by a fastopt optimizer.

    Minimizes ``mean(loss(X @ coef_ + intercept_ - y)) + penalty(coef_)``.

    Parameters
    ----------
    loss : {"squared_error", "huber"}, default="squared_error"
        ``0.5 * r**2``, or Huber: ``0.5 * r**2`` for ``|r| <= delta``, else
        ``delta * (|r| - delta / 2)`` (``fastopt.losses.squared`` / ``huber``).
    delta : float, default=1.0
        Huber threshold (ignored by the squared loss).
    optimizer : str, default="adam"
        Any name in ``fastopt.METHODS`` (case-insensitive).
    lr : float or fastopt schedule, default=0.05
        Learning rate passed to the optimizer.
    batch_size : int, "auto" or None, default="auto"
        Rows per step: ``"auto"`` is ``min(200, n_samples)``, ``None`` the
        full batch (gradient descent), 1 plain SGD.
    epochs : int, default=100
        Maximum number of passes over the training data.
    alpha : float, default=1e-4
        Penalty strength (see ``penalty``); the penalty is added to the MEAN loss.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        ``alpha/2 ||coef||^2``, ``alpha ||coef||_1``, their mix
        ``alpha (l1_ratio ||coef||_1 + (1 - l1_ratio)/2 ||coef||^2)``, or none.
        The intercept is never penalized. The L1 part is a soft-threshold
        (proximal) step after each update, scaled by the optimizer's
        per-coordinate step size: exact zeros and the exact Lasso /
        elastic-net solution with every optimizer but the sign-based Rprop
        and Lion, which only approximate it (a ``UserWarning`` says so).
    l1_ratio : float in [0, 1], default=0.15
        The L1 share of the elastic net.
    fit_intercept : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the
        validation loss has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs; the weights of the best epoch are kept.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=10
        Patience, in epochs, of both stopping rules.
    tol : float or None, default=1e-4
        Without early stopping: stop when the training loss has not improved
        by more than ``tol`` for ``n_iter_no_change`` epochs (scikit-learn's
        ``SGDRegressor`` rule); None runs all ``epochs``. With early
        stopping: the validation loss improvement that counts.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the validation split.
    verbose : int, default=0
        1: a tqdm progress bar (if tqdm is installed) for fits lasting more
        than ``PROGRESS_DELAY`` seconds; 2: one line per epoch.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str (when X has string feature names)
    n_iter_ : int
        Epochs run (summed over ``partial_fit`` calls).
    t_ : int
        Optimizer steps taken, in total.
    loss_curve_ : list of float
        Mean training loss per epoch, with the L2 part of the penalty (the
        L1 part is applied as a proximal step and is not included).
    validation_scores_ : list of float or None
        Validation LOSS per epoch with ``early_stopping`` (lower is better,
        unlike scikit-learn's MLP, which stores accuracy / R^2); else None.
    best_epoch_ : int or None
        The (0-based) epoch whose weights were kept by early stopping.
    """

    def __init__(self, loss="squared_error", *, delta=1.0, optimizer="adam", lr=0.05,
                 batch_size="auto", epochs=100, alpha=1e-4, penalty="l2", l1_ratio=0.15,
                 fit_intercept=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, random_state=None, verbose=0):
        self.loss = loss
        self.delta = delta
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _loss(self, p):
        if self.loss not in _REGRESSION_LOSSES:
            raise ValueError(f"loss must be one of {_REGRESSION_LOSSES}, got {self.loss!r}")
        if self.loss == "huber":
            return "huber", (v.positive("delta", self.delta),)
        return "squared", ()

    def _validate(self, X, y, reset):
        X, y = _validate_data(self, X, y, reset=reset, dtype=np.float64, order="C", y_numeric=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):  # (validate_data checks this already)
            raise ValueError("Input y contains NaN or infinity.")
        return _writeable(X), y

    def _initial_weights(self, p, d, y):
        w = np.zeros(d + 1 if p["fit_intercept"] else d)
        if p["fit_intercept"]:
            w[d] = np.median(y) if self.loss == "huber" else np.mean(y)
        return w

    def _unpack(self, w, d, fit_intercept):
        self.coef_ = np.array(w[:d])
        self.intercept_ = float(w[d]) if fit_intercept else 0.0

    def fit(self, X, y):
        """Fit the model to (X, y), from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        p = self._check_params()
        loss, args = self._loss(p)
        X, y = self._validate(X, y, reset=True)
        d = X.shape[1]
        w = self._initial_weights(p, d, y)
        res = self._train(p, loss, args, X, y, w, n_outputs=1, epochs=p["epochs"],
                          seed=_seed(self.random_state), state=None,
                          early_stopping=p["early_stopping"], tol=p["tol"])
        self._unpack(res.x, d, p["fit_intercept"])
        self._fit_intercept = p["fit_intercept"]
        self._store_result(res, append=False)
        self._warn_not_converged(p, res)
        return self

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Early stopping and ``tol`` do not apply; ``epochs`` is ignored.

        Returns
        -------
        self
        """
        p = self._check_params()
        loss, args = self._loss(p)
        first = not hasattr(self, "coef_")
        X, y = self._validate(X, y, reset=first)
        d = X.shape[1]
        if first or self._fit_intercept != p["fit_intercept"]:
            w, state = self._initial_weights(p, d, y), None
            if not first:
                w[:d] = self.coef_
        else:
            w = np.append(self.coef_, self.intercept_) if p["fit_intercept"] else self.coef_.copy()
            state = self._optimizer_state
        seed = (_seed(self.random_state) + getattr(self, "n_iter_", 0)) % (2 ** 31)
        res = self._train(p, loss, args, X, y, np.ascontiguousarray(w, dtype=np.float64),
                          n_outputs=1, epochs=1, seed=seed, state=state, early_stopping=False,
                          tol=None)
        self._unpack(res.x, d, p["fit_intercept"])
        self._fit_intercept = p["fit_intercept"]
        self._store_result(res, append=not first)
        if first:
            self.validation_scores_, self.best_epoch_ = None, None
        return self

    def predict(self, X):
        """Predictions ``X @ coef_ + intercept_``, shape (n_samples,)."""
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


# --------------------------------------------------------------------------
# LogisticRegression
# --------------------------------------------------------------------------

class LogisticRegression(ClassifierMixin, _FastoptLinearModel):
    """Logistic regression (binary, or multinomial softmax) trained by a fastopt optimizer.

    Two classes use the logistic loss (``fastopt.losses.logistic``) on one
    weight vector; more use the softmax cross-entropy
    (``fastopt.losses.softmax``) with one weight vector per class. The
    objective is ``mean cross-entropy + penalty(coef_)``; ``penalty="l2"``
    with ``alpha`` equals scikit-learn's ``LogisticRegression`` with
    ``C = 1 / (n_samples * alpha)`` (up to the factor ``alpha``).

    Parameters
    ----------
    optimizer, lr, batch_size, epochs, alpha, penalty, l1_ratio, fit_intercept, early_stopping, validation_fraction, n_iter_no_change, tol, random_state, verbose
        As in ``fastopt.models.LinearRegression``.
    label_smoothing : float in [0, 1), default=0.0
        Targets become ``(1 - label_smoothing) * onehot + label_smoothing / n_classes``
        (two classes: ``y (1 - eps) + eps / 2``), which keeps the predicted
        probabilities away from 0 and 1.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_features_in_, feature_names_in_, n_iter_, t_, loss_curve_, validation_scores_, best_epoch_
        As in ``LinearRegression`` (the losses are mean cross-entropies).
    """

    def __init__(self, *, optimizer="adam", lr=0.05, batch_size="auto", epochs=100, alpha=1e-4,
                 penalty="l2", l1_ratio=0.15, fit_intercept=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, label_smoothing=0.0,
                 random_state=None, verbose=0):
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.label_smoothing = label_smoothing
        self.random_state = random_state
        self.verbose = verbose

    # -- data -----------------------------------------------------------------

    def _validate(self, X, y, reset):
        X, y = _validate_data(self, X, y, reset=reset, dtype=np.float64, order="C")
        _check_class_labels(y)
        return _writeable(X), y

    def _targets(self, y, smoothing):
        """(loss name, args, targets T, n_outputs) for labels y of classes_."""
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if np.any(bad):
            raise ValueError(f"y contains labels {np.unique(np.asarray(y)[bad]).tolist()!r} that "
                             f"are not in classes_ {self.classes_.tolist()!r}")
        k = len(self.classes_)
        if k == 2:
            t = idx.astype(np.float64)
            if smoothing > 0:
                t = t * (1.0 - smoothing) + 0.5 * smoothing
            return "logistic", (), t, 1
        return "softmax", (float(smoothing),), losses.one_hot(idx, k), k

    def _set_classes(self, classes):
        classes = np.unique(np.asarray(classes))
        if classes.size < 2:
            raise ValueError("LogisticRegression needs samples of at least 2 classes in the "
                             "data, but the data contains only one class: "
                             f"{classes.tolist()!r}")
        self.classes_ = classes

    def _initial_weights(self, p, d, T, n_outputs):
        """Zero coefficients; the intercept at the log-odds of the (add-one smoothed) class
        frequencies, so that a first partial_fit batch lacking a class is not extreme."""
        k = n_outputs
        w = np.zeros((d + 1) * k if p["fit_intercept"] else d * k)
        if p["fit_intercept"]:
            n = T.shape[0]
            if k == 1:
                q = (float(T.sum()) + 1.0) / (n + 2.0)
                w[d] = math.log(q / (1.0 - q))
            else:
                s = p["label_smoothing"]
                freq = (1.0 - s) * (T.sum(axis=0) + 1.0) / (n + k) + s / k
                logf = np.log(freq)
                w[d * k:] = logf - logf.mean()
        return w

    def _check_smoothing(self):
        return v.real("label_smoothing", self.label_smoothing, low=0.0, high=1.0, high_open=True)

    def _pack(self, fit_intercept):
        """coef_ / intercept_ as the loss's flat weights: W (d, k) row-major, then the intercepts."""
        W = np.asarray(self.coef_, dtype=np.float64).T.reshape(-1)
        if fit_intercept:
            return np.concatenate([W, np.asarray(self.intercept_, dtype=np.float64)])
        return W.copy()

    def _unpack(self, w, d, k, fit_intercept):
        self.coef_ = np.array(w[:d * k].reshape(d, k).T)
        self.intercept_ = np.array(w[d * k:]) if fit_intercept else np.zeros(k)

    # -- fitting ---------------------------------------------------------------

    def fit(self, X, y):
        """Fit the model to (X, y), from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (any values np.unique can sort: ints, strings, ...).

        Returns
        -------
        self
        """
        p = self._check_params()
        p["label_smoothing"] = self._check_smoothing()
        X, y = self._validate(X, y, reset=True)
        self._set_classes(y)
        loss, args, T, k = self._targets(y, p["label_smoothing"])
        d = X.shape[1]
        w = self._initial_weights(p, d, T, k)
        res = self._train(p, loss, args, X, T, w, n_outputs=k, epochs=p["epochs"],
                          seed=_seed(self.random_state), state=None,
                          early_stopping=p["early_stopping"], tol=p["tol"])
        self._unpack(res.x, d, k, p["fit_intercept"])
        self._fit_intercept = p["fit_intercept"]
        self._store_result(res, append=False)
        self._warn_not_converged(p, res)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like, required on the first call
            All the classes ``y`` can hold across calls (as in scikit-learn).

        Returns
        -------
        self
        """
        p = self._check_params()
        p["label_smoothing"] = self._check_smoothing()
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                        self.classes_):
            raise ValueError(f"`classes={np.asarray(classes).tolist()!r}` is not the same as on "
                             f"the last call to partial_fit, was: {self.classes_.tolist()!r}")
        X, y = self._validate(X, y, reset=first)
        if first:
            self._set_classes(classes)
        loss, args, T, k = self._targets(y, p["label_smoothing"])
        d = X.shape[1]
        if first or self._fit_intercept != p["fit_intercept"]:
            w, state = self._initial_weights(p, d, T, k), None
            if not first:
                w[:d * k] = self.coef_.T.reshape(-1)
        else:
            w, state = self._pack(p["fit_intercept"]), self._optimizer_state
        seed = (_seed(self.random_state) + getattr(self, "n_iter_", 0)) % (2 ** 31)
        res = self._train(p, loss, args, X, T, np.ascontiguousarray(w, dtype=np.float64),
                          n_outputs=k, epochs=1, seed=seed, state=state, early_stopping=False,
                          tol=None)
        self._unpack(res.x, d, k, p["fit_intercept"])
        self._fit_intercept = p["fit_intercept"]
        self._store_result(res, append=not first)
        if first:
            self.validation_scores_, self.best_epoch_ = None, None
        return self

    # -- prediction ------------------------------------------------------------

    def decision_function(self, X):
        """Scores ``X @ coef_.T + intercept_``: shape (n_samples,) for two classes, else
        (n_samples, n_classes)."""
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False, dtype=np.float64)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = np.empty((z.shape[0], 2))
            # 1 / (1 + exp(-z)) without overflow warnings
            e = np.exp(-np.abs(z))
            pos = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            p[:, 1] = pos
            p[:, 0] = 1.0 - pos
            return p
        z = z - z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row, shape (n_samples,)."""
        z = self.decision_function(X)
        idx = (z > 0).astype(np.intp) if z.ndim == 1 else np.argmax(z, axis=1)
        return self.classes_[idx]
