"""fastopt: first-order optimization, compiled for the CPU."""

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
