"""fastopt: first-order optimization, compiled for the CPU."""

from numba.core import config as _numba_config

if _numba_config.DISABLE_JIT:
    # Without the compiler the kernels' intrinsics and overloads do not exist:
    # say so here instead of failing somewhere inside the import.
    raise ImportError(
        "fastopt needs Numba's compiler and does not run under NUMBA_DISABLE_JIT=1. To step "
        "through an objective in a debugger, pass it to fastopt.minimize as a plain Python "
        "function (without @njit): it then runs through minimize's Python loop.")

from .optimizers import (ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, NAdam,
                         Optimizer, RAdam, RMSprop, Rprop)
from .minimize import minimize
from .methods import (adadelta, adagrad, adam, adamax, adamw, asgd, lion, nadam, radam, rmsprop,
                      rprop, sgd)
from .registry import METHODS, REGISTRY
from . import losses, problems, schedules
from . import _exit  # noqa: F401  (registers the fast interpreter exit)

__version__ = "0.1.0"


def __getattr__(name: str):
    # The estimators import scikit-learn's base classes when it is installed:
    # loaded on first use so that `import fastopt` stays light.
    if name in ("LinearRegression", "LogisticRegression"):
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'fastopt' has no attribute {name!r}")

__all__ = ["LinearRegression", "LogisticRegression", "adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "lion", "nadam", "radam",
           "rmsprop", "rprop", "sgd", "ASGD", "SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "Lion", "NAdam",
           "Optimizer", "minimize", "schedules", "losses", "problems", "RAdam", "RMSprop", "Rprop", "METHODS", "REGISTRY"]
