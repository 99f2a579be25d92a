"""The optimizer classes: torch.optim's names, arguments, defaults and math.

Each class only names its arguments; ``Optimizer`` (in ``_optimizer.py``)
validates them and calls the kernel that ``fastopt.registry`` pairs with it.
``params`` is an ndarray, a sequence of ndarrays or a sequence of param-group
dicts; arrays must be float32/float64, C-contiguous and writeable, and are
updated in place by ``step(grads)``. ``lr`` may be a float or a schedule from
``fastopt.schedules``.
"""

from __future__ import annotations

from ._optimizer import Optimizer, ParamGroup
from .registry import REGISTRY

__all__ = ["Optimizer", "ParamGroup", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW",
           "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "Lion"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``b = momentum * b + (1 - dampening) * g`` (``b = g`` on the first step);
    the step is ``-lr * b``, or ``-lr * (g + momentum * b)`` with Nesterov.
    See ``torch.optim.SGD``.
    """

    spec = REGISTRY["sgd"]

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False) -> None:
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)


class Adagrad(Optimizer):
    """Adagrad: steps scaled by the root of the summed squared gradients.

    See ``torch.optim.Adagrad``.
    """

    spec = REGISTRY["adagrad"]

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False) -> None:
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps,
                         maximize=maximize)


class Adadelta(Optimizer):
    """Adadelta: unit-correct steps from running averages of g^2 and step^2.

    See ``torch.optim.Adadelta``.
    """

    spec = REGISTRY["adadelta"]

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                         maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    See ``torch.optim.RMSprop``.
    """

    spec = REGISTRY["rmsprop"]

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False) -> None:
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered, maximize=maximize)


class Adam(Optimizer):
    """Adam, with AMSGrad and coupled (L2) or decoupled weight decay.

    See ``torch.optim.Adam``.
    """

    spec = REGISTRY["adam"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay)


class AdamW(Optimizer):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` each step.

    See ``torch.optim.AdamW``.
    """

    spec = REGISTRY["adamw"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the second moment.

    See ``torch.optim.Adamax``.
    """

    spec = REGISTRY["adamax"]

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         maximize=maximize)


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum and a momentum-decay schedule.

    See ``torch.optim.NAdam``.
    """

    spec = REGISTRY["nadam"]

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)


class RAdam(Optimizer):
    """RAdam: Adam whose adaptive step is rectified while its variance is large.

    See ``torch.optim.RAdam``.
    """

    spec = REGISTRY["radam"]

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)


class Rprop(Optimizer):
    """Rprop: per-coordinate step sizes grown or shrunk by the gradient's sign.

    See ``torch.optim.Rprop``.
    """

    spec = REGISTRY["rprop"]

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)


class ASGD(Optimizer):
    """Averaged SGD; the running average of the iterates is ``state[i]["ax"]``.

    See ``torch.optim.ASGD``.
    """

    spec = REGISTRY["asgd"]

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                         weight_decay=weight_decay, maximize=maximize)


class Lion(Optimizer):
    """Lion: the sign of an interpolated momentum, with decoupled weight decay.

    ``p -= lr * (sign(b1 * m + (1 - b1) * g) + weight_decay * p)``, then
    ``m = b2 * m + (1 - b2) * g``. Semantics of ``optax.lion``.
    """

    spec = REGISTRY["lion"]

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *,
                 maximize=False) -> None:
        super().__init__(params, lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize)


CLASSES: dict[str, type[Optimizer]] = {
    cls.spec.name: cls
    for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, Adamax, NAdam, RAdam, Rprop, ASGD, Lion)
}
