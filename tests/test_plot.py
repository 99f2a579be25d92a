"""fastopt.plot: trajectories on contour maps, loss curves, train/validation curves."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

import fastopt
from fastopt.plot import plot_loss_curves, plot_train_validation, plot_trajectories
from fastopt import losses
from fastopt.problems import get_problem


def _path(problem, method="adam", lr=0.05, maxiter=200):
    path = [problem.x0.copy()]
    res = fastopt.minimize(problem.fun, problem.x0, jac=True, method=method,
                           options={"lr": lr, "maxiter": maxiter}, callback=path.append)
    return np.array(path), res


@pytest.fixture(scope="module")
def runs():
    p = get_problem("rosenbrock")
    return p, {m: _path(p, m, lr) for m, lr in [("adam", 0.05), ("sgd", 1e-3), ("lion", 5e-3)]}


@pytest.fixture(scope="module")
def data_result():
    """A data-mode run with validation data that stops early."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 30))
    y = (X[:, 0] + 2.0 * rng.standard_normal(300) > 0).astype(float)   # noisy: it overfits
    res = fastopt.minimize(lambda w, X, y: losses.logistic(w, X, y), np.zeros(31), jac=True,
                           method="adam", data=(X[:100], y[:100]), batch_size=10,
                           validation_data=(X[100:], y[100:]),
                           options={"lr": 0.05, "epochs": 60, "patience": 5, "seed": 0})
    assert 0 <= res.best_epoch < len(res.val_history) - 1
    return res


# --------------------------------------------------------------------------
# Without matplotlib
# --------------------------------------------------------------------------

def test_import_and_call_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # import matplotlib fails
    monkeypatch.delitem(sys.modules, "fastopt.plot", raising=False)
    plot = importlib.import_module("fastopt.plot")            # importing still works
    res = OptimizeResult(history=np.array([3.0, 2.0, 1.0]))
    with pytest.raises(ImportError, match=r"pip install 'fastopt\[plot\]'"):
        plot.plot_loss_curves({"adam": res})
    with pytest.raises(ImportError, match="matplotlib"):
        plot.plot_trajectories("rosenbrock", {"adam": np.zeros((3, 2))})
    with pytest.raises(ImportError, match="matplotlib"):
        plot.plot_train_validation(res)


# --------------------------------------------------------------------------
# With matplotlib (Agg canvas, no pyplot state unless ax is None)
# --------------------------------------------------------------------------

# Everything below needs matplotlib (skipped without it; the test above runs anyway).

def _figure():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure   # the Agg canvas, no pyplot state

    return Figure()


@pytest.fixture
def new_ax():
    """Make Axes on fresh figures."""
    return lambda: _figure().subplots()


@pytest.fixture
def ax(new_ax):
    return new_ax()


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def _star(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "*"]


def test_trajectories_on_a_problem(ax, runs):
    p, results = runs
    paths = {m: path for m, (path, _) in results.items()}
    out = plot_trajectories(p, paths, ax=ax)
    assert out is ax
    assert ax.collections, "no contour lines"
    for method, path in paths.items():
        (line,) = [l for l in ax.get_lines() if l.get_label() == method]
        np.testing.assert_array_equal(line.get_xydata(), path)
    (star,) = _star(ax)
    np.testing.assert_array_equal(star.get_xydata()[0], p.xmin)
    assert ax.get_xlim() == p.bounds[0] and ax.get_ylim() == p.bounds[1]
    assert ax.get_xlabel() and ax.get_ylabel() and "rosenbrock" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(paths) <= set(legend) and "minimum" in legend and "start" in legend


def test_trajectory_levels_are_log_spaced_for_rosenbrock_and_linear_for_a_quadratic(new_ax, runs):
    p, results = runs
    ax = new_ax()
    plot_trajectories(p, {"adam": results["adam"][0]}, ax=ax)
    from matplotlib.colors import LogNorm

    (contours,) = ax.collections
    levels = np.asarray(contours.levels)
    assert isinstance(contours.norm, LogNorm)
    np.testing.assert_allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))
    q = get_problem("quadratic")
    ax = new_ax()
    plot_trajectories(q, {"adam": _path(q)[0]}, ax=ax, levels=12)
    (contours,) = ax.collections
    levels = np.asarray(contours.levels)
    assert len(levels) == 12
    np.testing.assert_allclose(np.diff(levels), levels[1] - levels[0])


def test_trajectories_explicit_levels_bounds_and_plain_function(ax):
    def bowl(x):
        return float((x[0] - 1.0) ** 2 + 2.0 * x[1] ** 2)

    path = np.array([[-1.0, 1.0], [0.0, 0.5], [0.8, 0.1], [1.0, 0.0]])
    plot_trajectories(bowl, {"gd": path}, ax=ax, levels=[0.5, 1, 2, 4], xmin=[1, 0],
                      bounds=((-2, 2), (-1.5, 1.5)))
    np.testing.assert_array_equal(ax.collections[0].levels, [0.5, 1, 2, 4])
    assert ax.get_xlim() == (-2, 2)
    assert len(_star(ax)) == 1


