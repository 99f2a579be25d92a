"""fastopt: first-order optimization, compiled for the CPU."""

from .optimizers import (ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, NAdam,
                         Optimizer, RAdam, RMSprop, Rprop)
from .minimize import minimize
from .methods import (adadelta, adagrad, adam, adamax, adamw, asgd, lion, nadam, radam, rmsprop,
                      rprop, sgd)
from .registry import METHODS, REGISTRY
from . import losses, problems, schedules

__version__ = "0.1.0"

__all__ = ["adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "lion", "nadam", "radam",
           "rmsprop", "rprop", "sgd", "ASGD", "SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "Lion", "NAdam",
           "Optimizer", "minimize", "schedules", "losses", "problems", "RAdam", "RMSprop", "Rprop", "METHODS", "REGISTRY"]
