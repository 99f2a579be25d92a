#!/usr/bin/env python
"""Write one reStructuredText page per optimizer of ``fastopt.registry.REGISTRY``.

    python docs/gen_optimizer_pages.py [OUTDIR]     # default: docs/optimizers

``conf.py`` runs this at every build, so the pages always match the
registry: adding an optimizer to the registry adds its page. Facts come from
the registry and the classes (class name, signature, defaults, validation
rules, state slots, torch class, reference); what a registry cannot hold,
the update rule in LaTeX and the torch / optax correspondence, is written by
hand in ONE place, the ``PAGES`` dict below. An optimizer missing from
``PAGES`` still gets a page (facts only) and a warning, which the ``-W``
build turns into an error, so that its math gets written.

The math follows the kernels in ``fastopt/_kernels/`` exactly (which follow
torch.optim 2.13, or optax for Lion). Notation, shared by every page:

* :math:`\\theta_t` the parameters after step :math:`t` (:math:`t = 1` is the
  first step), :math:`g_t` the gradient at :math:`\\theta_{t-1}`;
* :math:`\\gamma` the learning rate of step :math:`t` (a float or a schedule);
* :math:`\\lambda` ``weight_decay``;
* every operation is elementwise; state starts at 0 unless said otherwise;
* with ``maximize=True`` every method first sets :math:`g_t \\leftarrow -g_t`.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fastopt  # noqa: E402
from fastopt.registry import REGISTRY, OptimizerSpec  # noqa: E402

# -- the hand-written part: one entry per registry name ---------------------------------
#
# Keys of each entry:
#   symbols    hyperparameter -> LaTeX symbol (for the defaults table)
#   rule       the update of one step, LaTeX (inside ``.. math::``)
#   notes      reStructuredText: torch-specific details of the rule
#   torch      reStructuredText: the torch.optim correspondence
#   optax      reStructuredText: the optax correspondence
#   references reStructuredText bullet items (without the leading "* ")

_WD_COUPLED = r"g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \qquad \text{if } \lambda \neq 0"

_ADAM_DECAY = r"""
\theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1} \qquad \text{decoupled weight decay}\\
g_t &\leftarrow g_t + \lambda\,\theta_{t-1} \qquad \text{coupled (L2) weight decay, otherwise}\\"""

_MOMENTS = r"""
m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t\\
v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2\\"""

PAGES: dict[str, dict[str, object]] = {
    "sgd": {
        "symbols": {"lr": r"\gamma", "momentum": r"\mu", "dampening": r"\tau",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
""" + _WD_COUPLED + r"""\\
b_t &= \begin{cases} g_t & \text{first step with } \mu \neq 0\\
                      \mu\, b_{t-1} + (1 - \tau)\, g_t & \text{later steps}\end{cases} \qquad \text{if } \mu \neq 0\\
g_t &\leftarrow \begin{cases} g_t + \mu\, b_t & \text{nesterov}\\ b_t & \text{otherwise}\end{cases} \qquad \text{if } \mu \neq 0\\
\theta_t &= \theta_{t-1} - \gamma\, g_t
\end{aligned}""",
        "notes": """\
* As in torch, the momentum buffer :math:`b` starts as a copy of the first
  gradient (not as zeros), so dampening does not shrink the first step.
* ``nesterov=True`` needs ``momentum > 0`` and ``dampening == 0`` (a
  ``ValueError`` otherwise, as in torch).
* With ``momentum=0`` no state is allocated; turning momentum on later (by
  editing ``param_groups``) allocates the buffer at the next step.
* Weight decay is coupled: it is added to the gradient, so it goes through
  the momentum buffer.""",
        "torch": """\
``fastopt.SGD(x, lr, momentum, dampening, weight_decay, nesterov, maximize=...)`` is
``torch.optim.SGD`` with the same arguments and defaults (``lr=1e-3``).""",
        "optax": """\
``optax.sgd(lr, momentum=mu, nesterov=...)`` is the case ``dampening=0`` (its
trace starts at zero, so :math:`b_1 = g_1` as here);
``weight_decay`` is ``optax.chain(optax.add_decayed_weights(wd), optax.sgd(...))``.""",
        "references": [
            "H. Robbins and S. Monro, *A stochastic approximation method*, "
            "Ann. Math. Statist. 22, 1951.",
            "B. T. Polyak, *Some methods of speeding up the convergence of iteration "
            "methods*, USSR Comput. Math. Math. Phys. 4, 1964 (heavy-ball momentum).",
            "I. Sutskever, J. Martens, G. Dahl and G. Hinton, *On the importance of "
            "initialization and momentum in deep learning*, ICML 2013 (the Nesterov form used "
            "by torch).",
        ],
    },
    "adagrad": {
        "symbols": {"lr": r"\gamma", "lr_decay": r"\eta", "weight_decay": r"\lambda",
                    "initial_accumulator_value": r"s_0", "eps": r"\epsilon"},
        "rule": r"""
\begin{aligned}
\tilde\gamma_t &= \frac{\gamma}{1 + (t - 1)\,\eta}\\
""" + _WD_COUPLED + r"""\\
s_t &= s_{t-1} + g_t^2\\
\theta_t &= \theta_{t-1} - \tilde\gamma_t\, \frac{g_t}{\sqrt{s_t} + \epsilon}
\end{aligned}""",
        "notes": """\
* The sum :math:`s` starts at ``initial_accumulator_value``.
* :math:`\\epsilon` is added *outside* the square root, as in torch.""",
        "torch": "``torch.optim.Adagrad`` with the same arguments and defaults.",
        "optax": """\
``optax.adagrad(lr, initial_accumulator_value, eps)`` is close but not the same:
optax puts :math:`\\epsilon` inside the square root, defaults to
``initial_accumulator_value=0.1, eps=1e-7``, and has no ``lr_decay`` (use a
schedule).""",
        "references": [
            "J. Duchi, E. Hazan and Y. Singer, *Adaptive subgradient methods for online "
            "learning and stochastic optimization*, JMLR 12, 2011.",
        ],
    },
    "adadelta": {
        "symbols": {"lr": r"\gamma", "rho": r"\rho", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
""" + _WD_COUPLED + r"""\\
v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2\\
\Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\; g_t\\
u_t &= \rho\, u_{t-1} + (1 - \rho)\, \Delta_t^2\\
\theta_t &= \theta_{t-1} - \gamma\, \Delta_t
\end{aligned}""",
        "notes": """\
* :math:`v` is ``square_avg``, :math:`u` is ``acc_delta``; both start at 0.
* ``lr`` scales the step as in torch (Zeiler's paper has no learning rate:
  ``lr=1.0``, the default, is the paper's method).""",
        "torch": "``torch.optim.Adadelta`` with the same arguments and defaults.",
        "optax": """\
``optax.adadelta(lr, rho, eps, weight_decay)`` computes the same recursion,
with coupled weight decay (``add_decayed_weights`` before the scaling).""",
        "references": [
            "M. D. Zeiler, *ADADELTA: an adaptive learning rate method*, "
            "arXiv:1212.5701, 2012.",
        ],
    },
    "rmsprop": {
        "symbols": {"lr": r"\gamma", "alpha": r"\alpha", "eps": r"\epsilon",
                    "weight_decay": r"\lambda", "momentum": r"\mu"},
        "rule": r"""
\begin{aligned}
""" + _WD_COUPLED + r"""\\
v_t &= \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2\\
\bar g_t &= \alpha\, \bar g_{t-1} + (1 - \alpha)\, g_t \qquad \text{if centered}\\
d_t &= \begin{cases}\sqrt{v_t - \bar g_t^2} + \epsilon & \text{centered}\\
                    \sqrt{v_t} + \epsilon & \text{otherwise}\end{cases}\\
b_t &= \mu\, b_{t-1} + g_t / d_t \qquad \text{if } \mu > 0\\
\theta_t &= \theta_{t-1} - \gamma \begin{cases} b_t & \mu > 0\\ g_t / d_t & \text{otherwise}\end{cases}
\end{aligned}""",
        "notes": """\
* :math:`v` is ``square_avg``, :math:`\\bar g` ``grad_avg`` (only when
  ``centered``), :math:`b` ``momentum_buffer`` (only when ``momentum > 0``,
  starting at 0); only the rows in use are allocated.
* :math:`\\epsilon` is added outside the square root, as in torch.
* The centered average uses torch's ``lerp`` formula (the same value, rounded
  the same way).""",
        "torch": "``torch.optim.RMSprop`` with the same arguments and defaults (``alpha=0.99``).",
        "optax": """\
``optax.rmsprop(lr, decay=alpha, eps=eps, eps_in_sqrt=False, centered=...,
momentum=...)``: note ``eps_in_sqrt=False`` (optax's default puts
:math:`\\epsilon` inside the root) and optax's default ``decay=0.9``.""",
        "references": [
            "T. Tieleman and G. Hinton, *Lecture 6.5 — RMSprop*, COURSERA: Neural Networks "
            "for Machine Learning, 2012.",
            "A. Graves, *Generating sequences with recurrent neural networks*, "
            "arXiv:1308.0850, 2013 (the centered variant).",
        ],
    },
    "adam": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}""" + _ADAM_DECAY + _MOMENTS + r"""
\hat v_t &= \begin{cases}\max(\hat v_{t-1}, v_t) & \text{amsgrad}\\ v_t & \text{otherwise}\end{cases}\\
\theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\;
    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
\end{aligned}""",
        "notes": """\
* Bias correction is applied as torch applies it: the step size is
  :math:`\\gamma / (1 - \\beta_1^t)` and :math:`\\epsilon` is added *after*
  the second moment is corrected, :math:`\\sqrt{v_t}/\\sqrt{1-\\beta_2^t} + \\epsilon`.
  (The same as the paper's :math:`\\hat m_t / (\\sqrt{\\hat v_t} + \\epsilon)`.)
* :math:`\\beta_1^t` and :math:`\\beta_2^t` are carried from step to step in
  the per-tensor state (``beta1_power``, ``beta2_power`` and their
  rounding errors), each step one exact multiplication instead of torch's
  two ``pow`` calls: the powers are correctly rounded, where the C
  library's ``pow`` that torch calls is one ulp off at rare steps
  (a relative change of ~1e-16 in that step's size). Editing ``betas``
  mid-run uses the new :math:`\\beta^t` from then on, as in torch. Adamax,
  NAdam and RAdam carry their powers the same way.
* AMSGrad keeps the running maximum of the *uncorrected* :math:`v_t`
  (``max_exp_avg_sq``, allocated only with ``amsgrad=True``), as torch does.
* ``decoupled_weight_decay=True`` multiplies the parameters by
  :math:`1 - \\gamma\\lambda` before the step (AdamW); otherwise
  :math:`\\lambda\\theta` is added to the gradient and goes through the moments.
* The first moment uses torch's ``lerp`` formula.""",
        "torch": """\
``fastopt.Adam(x, ...)`` is ``torch.optim.Adam`` with the same arguments and
defaults; ``fastopt.Adam(x, ..., decoupled_weight_decay=True)`` is
``torch.optim.Adam(..., decoupled_weight_decay=True)``, which is
``torch.optim.AdamW`` (and :class:`fastopt.AdamW`) with the same
``weight_decay``.""",
        "optax": """\
``optax.adam(lr, b1, b2, eps)``; coupled weight decay is
``optax.chain(optax.add_decayed_weights(wd), optax.adam(...))``; decoupled is
``optax.adamw(lr, b1, b2, eps, weight_decay=wd)``. ``optax.amsgrad`` takes the
maximum of the *bias-corrected* second moment, so AMSGrad trajectories differ
slightly from torch's (and fastopt's).""",
        "references": [
            "D. P. Kingma and J. Ba, *Adam: a method for stochastic optimization*, "
            "ICLR 2015, arXiv:1412.6980.",
            "S. J. Reddi, S. Kale and S. Kumar, *On the convergence of Adam and beyond*, "
            "ICLR 2018 (AMSGrad).",
            "I. Loshchilov and F. Hutter, *Decoupled weight decay regularization*, ICLR 2019.",
        ],
    },
    "adamw": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
\theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1}\\""" + _MOMENTS + r"""
\hat v_t &= \begin{cases}\max(\hat v_{t-1}, v_t) & \text{amsgrad}\\ v_t & \text{otherwise}\end{cases}\\
\theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\;
    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
\end{aligned}""",
        "notes": """\
* The same kernel as :class:`fastopt.Adam`, with ``decoupled_weight_decay``
  fixed to ``True`` (it cannot be changed in ``param_groups``) and
  ``weight_decay=1e-2`` by default, as in torch.
* The decay uses the learning rate of the step, so a schedule scales it too
  (:math:`\\gamma\\lambda`, not :math:`\\lambda`).""",
        "torch": """\
``torch.optim.AdamW`` with the same arguments and defaults; equivalently
``fastopt.Adam(x, ..., decoupled_weight_decay=True)`` and
``torch.optim.Adam(..., decoupled_weight_decay=True)``.""",
        "optax": """\
``optax.adamw(lr, b1, b2, eps, weight_decay=wd)`` (optax's default
``weight_decay`` is ``1e-4``; pass it explicitly).""",
        "references": [
            "I. Loshchilov and F. Hutter, *Decoupled weight decay regularization*, ICLR 2019, "
            "arXiv:1711.05101.",
        ],
    },
    "adamax": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
""" + _WD_COUPLED + r"""\\
m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t\\
u_t &= \max\left(\beta_2\, u_{t-1},\ |g_t| + \epsilon\right)\\
\theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\; \frac{m_t}{u_t}
\end{aligned}""",
        "notes": """\
* :math:`u` is ``exp_inf``; :math:`\\epsilon` enters the maximum (torch's
  rule), not the denominator.""",
        "torch": "``torch.optim.Adamax`` with the same arguments and defaults (``lr=2e-3``).",
        "optax": """\
``optax.adamax(lr, b1, b2, eps)``: the same recursion (optax also puts
:math:`\\epsilon` in the maximum); weight decay via
``optax.add_decayed_weights`` chained before it.""",
        "references": [
            "D. P. Kingma and J. Ba, *Adam: a method for stochastic optimization*, "
            "ICLR 2015, section 7.1 (AdaMax).",
        ],
    },
    "nadam": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "eps": r"\epsilon",
                    "weight_decay": r"\lambda", "momentum_decay": r"\psi"},
        "rule": r"""
\begin{aligned}""" + _ADAM_DECAY + r"""
\mu_t &= \beta_1 \left(1 - \tfrac12\, 0.96^{t\psi}\right), \qquad
\mu_{t+1} = \beta_1 \left(1 - \tfrac12\, 0.96^{(t+1)\psi}\right)\\
\Pi_t &= \Pi_{t-1}\, \mu_t, \qquad \Pi_0 = 1\\""" + _MOMENTS + r"""
d_t &= \sqrt{v_t / (1 - \beta_2^t)} + \epsilon\\
\theta_t &= \theta_{t-1}
    - \gamma\, \frac{1 - \mu_t}{1 - \Pi_t}\, \frac{g_t}{d_t}
    - \gamma\, \frac{\mu_{t+1}}{1 - \Pi_t\, \mu_{t+1}}\, \frac{m_t}{d_t}
\end{aligned}""",
        "notes": """\
* :math:`\\Pi_t` is torch's ``mu_product``, a per-parameter scalar in the
  optimizer state (``state[i]["mu_product"]``), rounded to the parameter's
  dtype after each step as torch keeps it in a tensor.
* The momentum schedule :math:`\\mu_t` (``momentum_decay`` :math:`\\psi`,
  default 0.004) is Dozat's; with :math:`\\psi = 0` it is a constant
  :math:`\\beta_1/2`.
* ``decoupled_weight_decay=True`` gives NAdamW (torch's flag of the same name).""",
        "torch": "``torch.optim.NAdam`` with the same arguments and defaults (``lr=2e-3``).",
        "optax": """\
``optax.nadam`` / ``optax.nadamw`` are Adam with a Nesterov look-ahead
(``optax.adam(..., nesterov=True)``) *without* torch's :math:`\\mu_t`
schedule: similar, not the same trajectory.""",
        "references": [
            "T. Dozat, *Incorporating Nesterov momentum into Adam*, ICLR 2016 workshop.",
        ],
    },
    "radam": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "eps": r"\epsilon",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}""" + _ADAM_DECAY + _MOMENTS + r"""
\rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
\rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}\\
r_t &= \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}}\\
\theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\, m_t \cdot
    \begin{cases} r_t\, \dfrac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5\\[1ex]
                  1 & \rho_t \le 5 \end{cases}
\end{aligned}""",
        "notes": """\
* While :math:`\\rho_t \\le 5` the variance of the adaptive step is
  intractable and the step is plain bias-corrected momentum; with the
  default :math:`\\beta_2 = 0.999` that is steps 1 to 5, and the rectified
  adaptive step starts at step 6.
* The switch is the strict :math:`\\rho_t > 5` of torch.
* :math:`\\epsilon` is added to the *uncorrected* :math:`\\sqrt{v_t}`, as in
  torch.""",
        "torch": "``torch.optim.RAdam`` with the same arguments and defaults, "
                 "including ``decoupled_weight_decay``.",
        "optax": """\
``optax.radam(lr, b1, b2, eps, threshold=5.0)`` is close: optax switches at
:math:`\\rho_t \\ge 5` and adds :math:`\\epsilon` to the bias-corrected root,
so its trajectories differ slightly.""",
        "references": [
            "L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han, *On the variance of "
            "the adaptive learning rate and beyond*, ICLR 2020, arXiv:1908.03265.",
        ],
    },
    "rprop": {
        "symbols": {"lr": r"\eta_0", "etas": r"(\eta_-, \eta_+)",
                    "step_sizes": r"(\Gamma_{\min}, \Gamma_{\max})"},
        "rule": r"""
