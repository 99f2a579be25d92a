"""Learning-rate schedules: closed forms of ``torch.optim.lr_scheduler``.

A schedule is a value object passed as ``lr`` to a fastopt optimizer or to
``fastopt.minimize``. ``sched(count)`` is the learning rate of step
``count + 1`` (``count`` steps already taken): the value torch's scheduler puts
in ``optimizer.param_groups[0]["lr"]`` after ``count`` calls of
``scheduler.step()``. Each schedule takes its base learning rate as its first
argument, where torch takes the optimizer::

    torch: StepLR(optimizer, step_size=30, gamma=0.1)
    here:  StepLR(0.1, step_size=30, gamma=0.1)

Compiled loops use ``kind, params = sched.encode()`` and the Numba function
``eval_schedule(kind, params, count)``. ``__call__`` runs the same function as
plain Python (``eval_schedule.py_func``), so both give bit-identical floats
and every formula exists once.

Where torch updates the learning rate recursively (``lr *= factor`` each step)
the values here are closed forms that agree with torch's recursion to float64
rounding (~1e-14 relative over thousands of steps). Where torch's recursion
departs from its own closed form (CosineAnnealingLR after ``T_max``, LinearLR
reaching ``end_factor=0``), the values follow the recursion, since that is
what torch users see. Values are never negative: where torch's rounding
leaves a tiny negative rate (~-1e-18 at the end of LinearLR with
``end_factor=0``), the value here is 0.

``params`` layout, per kind (integers are stored as float64)::

    0  ConstantSchedule            [lr]
    1  StepLR                      [lr, step_size, gamma]
    2  MultiStepLR                 [lr, gamma, n, m_1 .. m_n]
    3  ExponentialLR               [lr, gamma]
    4  CosineAnnealingLR           [lr, T_max, eta_min]
    5  CosineAnnealingWarmRestarts [lr, T_0, T_mult, eta_min]
    6  LinearLR                    [lr, start_factor, end_factor, total_iters]
    7  PolynomialLR                [lr, total_iters, power]
    8  OneCycleLR                  [max_lr, total_steps, pct_start, anneal (0 cos, 1 linear),
                                    div_factor, final_div_factor, three_phase (0/1)]
    9  ConstantLR                  [lr, factor, total_iters]
    10 SequentialLR                [n, m_1 .. m_{n-1},
                                    kind_0, offset_0, length_0, ..., kind_{n-1}, offset_{n-1}, length_{n-1},
                                    params of child 0, ..., params of child n-1]

A SequentialLR child's ``offset`` counts from the start of its parent's block,
so a nested SequentialLR is just another child block.

``ReduceLROnPlateau`` depends on metric values seen at run time, so it has no
encoding: it works with optimizers stepped from Python, not inside compiled
loops.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numba
import numpy as np
from numba.extending import register_jitable

from . import _validation as v
from ._config import STRICT

__all__ = [
    "Schedule", "ConstantSchedule", "StepLR", "MultiStepLR", "ExponentialLR",
    "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR", "PolynomialLR",
    "OneCycleLR", "ConstantLR", "SequentialLR", "ReduceLROnPlateau", "as_schedule",
    "eval_schedule",
]

# Schedule kinds (the first element of ``encode()``).
CONSTANT = 0
STEP = 1
MULTISTEP = 2
EXPONENTIAL = 3
COSINE = 4
WARM_RESTARTS = 5
LINEAR = 6
POLYNOMIAL = 7
ONECYCLE = 8
CONSTANT_FACTOR = 9
SEQUENTIAL = 10


# -- the formulas ----------------------------------------------------------------
# Each takes the schedule's own params block ``p`` and the step count. They are
# plain Python functions that Numba also compiles into ``eval_schedule``
# (register_jitable); keep them to float64/int arithmetic and ``math`` calls.
# Integer-valued exponents are passed as floats: Numba computes ``x ** int``
# by repeated multiplication, which is not bit-identical to ``pow``.

@register_jitable
def _step_lr(p, count):
    step_size = int(p[1])
    return p[0] * p[2] ** float(count // step_size)


@register_jitable
def _multistep_lr(p, count):
    passed = 0  # milestones reached so far (they are sorted)
    for j in range(int(p[2])):
        if p[3 + j] <= count:
            passed += 1
    return p[0] * p[1] ** float(passed)


@register_jitable
def _exponential_lr(p, count):
    return p[0] * p[1] ** float(count)


@register_jitable
def _cosine_lr(p, count):
    lr, t_max, eta_min = p[0], p[1], p[2]
    if count == 0:
        return lr
    if count <= t_max:
        return eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * count / t_max)) / 2.0
    # Past T_max torch keeps recursing: the lr reaches eta_min at odd multiples
    # of T_max, torch restarts it there with an additive step (at
    # anchor = T_max + 1 + 2 m T_max), then multiplies by ratios of
    # (1 + cos) terms, which telescope to the ratio below.
    t = int(t_max)
    anchor = t + 1 + 2 * t * ((count - t - 1) // (2 * t))
    c_anchor = 1.0 + math.cos(math.pi * anchor / t_max)
    c_count = 1.0 + math.cos(math.pi * count / t_max)
    if c_anchor == 0.0:  # T_max ~1e8 and beyond: torch divides by zero here
        return eta_min + (lr - eta_min) * c_count / 2.0
    amplitude = (lr - eta_min) * (1.0 - math.cos(math.pi / t_max)) / 2.0
    return eta_min + amplitude * (c_count / c_anchor)


@register_jitable
def _warm_restarts_lr(p, count):
    lr, t_0, t_mult, eta_min = p[0], int(p[1]), int(p[2]), p[3]
    # Position in the current cycle, as torch's step-by-step counters.
    if t_mult == 1:
        t_cur = count % t_0
        t_i = t_0
    else:
        t_cur = count
        t_i = t_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= t_mult
    return eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * t_cur / t_i)) / 2.0


@register_jitable
def _linear_lr(p, count):
    lr, start, end, total = p[0], p[1], p[2], int(p[3])
    if count < total:
        return lr * (start + (end - start) * count / total)
    # Torch reaches end_factor through one last multiplicative step; taking it
    # the same way gives torch's value (with end_factor=0: ~1e-18, not 0).
    before = lr * (start + (end - start) * (total - 1) / total)
    return before * (1.0 + (end - start) / (total * start + (total - 1) * (end - start)))


@register_jitable
def _polynomial_lr(p, count):
    total = int(p[1])
    return p[0] * (1.0 - min(total, count) / total) ** p[2]


@register_jitable
def _onecycle_lr(p, count):
    max_lr, total, pct_start = p[0], int(p[1]), p[2]
    linear, three_phase = p[3] != 0.0, p[6] != 0.0
    initial_lr = max_lr / p[4]
    min_lr = initial_lr / p[5]
    # Torch raises past total_steps; here the schedule holds its last value.
    step = min(count, total - 1)
    end_1 = pct_start * total - 1.0
    if three_phase:
        end_2 = 2.0 * pct_start * total - 2.0
        if step <= end_1:
            begin, end, lr_from, lr_to = 0.0, end_1, initial_lr, max_lr
        elif step <= end_2:
            begin, end, lr_from, lr_to = end_1, end_2, max_lr, initial_lr
        else:
            begin, end, lr_from, lr_to = end_2, total - 1.0, initial_lr, min_lr
    elif step <= end_1:
        begin, end, lr_from, lr_to = 0.0, end_1, initial_lr, max_lr
    else:
        begin, end, lr_from, lr_to = end_1, total - 1.0, max_lr, min_lr
    # A phase of zero length (torch divides by zero) is already at its end.
    pct = (step - begin) / (end - begin) if end != begin else 1.0
    if linear:
        return (lr_to - lr_from) * pct + lr_from
    return lr_to + (lr_from - lr_to) / 2.0 * (math.cos(math.pi * pct) + 1.0)


@register_jitable
def _constant_factor_lr(p, count):
    return p[0] * p[1] if count < int(p[2]) else p[0]


@numba.njit(**STRICT)
def eval_schedule(kind, params, count):
    """Learning rate of step ``count + 1`` of the schedule ``(kind, params)``.

    Parameters
    ----------
    kind : int
        The schedule kind, from ``Schedule.encode``.
    params : ndarray of float64, 1-D
        The schedule parameters, from ``Schedule.encode``.
    count : int
        Optimizer steps already taken (>= 0; not checked here).

    Returns
    -------
    float
    """
    # Walk down SequentialLR blocks to the schedule that owns this step.
    start = 0
    stop = params.shape[0]
    while kind == SEQUENTIAL:
        n = int(params[start])
        i = 0  # bisect_right(milestones, count)
        while i < n - 1 and params[start + 1 + i] <= count:
            i += 1
        if i > 0:
            count -= int(params[start + i])  # the child restarts at its milestone
        entry = start + n + 3 * i
        kind = int(params[entry])
        stop = start + int(params[entry + 1]) + int(params[entry + 2])
        start = start + int(params[entry + 1])
    p = params[start:stop]
    if kind == CONSTANT:
        lr = p[0]
    elif kind == STEP:
        lr = _step_lr(p, count)
    elif kind == MULTISTEP:
        lr = _multistep_lr(p, count)
    elif kind == EXPONENTIAL:
        lr = _exponential_lr(p, count)
    elif kind == COSINE:
        lr = _cosine_lr(p, count)
    elif kind == WARM_RESTARTS:
        lr = _warm_restarts_lr(p, count)
    elif kind == LINEAR:
        lr = _linear_lr(p, count)
    elif kind == POLYNOMIAL:
        lr = _polynomial_lr(p, count)
    elif kind == ONECYCLE:
        lr = _onecycle_lr(p, count)
    elif kind == CONSTANT_FACTOR:
        lr = _constant_factor_lr(p, count)
    else:
        raise ValueError("eval_schedule: unknown schedule kind")
    # Rounding can leave -1e-18-sized values where a schedule reaches 0
    # (LinearLR with end_factor=0 does in torch); a learning rate is >= 0.
    return 0.0 if lr < 0.0 else lr


# The same function, uncompiled: what ``Schedule.__call__`` runs.
_eval_python = eval_schedule.py_func


# -- argument checks ---------------------------------------------------------------

def _integer(name: str, value, low: int) -> int:
    """An int >= low (bools rejected)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
    return int(value)


