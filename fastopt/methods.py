"""Each registry method as a custom method for ``scipy.optimize.minimize``.

    scipy.optimize.minimize(fun, x0, jac=grad, method=fastopt.adam, options={"lr": 1e-2})

scipy calls ``method(fun, x0, args=..., jac=..., hess=..., hessp=...,
bounds=..., constraints=..., callback=..., **options)``; each function here
hands that to ``fastopt.minimize`` with its method name.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

from .minimize import minimize
from .registry import METHODS, REGISTRY


def _scipy_method(name: str) -> Callable[..., OptimizeResult]:
    spec = REGISTRY[name]

    def method(fun, x0, args=(), jac=None, hess=None, hessp=None, bounds=None, constraints=(),
               callback=None, **options) -> OptimizeResult:
        if hess is not None or hessp is not None:
            warnings.warn(f"Method fastopt.{name} does not use Hessian information (hess).",
                          RuntimeWarning, stacklevel=3)
        if bounds is not None or constraints:
            raise ValueError(f"fastopt.{name} cannot handle bounds or constraints")
        return minimize(fun, x0, args=args, method=name, jac=jac, callback=callback,
                        options=options)

    method.__name__ = method.__qualname__ = name
    method.__module__ = "fastopt"
    method.__doc__ = (f"{spec.class_name} ({spec.reference}) as a custom method of "
                      "scipy.optimize.minimize; options as for fastopt.minimize(method="
                      f"{name!r}).")
    return method


sgd = _scipy_method("sgd")
adagrad = _scipy_method("adagrad")
adadelta = _scipy_method("adadelta")
rmsprop = _scipy_method("rmsprop")
adam = _scipy_method("adam")
adamw = _scipy_method("adamw")
adamax = _scipy_method("adamax")
nadam = _scipy_method("nadam")
radam = _scipy_method("radam")
rprop = _scipy_method("rprop")
asgd = _scipy_method("asgd")
lion = _scipy_method("lion")

assert set(METHODS) == {f.__name__ for f in (sgd, adagrad, adadelta, rmsprop, adam, adamw, adamax,
                                             nadam, radam, rprop, asgd, lion)}
__all__ = list(METHODS)

