"""The registry: every optimizer described once.

The optimizer classes, ``minimize(method=...)``, the tests, the benchmarks and
the docs all read this table. Adding an optimizer means: its kernel (with its
serial twin and its L1 step, ``<name>_prox``), one ``OptimizerSpec`` here,
its class in ``optimizers.py``, its NumPy reference in the tests and a line
in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import _validation as v
from ._config import parallel_min
from ._kernels import adam, adaptive, sgd, sign
from ._kernels._powers import state as _power
from ._kernels.adam import adam_kernel, adamax_kernel, nadam_kernel, radam_kernel
from ._kernels.adaptive import adadelta_kernel, adagrad_kernel, rmsprop_kernel
from ._kernels.sgd import asgd_kernel, sgd_kernel
from ._kernels.sign import lion_kernel, rprop_kernel


@dataclass(frozen=True)
class Hyper:
    """One constructor argument: its default and the check it must pass."""

    name: str
    default: Any
    check: Callable[[str, Any], Any]


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything fastopt knows about one optimizer.

    Attributes
    ----------
    name : registry key, lower case (``"adam"``); also the ``minimize`` method.
    class_name : the public class (``"Adam"``).
    kernel : the njit update kernel, ``kernel(p, g, s, c, h, t)``.
    hypers : constructor arguments after ``params``, in torch's order.
    layout : group keys packed, in order, into the kernel's ``h`` vector
        (pairs such as ``betas`` take two places, bools become 0/1).
    slots : names of the per-element state rows, in row order.
    nslots : how many leading rows a group with these hyperparameters uses.
    slot_init : slot name -> hyperparameter giving its initial value (else 0).
    scalars : names and initial values (a hyperparameter name or a float) of
        the per-tensor scalar state.
    fixed : group entries the class sets and the user cannot (AdamW).
    check_group : cross-argument rules, run after the per-argument checks.
    torch : the torch.optim class with the same math, or None.
    reference : the paper.
    """

    name: str
    class_name: str
    kernel: Callable
    hypers: tuple[Hyper, ...]
    layout: tuple[str, ...]
    slots: tuple[str, ...] = ()
    nslots: Callable[[dict], int] | None = None
    slot_init: dict = field(default_factory=dict)
    scalars: tuple[tuple[str, Any], ...] = ()
    fixed: dict = field(default_factory=dict)
    check_group: Callable[[dict], None] | None = None
    torch: str | None = None
    reference: str = ""

    @property
    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hypers}

    @property
    def serial_kernel(self) -> Callable:
        """The kernel's twin without prange (``<name>_serial`` next to ``<name>_kernel``).

        Same element update, same bits; compiled loops that are disk-cached
        call it, because a cached function that calls a parallel one crashes
        when loaded back (numba issue #8578).
        """
        name = self.kernel.__name__
        module = _KERNEL_MODULES[self.kernel.__module__]
        return getattr(module, name[: -len("_kernel")] + "_serial")

    def loop_kernel(self, x) -> Callable:
        """The kernel a loop over the parameters ``x`` calls: the serial twin
        below ``parallel_min(x.dtype)`` elements (the same bits), the prange
        kernel from there. (The optimizer classes time both instead.)"""
        return self.serial_kernel if x.size < parallel_min(x.dtype) else self.kernel

    @property
    def prox(self) -> Callable:
        """The L1 proximal step after a step, ``prox(p, s, c, h, t, l1, skip)``.

        It soft-thresholds by ``l1`` times the optimizer's per-coordinate step
        size (see ``fastopt._kernels``), so that L1 with an adaptive optimizer
        converges to the L1-regularized minimizer, as proximal SGD does.
        """
        name = self.kernel.__name__
        module = _KERNEL_MODULES[self.kernel.__module__]
        return getattr(module, name[: -len("_kernel")] + "_prox")

    def slot_count(self, group: dict) -> int:
        return len(self.slots) if self.nslots is None else self.nslots(group)


_KERNEL_MODULES = {m.__name__: m for m in (adam, adaptive, sgd, sign)}


def _lr(default):
    return Hyper("lr", default, v.learning_rate)


def _wd(default=0.0):
    return Hyper("weight_decay", default, v.nonneg)


_EPS = Hyper("eps", 1e-8, v.positive)
_BETAS = Hyper("betas", (0.9, 0.999), v.betas)
_MAXIMIZE = Hyper("maximize", False, v.flag)
_DECOUPLED = Hyper("decoupled_weight_decay", False, v.flag)
# beta1 ** t and beta2 ** t of the bias corrections, carried in the state (_kernels._powers)
_BOTH_POWERS = _power("beta1_power") + _power("beta2_power")


def _check_sgd(group: dict) -> None:
    if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
        raise ValueError("nesterov=True requires momentum > 0 and dampening == 0")


SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec(
        "sgd", "SGD", sgd_kernel,
        (_lr(1e-3), Hyper("momentum", 0.0, v.nonneg), Hyper("dampening", 0.0, v.unit_interval),
         _wd(), Hyper("nesterov", False, v.flag), _MAXIMIZE),
        ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
        slots=("momentum_buffer",), nslots=lambda g: int(g["momentum"] != 0),
        scalars=(("momentum_buffer_started", 0.0),), check_group=_check_sgd,
        torch="SGD", reference="Robbins & Monro 1951; Polyak 1964; Sutskever et al. 2013"),
    OptimizerSpec(
        "adagrad", "Adagrad", adagrad_kernel,
        (_lr(1e-2), Hyper("lr_decay", 0.0, v.nonneg), _wd(),
         Hyper("initial_accumulator_value", 0.0, v.nonneg), Hyper("eps", 1e-10, v.positive), _MAXIMIZE),
        ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"),
        slots=("sum",), slot_init={"sum": "initial_accumulator_value"},
        torch="Adagrad", reference="Duchi, Hazan & Singer 2011"),
    OptimizerSpec(
        "adadelta", "Adadelta", adadelta_kernel,
        (_lr(1.0), Hyper("rho", 0.9, v.unit_interval), Hyper("eps", 1e-6, v.positive), _wd(), _MAXIMIZE),
        ("lr", "rho", "eps", "weight_decay", "maximize"),
        slots=("square_avg", "acc_delta"),
        torch="Adadelta", reference="Zeiler 2012"),
    OptimizerSpec(
        "rmsprop", "RMSprop", rmsprop_kernel,
        (_lr(1e-2), Hyper("alpha", 0.99, v.unit_interval), _EPS, _wd(),
         Hyper("momentum", 0.0, v.nonneg), Hyper("centered", False, v.flag), _MAXIMIZE),
        ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
        slots=("square_avg", "grad_avg", "momentum_buffer"),
        nslots=lambda g: 3 if g["momentum"] > 0 else (2 if g["centered"] else 1),
        torch="RMSprop", reference="Tieleman & Hinton 2012; Graves 2013 (centered)"),
    OptimizerSpec(
        "adam", "Adam", adam_kernel,
        (_lr(1e-3), _BETAS, _EPS, _wd(), Hyper("amsgrad", False, v.flag), _MAXIMIZE, _DECOUPLED),
        ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"),
        slots=("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
        nslots=lambda g: 3 if g["amsgrad"] else 2, scalars=_BOTH_POWERS,
        torch="Adam", reference="Kingma & Ba 2015; Reddi, Kale & Kumar 2018 (AMSGrad)"),
    OptimizerSpec(
        "adamw", "AdamW", adam_kernel,
        (_lr(1e-3), _BETAS, _EPS, _wd(1e-2), Hyper("amsgrad", False, v.flag), _MAXIMIZE),
        ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"),
        slots=("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
        nslots=lambda g: 3 if g["amsgrad"] else 2, scalars=_BOTH_POWERS,
        fixed={"decoupled_weight_decay": True},
        torch="AdamW", reference="Loshchilov & Hutter 2019"),
    OptimizerSpec(
        "adamax", "Adamax", adamax_kernel,
        (_lr(2e-3), _BETAS, _EPS, _wd(), _MAXIMIZE),
        ("lr", "betas", "eps", "weight_decay", "maximize"),
        slots=("exp_avg", "exp_inf"), scalars=_power("beta1_power"),
        torch="Adamax", reference="Kingma & Ba 2015, section 7"),
    OptimizerSpec(
        "nadam", "NAdam", nadam_kernel,
        (_lr(2e-3), _BETAS, _EPS, _wd(), Hyper("momentum_decay", 4e-3, v.nonneg), _DECOUPLED, _MAXIMIZE),
        ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize"),
        slots=("exp_avg", "exp_avg_sq"), scalars=(("mu_product", 1.0),) + _power("beta2_power"),
        torch="NAdam", reference="Dozat 2016"),
    OptimizerSpec(
        "radam", "RAdam", radam_kernel,
        (_lr(1e-3), _BETAS, _EPS, _wd(), _DECOUPLED, _MAXIMIZE),
        ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize"),
        slots=("exp_avg", "exp_avg_sq"), scalars=_BOTH_POWERS,
        torch="RAdam", reference="Liu et al. 2020"),
    OptimizerSpec(
        "rprop", "Rprop", rprop_kernel,
        (_lr(1e-2), Hyper("etas", (0.5, 1.2), v.etas), Hyper("step_sizes", (1e-6, 50.0), v.step_sizes),
         _MAXIMIZE),
        ("lr", "etas", "step_sizes", "maximize"),
        slots=("prev", "step_size"), slot_init={"step_size": "lr"},
        torch="Rprop", reference="Riedmiller & Braun 1993"),
    OptimizerSpec(
        "asgd", "ASGD", asgd_kernel,
        (_lr(1e-2), Hyper("lambd", 1e-4, v.nonneg), Hyper("alpha", 0.75, v.nonneg),
         Hyper("t0", 1e6, v.nonneg), _wd(), _MAXIMIZE),
        ("lr", "lambd", "alpha", "t0", "weight_decay", "maximize"),
        slots=("ax",), scalars=(("eta", "lr"), ("mu", 1.0)),
        torch="ASGD", reference="Polyak & Juditsky 1992"),
    OptimizerSpec(
        "lion", "Lion", lion_kernel,
        (_lr(1e-4), Hyper("betas", (0.9, 0.99), v.unit_pair),
         _wd(), _MAXIMIZE),
        ("lr", "betas", "weight_decay", "maximize"),
        slots=("mu",),
        torch=None, reference="Chen et al. 2023 (optax.lion semantics)"),
)

#: Every optimizer's spec, keyed by its method name.
REGISTRY: dict[str, OptimizerSpec] = {spec.name: spec for spec in SPECS}

#: The method names accepted by ``fastopt.minimize`` (the registry's keys).
METHODS: tuple[str, ...] = tuple(REGISTRY)


def get_spec(method: str) -> OptimizerSpec:
    """The spec registered under ``method`` (case-insensitive)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, got {type(method).__name__}")
    try:
        return REGISTRY[method.lower()]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}") from None