\begin{aligned}
\eta_t &= \operatorname{clip}\left(\eta_{t-1} \cdot
    \begin{cases}\eta_+ & g_t\, g_{t-1} > 0\\ \eta_- & g_t\, g_{t-1} < 0\\ 1 & g_t\, g_{t-1} = 0\end{cases},
    \ \Gamma_{\min},\ \Gamma_{\max}\right)\\
g_t &\leftarrow 0 \qquad \text{if } g_t\, g_{t-1} < 0\\
\theta_t &= \theta_{t-1} - \eta_t\, \operatorname{sign}(g_t)
\end{aligned}""",
        "notes": """\
* Per-element step sizes :math:`\\eta` (``step_size``) start at ``lr``;
  :math:`g_{t-1}` (``prev``) starts at 0 and stores the gradient *after*
  the rule above, so after a sign change the next step counts as "no
  information" (:math:`g_t g_{t-1} = 0`). This is torch's Rprop (iRprop⁻).
* The clip to ``step_sizes`` applies in all three cases, as in torch.
* ``lr`` only sets the initial step sizes: a schedule or a later change of
  ``lr`` has no effect on a running Rprop. There is no ``weight_decay``
  (torch's Rprop has none).
* Rprop is a full-batch method: with mini-batches the sign of the gradient is
  noise.""",
        "torch": "``torch.optim.Rprop`` with the same arguments and defaults.",
        "optax": """\
``optax.rprop(lr, eta_minus, eta_plus, min_step_size, max_step_size)``
implements the same sign rules.""",
        "references": [
            "M. Riedmiller and H. Braun, *A direct adaptive method for faster backpropagation "
            "learning: the RPROP algorithm*, IEEE ICNN 1993.",
            "C. Igel and M. Hüsken, *Improving the Rprop learning algorithm*, NC 2000 "
            "(the iRprop⁻ variant torch implements).",
        ],
    },
    "asgd": {
        "symbols": {"lr": r"\gamma", "lambd": r"\kappa", "alpha": r"\alpha", "t0": r"t_0",
                    "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
""" + _WD_COUPLED + r"""\\
\theta_t &= (1 - \kappa\, \eta_t)\, \theta_{t-1} - \eta_t\, g_t\\
\bar\theta_t &= \begin{cases}\theta_t & \mu_t = 1\\
    \bar\theta_{t-1} + \mu_t\, (\theta_t - \bar\theta_{t-1}) & \text{otherwise}\end{cases}\\
\eta_{t+1} &= \frac{\gamma}{(1 + \kappa\gamma t)^{\alpha}}, \qquad
\mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}
\end{aligned}""",
        "notes": """\
* :math:`\\eta_1 = \\gamma` and :math:`\\mu_1 = 1`; :math:`\\eta` and
  :math:`\\mu` are per-parameter scalars in the state (``eta``, ``mu``),
  rounded to the parameter's dtype as torch stores them.
* The parameters follow plain (decaying-step) SGD; the Polyak–Juditsky
  average :math:`\\bar\\theta` is ``optimizer.state[i]["ax"]``. It only
  starts to average after :math:`t_0` steps (``t0=1e6`` by default, so copy
  ``t0`` down for short runs), and it is the average, not ``x``, that
  converges at the optimal rate.""",
        "torch": "``torch.optim.ASGD`` with the same arguments and defaults; "
                 "``state[i]['ax']`` is torch's ``state['ax']``.",
        "optax": "No optax counterpart (``optax.contrib`` has none either; ``optax.ema`` "
                 "averages with a constant decay, not Polyak–Juditsky's).",
        "references": [
            "B. T. Polyak and A. B. Juditsky, *Acceleration of stochastic approximation by "
            "averaging*, SIAM J. Control Optim. 30, 1992.",
            "L. Bottou, *Stochastic gradient descent tricks*, Neural Networks: Tricks of the "
            "Trade, 2012 (the step-size schedule).",
        ],
    },
    "lion": {
        "symbols": {"lr": r"\gamma", "betas": r"(\beta_1, \beta_2)", "weight_decay": r"\lambda"},
        "rule": r"""
\begin{aligned}
c_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t\\
\theta_t &= \theta_{t-1} - \gamma \left(\operatorname{sign}(c_t) + \lambda\, \theta_{t-1}\right)\\
m_t &= \beta_2 m_{t-1} + (1 - \beta_2)\, g_t
\end{aligned}""",
        "notes": """\
* Every coordinate moves by exactly :math:`\\gamma` (plus the decay), so
  Lion wants a learning rate 3-10x smaller than AdamW's and a weight decay
  3-10x larger, as its authors advise. :math:`\\operatorname{sign}(0) = 0`.
* The weight decay is decoupled and scaled by the learning rate.
* The interpolation :math:`c_t` uses :math:`\\beta_1`, the momentum update
  :math:`\\beta_2` (``betas=(0.9, 0.99)``); both may be in [0, 1].""",
        "torch": "torch.optim has no Lion (torch 2.13); the semantics are optax's.",
        "optax": """\
``optax.lion(lr, b1, b2, weight_decay=wd)``, the reference for this kernel.
optax's default ``weight_decay`` is ``1e-3``; fastopt's is 0 as for every
other fastopt optimizer: pass it explicitly to match.""",
        "references": [
            "X. Chen, C. Liang, D. Huang, E. Real, K. Wang, Y. Liu, H. Pham, X. Dong, T. Luong, "
            "C.-J. Hsieh, Y. Lu and Q. V. Le, *Symbolic discovery of optimization algorithms*, "
            "NeurIPS 2023, arXiv:2302.06675.",
        ],
    },
}