def _milestones(name: str, value, low: int) -> list[int]:
    """Strictly increasing ints >= low."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        try:
            value = list(value)
        except TypeError:
            raise TypeError(f"{name} must be a sequence of ints, got {type(value).__name__}") from None
    out = [_integer(f"{name}[{j}]", m, low) for j, m in enumerate(value)]
    for a, b in zip(out, out[1:]):
        if b <= a:
            raise ValueError(f"{name} must be strictly increasing, got {out}")
    return out


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _count(count) -> int:
    if isinstance(count, (bool, np.bool_)) or not isinstance(count, numbers.Integral):
        raise TypeError(f"count must be an int, got {type(count).__name__}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return int(count)


# -- schedules ---------------------------------------------------------------------

class Schedule:
    """Base class of the learning-rate schedules.

    A schedule is immutable: its arguments are read once, checked and encoded
    at construction; build a new schedule to change them.

    Attributes
    ----------
    kind : int
        The schedule kind passed to ``eval_schedule``.
    """

    kind: int = -1
    _fields: tuple[str, ...] = ()  # constructor arguments, for __repr__
    _params: np.ndarray

    def __call__(self, count: int) -> float:
        """Learning rate of step ``count + 1``, after ``count`` steps.

        Parameters
        ----------
        count : int
            Optimizer steps already taken, >= 0.

        Returns
        -------
        float
        """
        return float(_eval_python(self.kind, self._params, _count(count)))

    def encode(self) -> tuple[int, np.ndarray]:
        """``(kind, params)`` for ``eval_schedule`` in compiled loops.

        Returns
        -------
        kind : int
        params : ndarray of float64, 1-D
            A fresh copy.
        """
        return self.kind, self._params.copy()

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"


def _encoded(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


class ConstantSchedule(Schedule):
    """A constant learning rate (what a float ``lr`` means).

    Parameters
    ----------
    lr : float
        The learning rate, >= 0.
    """

    kind = CONSTANT
    _fields = ("lr",)

    def __init__(self, lr: float) -> None:
        self.lr = v.nonneg("lr", lr)
        self._params = _encoded(self.lr)


class StepLR(Schedule):
    """Decay by ``gamma`` every ``step_size`` steps: ``lr * gamma ** (count // step_size)``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    step_size : int
        Period of the decay, >= 1.
    gamma : float, default 0.1
        Decay factor, > 0.
    """

    kind = STEP
    _fields = ("lr", "step_size", "gamma")

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr = v.nonneg("lr", lr)
        self.step_size = _integer("step_size", step_size, 1)
        self.gamma = v.positive("gamma", gamma)
        self._params = _encoded(self.lr, self.step_size, self.gamma)


class MultiStepLR(Schedule):
    """Decay by ``gamma`` at each milestone: ``lr * gamma ** (milestones <= count)``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    milestones : sequence of int
        Step counts at which to decay, strictly increasing, >= 0.
    gamma : float, default 0.1
        Decay factor, > 0.
    """

    kind = MULTISTEP
    _fields = ("lr", "milestones", "gamma")

    def __init__(self, lr: float, milestones: Sequence[int], gamma: float = 0.1) -> None:
        self.lr = v.nonneg("lr", lr)
        self.milestones = _milestones("milestones", milestones, 0)
        self.gamma = v.positive("gamma", gamma)
        self._params = _encoded(self.lr, self.gamma, len(self.milestones), *self.milestones)


class ExponentialLR(Schedule):
    """Decay by ``gamma`` every step: ``lr * gamma ** count``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    gamma : float
        Decay factor, > 0.
    """

    kind = EXPONENTIAL
    _fields = ("lr", "gamma")

    def __init__(self, lr: float, gamma: float) -> None:
        self.lr = v.nonneg("lr", lr)
        self.gamma = v.positive("gamma", gamma)
        self._params = _encoded(self.lr, self.gamma)


class CosineAnnealingLR(Schedule):
    """Cosine annealing from ``lr`` to ``eta_min`` over ``T_max`` steps (no restarts).

    ``eta_min + (lr - eta_min) * (1 + cos(pi * count / T_max)) / 2`` up to
    ``T_max``. Past ``T_max`` torch's recursion swings the rate back up to
    ``lr`` and down again with period ``2 * T_max``; this follows it.

    Parameters
    ----------
    lr : float
        Base (maximum) learning rate, >= 0.
    T_max : int
        Steps of a half period, >= 1.
    eta_min : float, default 0.0
        Minimum learning rate, >= 0.
    """

    kind = COSINE
    _fields = ("lr", "T_max", "eta_min")

    def __init__(self, lr: float, T_max: int, eta_min: float = 0.0) -> None:
        self.lr = v.nonneg("lr", lr)
        self.T_max = _integer("T_max", T_max, 1)
        self.eta_min = v.nonneg("eta_min", eta_min)
        self._params = _encoded(self.lr, self.T_max, self.eta_min)


class CosineAnnealingWarmRestarts(Schedule):
    """Cosine annealing with warm restarts (SGDR).

    The first cycle lasts ``T_0`` steps, each next one ``T_mult`` times
    longer; within a cycle the rate is
    ``eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``.

    Parameters
    ----------
    lr : float
        Base (maximum) learning rate, >= 0.
    T_0 : int
        Length of the first cycle, >= 1.
    T_mult : int, default 1
        Growth factor of the cycle length, >= 1.
    eta_min : float, default 0.0
        Minimum learning rate, >= 0.
    """

    kind = WARM_RESTARTS
    _fields = ("lr", "T_0", "T_mult", "eta_min")

    def __init__(self, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:
        self.lr = v.nonneg("lr", lr)
        self.T_0 = _integer("T_0", T_0, 1)
        self.T_mult = _integer("T_mult", T_mult, 1)
        self.eta_min = v.nonneg("eta_min", eta_min)
        self._params = _encoded(self.lr, self.T_0, self.T_mult, self.eta_min)


class LinearLR(Schedule):
    """Scale ``lr`` by a factor going linearly from ``start_factor`` to ``end_factor``.

    ``lr * (start_factor + (end_factor - start_factor) * min(count, total_iters) / total_iters)``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    start_factor : float, default 1/3
        Factor at count 0, in (0, 1].
    end_factor : float, default 1.0
        Factor from count ``total_iters`` on, in [0, 1].
    total_iters : int, default 5
        Steps of the ramp, >= 1.
    """

    kind = LINEAR
    _fields = ("lr", "start_factor", "end_factor", "total_iters")

    def __init__(self, lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.lr = v.nonneg("lr", lr)
        self.start_factor = v.real("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = v.unit_interval("end_factor", end_factor)
        self.total_iters = _integer("total_iters", total_iters, 1)
        self._params = _encoded(self.lr, self.start_factor, self.end_factor, self.total_iters)


class PolynomialLR(Schedule):
    """Polynomial decay to zero: ``lr * (1 - min(count, total_iters) / total_iters) ** power``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    total_iters : int, default 5
        Steps until the rate reaches 0, >= 1.
    power : float, default 1.0
        Power of the polynomial, >= 0.
    """

    kind = POLYNOMIAL
    _fields = ("lr", "total_iters", "power")

    def __init__(self, lr: float, total_iters: int = 5, power: float = 1.0) -> None:
        self.lr = v.nonneg("lr", lr)
        self.total_iters = _integer("total_iters", total_iters, 1)
        self.power = v.nonneg("power", power)
        self._params = _encoded(self.lr, self.total_iters, self.power)


class OneCycleLR(Schedule):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    Starts at ``max_lr / div_factor``, reaches ``max_lr`` after
    ``pct_start * total_steps`` steps and ends at
    ``max_lr / div_factor / final_div_factor``. With ``three_phase`` the
    rate first returns to the start value symmetrically, then anneals.
    Torch's momentum cycling (``cycle_momentum`` and friends) is not part of a
    learning-rate schedule and is not offered.

    Parameters
    ----------
    max_lr : float
        Peak learning rate, >= 0.
    total_steps : int, optional
        Steps in the cycle, >= 1. If None, ``epochs * steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
        Used only when ``total_steps`` is None (both then required, >= 1).
    pct_start : float, default 0.3
        Fraction of the cycle spent warming up, in [0, 1].
    anneal_strategy : {"cos", "linear"}, default "cos"
    div_factor : float, default 25.0
        ``initial lr = max_lr / div_factor``, > 0.
    final_div_factor : float, default 1e4
        ``final lr = initial lr / final_div_factor``, > 0.
    three_phase : bool, default False

    Notes
    -----
    Torch raises when stepped past ``total_steps``; here ``sched(count)`` for
    ``count >= total_steps`` holds the final value ``sched(total_steps - 1)``.
    """

    kind = ONECYCLE
    _fields = ("max_lr", "total_steps", "pct_start", "anneal_strategy", "div_factor",
               "final_div_factor", "three_phase")

    def __init__(self, max_lr: float, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        self.max_lr = v.nonneg("max_lr", max_lr)
        # Checked even when total_steps wins, so a misplaced argument is caught.
        if epochs is not None:
            epochs = _integer("epochs", epochs, 1)
        if steps_per_epoch is not None:
            steps_per_epoch = _integer("steps_per_epoch", steps_per_epoch, 1)
        if total_steps is not None:
            self.total_steps = _integer("total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("total_steps must be given, or else both epochs and steps_per_epoch")
        self.pct_start = v.unit_interval("pct_start", pct_start)
        self.anneal_strategy = _choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = v.positive("div_factor", div_factor)
        self.final_div_factor = v.positive("final_div_factor", final_div_factor)
        self.three_phase = v.flag("three_phase", three_phase)
        self._params = _encoded(self.max_lr, self.total_steps, self.pct_start,
                                self.anneal_strategy == "linear", self.div_factor,
                                self.final_div_factor, self.three_phase)


class ConstantLR(Schedule):
    """``lr * factor`` for the first ``total_iters`` steps, then ``lr``.

    Parameters
    ----------
    lr : float
        Base learning rate, >= 0.
    factor : float, default 1/3
        Factor during the first ``total_iters`` steps, in [0, 1].
    total_iters : int, default 5
        Steps at the reduced rate, >= 1.
    """

    kind = CONSTANT_FACTOR
    _fields = ("lr", "factor", "total_iters")

    def __init__(self, lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> None:
        self.lr = v.nonneg("lr", lr)
        self.factor = v.unit_interval("factor", factor)
        self.total_iters = _integer("total_iters", total_iters, 1)
        self._params = _encoded(self.lr, self.factor, self.total_iters)


class SequentialLR(Schedule):
    """Schedules one after another, e.g. a warmup then a decay.

    Schedule ``i`` runs from ``milestones[i - 1]`` (0 for the first) and is
    evaluated at ``count - milestones[i - 1]``, as torch restarts each
    scheduler at its milestone.

    Parameters
    ----------
    schedulers : sequence of Schedule or float
        At least one; floats mean constant rates. ReduceLROnPlateau is not
        allowed (as in torch).
    milestones : sequence of int
        ``len(schedulers) - 1`` step counts, strictly increasing, >= 0.
    """

    kind = SEQUENTIAL
    _fields = ("schedulers", "milestones")

    def __init__(self, schedulers: Sequence[Schedule | float], milestones: Sequence[int]) -> None:
        if isinstance(schedulers, (str, bytes, Schedule)) or not isinstance(schedulers, Sequence):
            raise TypeError(f"schedulers must be a list of schedules, got {type(schedulers).__name__}")
        if len(schedulers) == 0:
            raise ValueError("schedulers must hold at least one schedule")
        children = []
        for j, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"schedulers[{j}] is a ReduceLROnPlateau, which SequentialLR does "
                                 "not support (it needs a metric at each step)")
            children.append(as_schedule(s, f"schedulers[{j}]"))
        self.schedulers = children
        self.milestones = _milestones("milestones", milestones, 0)
        if len(self.milestones) != len(children) - 1:
            raise ValueError(f"milestones must hold len(schedulers) - 1 = {len(children) - 1} "
                             f"entries, got {len(self.milestones)}")
        n = len(children)
        blocks = [s.encode() for s in children]
        table = []
        offset = n + 3 * n  # n, n - 1 milestones, one (kind, offset, length) triple per child
        for kind, params in blocks:
            table.extend((kind, offset, params.size))
            offset += params.size
        self._params = np.concatenate([_encoded(n, *self.milestones, *table)]
                                      + [params for _, params in blocks])


class ReduceLROnPlateau(Schedule):
    """Reduce the learning rate when a metric stops improving (torch semantics).

    Call ``step(metric)`` once per evaluation (e.g. per epoch);
    ``sched(count)`` returns the current learning rate, whatever ``count``.

    This schedule depends on metric values seen at run time, so it cannot be
    evaluated inside compiled loops: ``encode`` raises TypeError. Use it with
    optimizers stepped from Python.

    Parameters
    ----------
    lr : float
        Initial learning rate, >= 0.
    mode : {"min", "max"}, default "min"
        Whether the metric should decrease or increase.
    factor : float, default 0.1
        ``new lr = lr * factor``, in [0, 1).
    patience : int, default 10
        Steps without improvement tolerated before reducing, >= 0.
    threshold : float, default 1e-4
        Minimum change counted as an improvement, >= 0.
    threshold_mode : {"rel", "abs"}, default "rel"
        Whether ``threshold`` is relative to the best value or absolute.
    cooldown : int, default 0
        Steps after a reduction during which bad steps are not counted, >= 0.
    min_lr : float, default 0
        Lower bound on the learning rate, >= 0.
    eps : float, default 1e-8
        Reductions smaller than this are skipped, >= 0.
    """

    _fields = ("lr", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
               "min_lr", "eps")

    def __init__(self, lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0, eps: float = 1e-8) -> None:
        self.lr = v.nonneg("lr", lr)
        self.mode = _choice("mode", mode, ("min", "max"))
        self.factor = v.real("factor", factor, low=0.0, high=1.0, high_open=True)
        self.patience = _integer("patience", patience, 0)
        self.threshold = v.nonneg("threshold", threshold)
        self.threshold_mode = _choice("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = _integer("cooldown", cooldown, 0)
        self.min_lr = v.nonneg("min_lr", min_lr)
        self.eps = v.nonneg("eps", eps)
        self.current_lr = self.lr
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0  # step() calls so far

    def _is_better(self, a: float) -> bool:
        best = self.best
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metric: float) -> None:
        """Record one metric value and reduce the learning rate if it is time.

        Parameters
        ----------
        metric : float
            The monitored quantity (a NaN counts as no improvement).
        """
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps in cooldown do not count
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.current_lr * self.factor, self.min_lr)
            if self.current_lr - new_lr > self.eps:
                self.current_lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def __call__(self, count: int) -> float:
        """The current learning rate (``count`` is checked, then ignored)."""
        _count(count)
        return self.current_lr

    def state_vector(self) -> np.ndarray:
        """The mutable state (current lr, best, bad epochs, cooldown, steps) as float64."""
        return np.array([self.current_lr, self.best, self.num_bad_epochs, self.cooldown_counter,
                         self.last_epoch], dtype=np.float64)

    def load_state_vector(self, state) -> None:
        """Restore what ``state_vector`` returned."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (5,):
            raise ValueError(f"state must have shape (5,), got {state.shape}")
        self.current_lr, self.best = float(state[0]), float(state[1])
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = (int(x) for x in state[2:])

    def encode(self) -> tuple[int, np.ndarray]:
        """Not available: raises TypeError (the rate depends on run-time metrics)."""
        raise TypeError("ReduceLROnPlateau cannot be encoded for compiled loops: its learning "
                        "rate depends on the metrics given to step(); use it with an optimizer "
                        "stepped from Python")


def as_schedule(lr, name: str = "lr") -> Schedule:
    """A Schedule for ``lr``: a float becomes a ConstantSchedule, a Schedule is returned as is.

    Parameters
    ----------
    lr : float or Schedule
    name : str, default "lr"
        Argument name used in error messages.

    Returns
    -------
    Schedule
    """
    if isinstance(lr, Schedule):
        return lr
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real):
        raise TypeError(f"{name} must be a float or a fastopt.schedules.Schedule, "
                        f"got {type(lr).__name__}")
    return ConstantSchedule(v.nonneg(name, lr))