def test_trajectories_box_around_the_paths_and_nonfinite_rows(ax):
    path = np.array([[0.0, 0.0], [1.0, 2.0], [np.nan, np.inf]])     # a run that blew up
    plot_trajectories(lambda x: x @ x, {"run": path}, ax=ax)
    (xlo, xhi), (ylo, yhi) = ax.get_xlim(), ax.get_ylim()
    assert xlo < 0 < 1 < xhi and ylo < 0 < 2 < yhi
    (line,) = [l for l in ax.get_lines() if l.get_label() == "run"]
    assert len(line.get_xdata()) == 2


def test_trajectories_by_problem_name_with_a_new_figure():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    try:
        ax = plot_trajectories("himmelblau", {"sgd": np.array([[0.0, 0.0], [1.0, 1.0]])})
        assert isinstance(ax, Axes) and ax.collections
    finally:
        plt.close("all")


@pytest.mark.parametrize("bad, error", [
    ({"adam": np.zeros((5, 3))}, ValueError),
    ({"adam": np.zeros(5)}, ValueError),
    ([np.zeros((5, 2))], TypeError),
])
def test_trajectories_bad_paths(ax, bad, error):
    with pytest.raises(error):
        plot_trajectories("rosenbrock", bad, ax=ax)


def test_trajectories_need_two_dimensions(ax):
    with pytest.raises(ValueError, match="2-D"):
        plot_trajectories(get_problem("rosenbrock", 3), {}, ax=ax)
    with pytest.raises(ValueError, match="unknown problem"):
        plot_trajectories("nope", {}, ax=ax)


def test_loss_curves(ax, runs):
    _, results = runs
    res = {m: r for m, (_, r) in results.items()}
    out = plot_loss_curves(res, ax=ax)
    assert out is ax
    assert _labels(ax) == list(res)
    for line, r in zip(ax.get_lines(), res.values()):
        np.testing.assert_array_equal(line.get_ydata(), r.history)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(r.history)))
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "iteration" and ax.get_ylabel() == "f(x)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(res)


def test_loss_curves_minus_fmin_and_linear(new_ax, runs):
    p, results = runs
    r = results["adam"][1]
    ax = new_ax()
    plot_loss_curves({"adam": r}, ax=ax, fmin=-1.0, log=False)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), r.history + 1.0)
    assert ax.get_yscale() == "linear" and "f*" in ax.get_ylabel()


def test_loss_curves_negative_values_fall_back_to_linear(ax):
    plot_loss_curves({"a": np.array([1.0, 0.0, -0.25])}, ax=ax)   # arrays work too
    assert ax.get_yscale() == "linear"


def test_loss_curves_diverging_run_does_not_stretch_the_axis(ax):
    plot_loss_curves({"ok": np.geomspace(10, 1e-3, 50), "blew up": np.array([10, 1e5, 1e150])},
                     ax=ax)
    assert ax.get_ylim()[1] < 1e6


def test_loss_curves_validation_marks_the_best_epoch(ax, data_result):
    plot_loss_curves({"adam": data_result}, ax=ax, key="val_history", log=False)
    assert ax.get_xlabel() == "epoch" and "validation" in ax.get_ylabel()
    dots = [l for l in ax.get_lines() if l.get_marker() == "o"]
    assert len(dots) == 1
    assert dots[0].get_xdata()[0] == data_result.best_epoch
    with pytest.raises(ValueError, match="val_history"):
        plot_loss_curves({"adam": OptimizeResult(history=np.ones(3))}, ax=ax, key="val_history")


def test_train_validation(ax, data_result):
    out = plot_train_validation(data_result, ax=ax)
    assert out is ax
    best = data_result.best_epoch
    vertical = [l for l in ax.get_lines() if list(l.get_xdata()) == [best, best]]
    assert len(vertical) == 1
    train, val = ax.get_lines()[:2]
    np.testing.assert_array_equal(train.get_ydata(), data_result.history)
    np.testing.assert_array_equal(val.get_ydata(), data_result.val_history)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"best epoch ({best})" in text for text in legend)
    assert any("validation" in text for text in legend)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss" and ax.get_title()


def test_train_validation_needs_validation_data(ax):
    with pytest.raises(ValueError, match="validation_data"):
        plot_train_validation(OptimizeResult(history=np.ones(3)), ax=ax)


def test_a_saved_figure_is_an_image(tmp_path, runs):
    p, results = runs
    fig = _figure()
    a, b = fig.subplots(1, 2)
    plot_trajectories(p, {m: path for m, (path, _) in results.items()}, ax=a)
    plot_loss_curves({m: r for m, (_, r) in results.items()}, ax=b, fmin=p.fmin)
    fig.savefig(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