# Validation rules, by the name of the registry's check function.
RULES = {
    "learning_rate": "float >= 0, or a :mod:`fastopt.schedules` schedule",
    "nonneg": ">= 0",
    "positive": "> 0",
    "unit_interval": "in [0, 1]",
    "flag": "bool",
    "betas": "pair, each in [0, 1)",
    "unit_pair": "pair, each in [0, 1]",
    "etas": "pair, 0 < etaminus < 1 < etaplus",
    "step_sizes": "pair, 0 <= min <= max",
}


def _rule(check) -> str:
    name = getattr(check, "__name__", "")
    if name in RULES:
        return RULES[name]
    doc = inspect.getdoc(check) or name or "checked"
    return doc.splitlines()[0]


def _title(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def _indent(text: str, n: int = 3) -> str:
    pad = " " * n
    return "\n".join(pad + line if line.strip() else "" for line in text.strip("\n").splitlines())


def _fmt_default(value) -> str:
    return f"``{value!r}``"


def _class_of(spec: OptimizerSpec):
    cls = getattr(fastopt, spec.class_name, None)
    if cls is None:
        raise RuntimeError(f"registry entry {spec.name!r} names class {spec.class_name!r}, "
                           "which fastopt does not export")
    return cls


def page(spec: OptimizerSpec) -> str:
    """The reStructuredText page of one optimizer."""
    cls = _class_of(spec)
    hand = PAGES.get(spec.name)
    if hand is None:
        warnings.warn(f"docs/gen_optimizer_pages.py: no hand-written entry in PAGES for "
                      f"optimizer {spec.name!r}; write its update rule there", stacklevel=2)
        hand = {}
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ")
    sig = inspect.signature(cls.__init__)
    kwonly = {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}
    symbols = hand.get("symbols", {})

    out = [f".. _optimizer-{spec.name}:\n", _title(spec.class_name, "="),
           f":class:`fastopt.{spec.class_name}` — {summary}\n",
           f"Registry name ``{spec.name!r}``: "
           f"``fastopt.{spec.class_name}(params, ...)``, "
           f"``fastopt.minimize(fun, x0, method={spec.name!r})`` and "
           f"``scipy.optimize.minimize(fun, x0, method=fastopt.{spec.name})``.\n"]

    out.append(_title("Update rule", "-"))
    if "rule" in hand:
        out.append("For each element, at step :math:`t` (notation: :ref:`optimizer-notation`):\n")
        out.append(".. math::\n\n" + _indent(hand["rule"]) + "\n")
    else:
        out.append("*Not written yet.*\n")
    if hand.get("notes"):
        out.append(hand["notes"].strip() + "\n")

    out.append(_title("Hyperparameters", "-"))
    out.append(".. list-table::\n   :header-rows: 1\n   :widths: 22 14 16 48\n")
    out.append("   * - argument\n     - symbol\n     - default\n     - allowed values")
    for h in spec.hypers:
        arg = f"``{h.name}``" + (" (keyword-only)" if h.name in kwonly else "")
        sym = f":math:`{symbols[h.name]}`" if h.name in symbols else ""
        out.append(f"   * - {arg}\n     - {sym}\n     - {_fmt_default(h.default)}"
                   f"\n     - {_rule(h.check)}")
    out.append("")
    if spec.fixed:
        fixed = ", ".join(f"``{k}={v!r}``" for k, v in spec.fixed.items())
        out.append(f"Fixed by the class (not settable): {fixed}.\n")

    out.append(_title("State", "-"))
    state = []
    if spec.slots:
        rows = ", ".join(f"``{s}``" for s in spec.slots)
        state.append(f"Per element (arrays shaped like the parameter, in its dtype): {rows}; "
                     "rows that a configuration does not use are not allocated.")
    else:
        state.append("No per-element state.")
    if spec.scalars:
        scal = ", ".join(f"``{n}``" for n, _ in spec.scalars)
        state.append(f"Per parameter scalars: {scal}.")
    state.append("``optimizer.state[i]`` shows them, with ``step``; ``state_dict()`` saves "
                 "them and ``load_state_dict`` resumes bit-identically.")
    out.append(" ".join(state) + "\n")

    out.append(_title("torch and optax", "-"))
    torch_line = (f"torch: ``torch.optim.{spec.torch}``." if spec.torch
                  else "torch: no torch.optim counterpart.")
    out.append("* " + (("torch: " + hand["torch"]) if hand.get("torch") else torch_line)
               .strip().replace("\n", "\n  "))
    if hand.get("optax"):
        out.append("* optax: " + hand["optax"].strip().replace("\n", "\n  "))
    out.append("")

    out.append(_title("References", "-"))
    refs = hand.get("references") or [spec.reference]
    out.append("\n".join(f"* {r}" for r in refs) + "\n")
    out.append(f"Registry reference: {spec.reference}.\n")

    out.append(_title("Class", "-"))
    out.append(f".. autoclass:: fastopt.{spec.class_name}\n   :show-inheritance:\n")
    out.append(f"Methods (``step``, ``state_dict``, ``load_state_dict``, ``add_param_group``, "
               f"``param_groups``, ``state``) are those of :class:`fastopt.Optimizer`.\n")
    return "\n".join(out)


INDEX_HEAD = """\
.. _optimizers:

Optimizers
==========

Every optimizer is one Numba kernel described once in
:data:`fastopt.registry.REGISTRY`; this section is generated from that
registry by ``docs/gen_optimizer_pages.py``. The classes follow torch.optim
2.13 (names, arguments, defaults, math); Lion follows optax.

.. _optimizer-notation:

Notation
--------

In the update rules, for each element of a parameter array:

* :math:`\\theta_t` is the parameter after step :math:`t` (the first step is
  :math:`t = 1`) and :math:`g_t` the gradient passed to ``step``;
* :math:`\\gamma` is the learning rate of the step (``lr``: a float or a
  schedule from :mod:`fastopt.schedules`), :math:`\\lambda` is
  ``weight_decay``;
* state starts at 0 unless the page says otherwise, and all operations are
  elementwise;
* with ``maximize=True`` every method first sets :math:`g_t \\leftarrow -g_t`;
* a line :math:`a \\leftarrow b` replaces :math:`a` before the next lines use it.

The update is done in the parameter's own dtype (float32 stays float32),
compiled with fast-math reassociation: float64 trajectories agree with torch's
to rounding error (the tests compare them to 1e-10, relative, over 50 steps),
not bit for bit.

Summary
-------

"""


def index(specs) -> str:
    out = [INDEX_HEAD, ".. list-table::\n   :header-rows: 1\n   :widths: 14 12 16 20 38\n",
           "   * - class\n     - name\n     - torch.optim\n     - default lr\n     - reference"]
    for spec in specs:
        torch = f"``{spec.torch}``" if spec.torch else "(optax.lion)"
        out.append(f"   * - :ref:`{spec.class_name} <optimizer-{spec.name}>`\n     - ``{spec.name!r}``"
                   f"\n     - {torch}\n     - ``{spec.defaults['lr']!r}``\n     - {spec.reference}")
    out.append("\n.. toctree::\n   :maxdepth: 1\n   :hidden:\n")
    out.extend(f"   {spec.name}" for spec in specs)
    return "\n".join(out) + "\n"


def generate(outdir: Path | str | None = None) -> list[Path]:
    """Write ``index.rst`` and one page per registry entry; return the paths.

    Files whose content has not changed are left alone (Sphinx then does not
    rebuild them), and pages of optimizers no longer registered are removed.
    """
    outdir = Path(outdir) if outdir is not None else HERE / "optimizers"
    outdir.mkdir(parents=True, exist_ok=True)
    specs = list(REGISTRY.values())
    unknown = set(PAGES) - set(REGISTRY)
    if unknown:
        warnings.warn(f"docs/gen_optimizer_pages.py: PAGES has entries for unregistered "
                      f"optimizers {sorted(unknown)}", stacklevel=2)
    files = {"index.rst": index(specs)}
    files.update({f"{spec.name}.rst": page(spec) for spec in specs})
    written = []
    for name, text in files.items():
        path = outdir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in outdir.glob("*.rst"):
        if stale.name not in files:
            stale.unlink()
    return written


if __name__ == "__main__":
    for p in generate(sys.argv[1] if len(sys.argv) > 1 else None):
        print(p)
