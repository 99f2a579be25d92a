"""fastopt: first-order optimization, compiled for the CPU."""

from .optimizers import (ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, NAdam,
                         Optimizer, RAdam, RMSprop, Rprop)
from .registry import METHODS, REGISTRY

__version__ = "0.1.0"

__all__ = ["ASGD", "SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "Lion", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "Rprop", "METHODS", "REGISTRY"]
