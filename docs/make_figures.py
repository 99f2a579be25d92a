#!/usr/bin/env python
"""Draw the documentation's figures with ``fastopt.plot``.

    python docs/make_figures.py [OUTDIR]        # default: docs/_generated/figures

``conf.py`` calls :func:`make_if_stale` at every build: the figures are
redrawn when one is missing or older than this script or the fastopt
sources, so they never show an older fastopt than the one documented. All
runs step the optimizer classes (or run ``minimize``'s Python loop) around
jitted objectives whose kernels come from Numba's disk cache, so nothing
here waits for a compilation: drawing everything takes a few seconds.

Figures:

race_rosenbrock.png, race_beale.png
    trajectories (:func:`fastopt.plot.plot_trajectories`) and objective
    curves (:func:`fastopt.plot.plot_loss_curves`) of several optimizers;
train_validation.png
    training and validation loss of a data-mode run with early stopping
    (:func:`fastopt.plot.plot_train_validation`);
schedules.png
    every schedule of :mod:`fastopt.schedules` over 100 steps (matplotlib);
l1_adam.png
    Adam with an L1 penalty: coefficient paths with the threshold scaled by
    each coordinate's step size (``options["l1"]``) and with a plain
    ``lr * l1`` threshold, against the lasso solution (matplotlib).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUTDIR = HERE / "_generated" / "figures"
FIGURES = ("race_rosenbrock.png", "race_beale.png", "train_validation.png", "schedules.png",
           "l1_adam.png")

# The race: method -> (constructor arguments, learning rate per problem). Rates
# picked from a grid 1e-4 .. 1 (steps of ~3x) for visible progress without
# divergence; SGD runs with momentum 0.9.
RACE = {
    "sgd": ({"momentum": 0.9}, {"rosenbrock": 1e-3, "beale": 1e-2}),
    "adam": ({}, {"rosenbrock": 0.1, "beale": 0.1}),
    "rmsprop": ({}, {"rosenbrock": 3e-3, "beale": 1e-2}),
    "adagrad": ({}, {"rosenbrock": 0.5, "beale": 0.3}),
    "rprop": ({}, {"rosenbrock": 1e-2, "beale": 0.1}),
    "lion": ({}, {"rosenbrock": 3e-3, "beale": 1e-2}),
}
STEPS = {"rosenbrock": 2000, "beale": 1000}
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "savefig.dpi": DPI, "figure.dpi": DPI})
    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, metadata={"Software": None})  # no version stamp: stable bytes
    import matplotlib.pyplot as plt

    plt.close(fig)


def race(problem_name: str, steps: int):
    """(paths, objective values) of the RACE methods on a 2-D test problem."""
    import fastopt
    from fastopt.problems import get_problem
    from fastopt.registry import REGISTRY

    paths, values = {}, {}
    for method, (kwargs, rates) in RACE.items():
        p = get_problem(problem_name)
        x = p.x0.copy()
        cls = getattr(fastopt, REGISTRY[method].class_name)
        opt = cls(x, lr=rates[problem_name], **kwargs)
        path = np.empty((steps + 1, 2))
        f = np.empty(steps + 1)
        for k in range(steps):
            path[k] = x
            f[k], g = p.fun(x)
            if not np.isfinite(f[k]):
                path, f = path[: k + 1], f[: k + 1]
                break
            opt.step(g)
        else:
            path[steps] = x
            f[steps] = p.fun(x)[0]
        label = f"{REGISTRY[method].class_name} (lr={rates[problem_name]:g})"
        paths[label] = path
        values[label] = f
    return paths, values


def draw_race(plt, problem_name: str, out: Path) -> Path:
    from fastopt.plot import plot_loss_curves, plot_trajectories
    from fastopt.problems import get_problem

    p = get_problem(problem_name)
    paths, values = race(problem_name, STEPS[problem_name])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    start = ", ".join(f"{v:g}" for v in p.x0)
    plot_trajectories(p, paths, ax=left, title=f"{problem_name}: iterates from ({start})")
    plot_loss_curves(values, ax=right, fmin=p.fmin, title=f"{problem_name}: f(x) - f*")
    path = out / f"race_{problem_name}.png"
    _save(fig, path)
    return path


def overfitting_run():
    """A logistic regression that overfits: few noisy rows, many features, no penalty."""
    import fastopt

    rng = np.random.default_rng(3)
    n_train, n_val, d = 200, 1000, 100
    w_true = np.zeros(d)
    w_true[:5] = 2.0 * rng.normal(size=5)
    X = rng.normal(size=(n_train + n_val, d))
    p_true = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n_train + n_val) < p_true).astype(float)

    def logistic(w, Xb, yb):
        # The mean logistic loss and its gradient, as fastopt.losses.logistic
        # computes them, in NumPy: a Python objective runs minimize's Python
        # epoch loop and compiles nothing, which keeps the docs build fast.
        z = Xb @ w[:-1] + w[-1]
        loss = np.mean(np.logaddexp(0.0, z) - yb * z)
        r = 0.5 * (1.0 + np.tanh(0.5 * z)) - yb
        return loss, np.append(Xb.T @ r, r.sum()) / len(yb)

    return fastopt.minimize(
        logistic, np.zeros(d + 1), jac=True, method="adam",
        data=(X[:n_train], y[:n_train]), batch_size=20,
        validation_data=(X[n_train:], y[n_train:]),
        options={"lr": 1e-2, "epochs": 200, "seed": 0, "patience": 15})


def draw_train_validation(plt, out: Path) -> Path:
    from fastopt.plot import plot_train_validation

    res = overfitting_run()
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    plot_train_validation(res, ax=ax, title="logistic regression, 100 features, 200 rows: "
                                            "Adam, early stopping (patience 15)")
    path = out / "train_validation.png"
    _save(fig, path)
    return path


def schedule_examples():
    """(title, values over 100 steps) of each schedule, base lr 0.1."""
    from fastopt import schedules as S

    n = 100
    counts = range(n)
    plateau = S.ReduceLROnPlateau(0.1, factor=0.5, patience=5)
    metric = np.r_[np.linspace(1.0, 0.5, 30), np.full(n - 30, 0.5)]  # improves, then stalls
    plateau_values = []
    for c in counts:
        plateau_values.append(plateau(c))
        plateau.step(metric[c])
    examples = [
        ("StepLR(step_size=30, gamma=0.5)", S.StepLR(0.1, step_size=30, gamma=0.5)),
        ("MultiStepLR([20, 50, 80], gamma=0.5)", S.MultiStepLR(0.1, [20, 50, 80], gamma=0.5)),
        ("ExponentialLR(gamma=0.97)", S.ExponentialLR(0.1, gamma=0.97)),
        ("CosineAnnealingLR(T_max=100)", S.CosineAnnealingLR(0.1, T_max=100)),
        ("CosineAnnealingWarmRestarts(T_0=20, T_mult=2)",
         S.CosineAnnealingWarmRestarts(0.1, T_0=20, T_mult=2)),
        ("LinearLR(start_factor=0.1, total_iters=50)",
         S.LinearLR(0.1, start_factor=0.1, total_iters=50)),
        ("PolynomialLR(total_iters=100, power=2)", S.PolynomialLR(0.1, total_iters=100, power=2.0)),
        ("OneCycleLR(total_steps=100)", S.OneCycleLR(0.1, total_steps=100)),
        ("ConstantLR(factor=0.5, total_iters=30)", S.ConstantLR(0.1, factor=0.5, total_iters=30)),
        ("SequentialLR: LinearLR warmup, cosine",
         S.SequentialLR([S.LinearLR(0.1, start_factor=0.01, total_iters=10),
                         S.CosineAnnealingLR(0.1, T_max=90)], milestones=[10])),
        ("ConstantSchedule", S.ConstantSchedule(0.1)),
    ]
    out = [(title, np.array([s(c) for c in counts])) for title, s in examples]
    out.append(("ReduceLROnPlateau(factor=0.5, patience=5)\n(metric stalls after step 30)",
                np.array(plateau_values)))
    return out


def draw_schedules(plt, out: Path) -> Path:
    examples = schedule_examples()
    fig, axes = plt.subplots(3, 4, figsize=(12, 7), sharex=True, sharey=True, layout="constrained")
    for ax, (title, values) in zip(axes.flat, examples):
        ax.plot(np.arange(values.size), values, color="C0", linewidth=1.6)
        ax.set_title(title, fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(-0.005, 0.107)
    for ax in axes[-1]:
        ax.set_xlabel("step count")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    path = out / "schedules.png"
    _save(fig, path)
    return path


def l1_runs(l1=0.2, epochs=300, lr=0.05):
    """Adam + L1 on a small lasso problem: (solution, scaled-threshold path, lr * l1 path)."""
    import fastopt
    from fastopt import losses

    rng = np.random.default_rng(2024)
    n, d = 300, 5
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.5, -2.0, 0.0, 0.7, 0.0]) + 0.3 + 0.1 * rng.normal(size=n)
    w0 = np.full(d + 1, 0.1)
    A = np.hstack([X, np.ones((n, 1))])
    step = 1.0 / np.linalg.eigvalsh(A.T @ A / n).max()
    ref = w0.copy()
    for _ in range(20_000):  # ISTA: the lasso solution (intercept free)
        z = ref - step * (A.T @ (A @ ref - y) / n)
        ref = np.append(np.sign(z[:d]) * np.maximum(np.abs(z[:d]) - step * l1, 0.0), z[d])

    def squared(w, Xb, yb):  # a Python objective: minimize's Python loop, no compile
        return losses.squared(w, Xb, yb)

    scaled = [w0]
    fastopt.minimize(squared, w0, jac=True, method="adam", data=(X, y), batch_size=None,
                     callback=lambda xk: scaled.append(xk),
                     options={"lr": lr, "epochs": epochs, "shuffle": False, "l1": l1,
                              "penalty_skip": 1})
    w = w0.copy()
    opt = fastopt.Adam(w, lr=lr)
    plain = [w0]
    for _ in range(epochs):
        opt.step(losses.squared(w, X, y)[1])
        w[:d] = np.sign(w[:d]) * np.maximum(np.abs(w[:d]) - lr * l1, 0.0)
        plain.append(w.copy())
    return ref[:d], np.array(scaled)[:, :d], np.array(plain)[:, :d]


def draw_l1(plt, out: Path) -> Path:
    ref, scaled, plain = l1_runs()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
    titles = ("threshold l1 x Adam's step size per coordinate (fastopt)",
              "threshold lr x l1 for every coordinate")
    for ax, path, title in zip(axes, (scaled, plain), titles):
        for j in range(ref.size):
            ax.plot(path[:, j], color=f"C{j}", linewidth=1.5, label=f"w[{j}]")
            ax.axhline(ref[j], color=f"C{j}", linestyle="--", linewidth=0.9)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch (full batch)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("coefficient (dashed: lasso solution)")
    axes[0].legend(fontsize=8, ncol=2, loc="center right")
    path = out / "l1_adam.png"
    _save(fig, path)
    return path


def make(outdir: Path | str | None = None) -> list[Path]:
    """Draw every figure into ``outdir``; return their paths."""
    out = Path(outdir) if outdir is not None else OUTDIR
    out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    return [draw_race(plt, "rosenbrock", out), draw_race(plt, "beale", out),
            draw_train_validation(plt, out), draw_schedules(plt, out), draw_l1(plt, out)]


def all_present(outdir: Path | str | None = None) -> bool:
    out = Path(outdir) if outdir is not None else OUTDIR
    return all((out / name).is_file() for name in FIGURES)


def make_if_stale(outdir: Path | str | None = None) -> list[Path]:
    """Draw the figures if one is missing or older than this script or fastopt's sources."""
    out = Path(outdir) if outdir is not None else OUTDIR
    sources = [Path(__file__)] + sorted((ROOT / "fastopt").rglob("*.py"))
    newest_source = max(p.stat().st_mtime for p in sources)
    figures = [out / name for name in FIGURES]
    if all(f.is_file() and f.stat().st_mtime >= newest_source for f in figures):
        return []
    return make(out)


if __name__ == "__main__":
    start = time.perf_counter()
    for p in make(sys.argv[1] if len(sys.argv) > 1 else None):
        print(p)
    print(f"{time.perf_counter() - start:.1f} s")
