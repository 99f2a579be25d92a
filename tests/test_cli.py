"""The ``fastopt`` command line: subcommands, output formats, --plot, bad arguments."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastopt
from fastopt import cli
from fastopt.problems import PROBLEMS

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    """(exit status, stdout, stderr) of ``fastopt argv...`` run in-process."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def assert_one_line_error(code, out, err, *fragments):
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastopt: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------

def test_compare_default_methods_table(capsys):
    code, out, err = run(capsys, "compare", "--maxiter", "200")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    for method in fastopt.METHODS:
        assert method in rows, out
    assert "rosenbrock (2-D)" in out
    header = next(line for line in out.splitlines() if line.startswith("method"))
    for column in ("lr", "f(x)", "f - f*", "iters", "to tol", "time [ms]", "status"):
        assert column in header


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_compare_every_problem_csv(capsys, problem):
    code, out, err = run(capsys, "compare", "--problem", problem, "--methods", "adam,sgd",
                         "--maxiter", "50", "--format", "csv")
    assert code == 0, err
    rows = csv_rows(out)
    assert [r["method"] for r in rows] == ["adam", "sgd"]
    for r in rows:
        assert np.isfinite(float(r["f"]))
        assert int(r["iterations"]) <= 50
        assert float(r["time_s"]) >= 0
        assert float(r["f_minus_fstar"]) == pytest.approx(float(r["f"]) - PROBLEMS[problem].fmin)


def test_compare_matches_minimize(capsys):
    """The table reports what fastopt.minimize gives with the table's lr."""
    code, out, _ = run(capsys, "compare", "--problem", "booth", "--methods", "adam",
                       "--maxiter", "300", "--format", "csv")
    assert code == 0
    (row,) = csv_rows(out)
    p = PROBLEMS["booth"]
    res = fastopt.minimize(p.fun, p.x0, jac=True, method="adam",
                           options={"maxiter": 300, "lr": cli.default_lr("adam")},
                           callback=lambda xk: None)
    assert float(row["f"]) == res.fun
    assert int(row["iterations"]) == res.nit
    to_tol = np.flatnonzero(res.history - p.fmin <= 1e-4)
    assert row["iterations_to_tol"] == (str(to_tol[0]) if to_tol.size else "")


def test_compare_tol_lr_and_dim(capsys):
    code, out, _ = run(capsys, "compare", "--problem", "quadratic", "--dim", "50",
                       "--methods", "adam,rmsprop", "--lr", "0.05", "--tol", "1e-3",
                       "--maxiter", "400", "--format", "csv")
    assert code == 0
    rows = csv_rows(out)
    assert {float(r["lr"]) for r in rows} == {0.05}
    adam = rows[0]
    assert adam["iterations_to_tol"] != ""
    assert 0 < int(adam["iterations_to_tol"]) <= int(adam["iterations"])


def test_compare_markdown(capsys):
    code, out, _ = run(capsys, "compare", "--methods", "lion,adam", "--maxiter", "100",
                       "--format", "markdown")
    assert code == 0
    lines = out.strip().splitlines()
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert lines[0].startswith("| method |")
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["lion", "adam"]


def test_compare_methods_are_case_insensitive_and_deduplicated(capsys):
    code, out, _ = run(capsys, "compare", "--methods", "Adam, SGD,adam", "--maxiter", "20",
                       "--format", "csv")
    assert code == 0
    assert [r["method"] for r in csv_rows(out)] == ["adam", "sgd"]


@pytest.mark.parametrize("classes", [2, 3])
def test_compare_classification(capsys, classes):
    code, out, err = run(capsys, "compare", "--problem", "classification", "--classes",
                         str(classes), "--methods", "adam,sgd", "--epochs", "4",
                         "--batch-size", "50", "--format", "csv")
    assert code == 0, err
    rows = csv_rows(out)
    assert [r["method"] for r in rows] == ["adam", "sgd"]
    for r in rows:
        assert int(r["steps"]) == 4 * 20          # 1000 rows in batches of 50
        assert float(r["train_minus_fstar"]) >= -1e-9   # f* is the training minimum
        assert 1 / classes < float(r["val_accuracy"]) <= 1
        assert 0 <= int(r["best_epoch"]) < 4
        assert r["status"] == "completed"


def test_compare_classification_is_seeded(capsys):
    argv = ("compare", "--problem", "classification", "--methods", "adam", "--epochs", "2",
            "--format", "csv")
    first = csv_rows(run(capsys, *argv)[1])[0]
    second = csv_rows(run(capsys, *argv)[1])[0]
    assert first["train_loss"] == second["train_loss"]
    other = csv_rows(run(capsys, *argv, "--seed", "1")[1])[0]
    assert other["train_loss"] != first["train_loss"]


def test_compare_classification_maxiter_caps_steps(capsys):
    code, out, _ = run(capsys, "compare", "--problem", "classification", "--methods", "sgd",
                       "--epochs", "5", "--maxiter", "45", "--format", "csv")
    assert code == 0
    (row,) = csv_rows(out)
    assert int(row["steps"]) == 45
    assert row["status"] == "maxiter"


def test_compare_diverging_method_is_reported_not_raised(capsys):
    code, out, _ = run(capsys, "compare", "--methods", "sgd", "--lr", "1", "--format", "csv")
    assert code == 0
    (row,) = csv_rows(out)
    assert row["status"] == "diverged"


def test_ctrl_c_stops_the_whole_comparison(capsys, monkeypatch):
    """minimize returns status 3 on Ctrl-C; compare then stops instead of going on."""
    from scipy.optimize import OptimizeResult

    calls = []

    def interrupted(*args, **kwargs):
        calls.append(kwargs.get("method"))
        return OptimizeResult(status=3, fun=1.0, nit=0, history=np.ones(1))

    monkeypatch.setattr(sys.modules["fastopt.minimize"], "minimize", interrupted)
    code, out, err = run(capsys, "compare", "--methods", "adam,sgd")
    assert code == 130
    assert out == "" and err.strip() == "fastopt: interrupted"
    assert "sgd" not in calls


@pytest.mark.slow
def test_compare_compiled_reports_compile_time(capsys):
    code, out, err = run(capsys, "compare", "--compiled", "--problem", "booth", "--methods", "sgd",
                         "--maxiter", "100", "--format", "csv")
    assert code == 0
    (row,) = csv_rows(out)
    assert float(row["compile_s"]) > 0
    assert "compiling" in err
    # The compiled loop gives the same iterates as the Python-driven one.
    _, out_python, _ = run(capsys, "compare", "--problem", "booth", "--methods", "sgd",
                           "--maxiter", "100", "--format", "csv")
    assert csv_rows(out_python)[0]["f"] == row["f"]


def test_learning_rate_table_covers_the_registry():
    assert set(cli.LEARNING_RATES) == set(fastopt.METHODS)
    for problems_lr, classification_lr in cli.LEARNING_RATES.values():
        assert problems_lr > 0 and classification_lr > 0


# --------------------------------------------------------------------------
# --plot
# --------------------------------------------------------------------------

def test_plot_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "out.png"
    code, out, err = run(capsys, "compare", "--methods", "adam,sgd,lion", "--maxiter", "300",
                         "--plot", str(target))
    assert code == 0, err
    assert "adam" in out
    data = target.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000
    assert str(target) in err


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".pdf", b"%PDF")])
def test_plot_other_formats(capsys, tmp_path, suffix, magic):
    pytest.importorskip("matplotlib")
    target = tmp_path / f"out{suffix}"
    code, _, err = run(capsys, "compare", "--problem", "rosenbrock", "--dim", "5",
                       "--methods", "adam", "--maxiter", "100", "--plot", str(target))
    assert code == 0, err
    assert magic in target.read_bytes()[:2000]


@pytest.mark.parametrize("methods", ["adam,sgd", "adam"])
def test_plot_classification(capsys, tmp_path, methods):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    code, _, err = run(capsys, "compare", "--problem", "classification", "--methods", methods,
                       "--epochs", "3", "--plot", str(target))
    assert code == 0, err
    data = target.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


def test_plot_that_cannot_be_written(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "taken.png"
    target.mkdir()                                   # a folder where the file should go
    code, out, err = run(capsys, "compare", "--methods", "adam", "--maxiter", "10",
                         "--plot", str(target))
    assert code == 1
    assert "adam" in out                             # the table is still printed
    assert err.strip().splitlines() == [f"fastopt: error: cannot write {target}: Is a directory"]


def test_plot_without_matplotlib_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    target = tmp_path / "out.png"
    code, out, err = run(capsys, "compare", "--methods", "adam", "--plot", str(target))
    assert_one_line_error(code, out, err, "pip install 'fastopt[plot]'")
    assert not target.exists()


# --------------------------------------------------------------------------
# list, --version, --help
# --------------------------------------------------------------------------

def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for method in fastopt.METHODS:
        assert f"  {method} " in out
    assert "betas=(0.9, 0.999)" in out          # constructor defaults are shown
    for problem in list(PROBLEMS) + ["classification"]:
        assert f"  {problem} " in out


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"fastopt {fastopt.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["list", "--help"]])
def test_help(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0
    assert out.startswith("usage: fastopt")
    assert err == ""


def test_compare_help_lists_the_options(capsys):
    _, out, _ = run(capsys, "compare", "--help")
    for option in ("--problem", "--methods", "--dim", "--maxiter", "--tol", "--lr", "--seed",
                   "--plot", "--format", "--compiled", "--classes", "--epochs", "--batch-size"):
        assert option in out


# --------------------------------------------------------------------------
# Bad arguments: one line on stderr, exit status 2, nothing run
# --------------------------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    ([], "required"),
    (["frobnicate"], "frobnicate"),
    (["compare", "--bogus"], "--bogus"),
    (["list", "extra"], "extra"),
    (["compare", "--maxiter", "-5"], "--maxiter"),
    (["compare", "--maxiter", "ten"], "--maxiter"),
    (["compare", "--dim", "0"], "--dim"),
    (["compare", "--problem", "nope"], "nope"),
    (["compare", "--problem", "beale", "--dim", "3"], "--dim"),
    (["compare", "--problem", "rosenbrock", "--dim", "1"], "--dim"),
    (["compare", "--methods", "adam,foo"], "'foo'"),
    (["compare", "--methods", ","], "--methods"),
    (["compare", "--lr", "0"], "--lr"),
    (["compare", "--lr", "inf"], "--lr"),
    (["compare", "--tol", "-1"], "--tol"),
    (["compare", "--seed", "-1"], "--seed"),
    (["compare", "--format", "xml"], "xml"),
    (["compare", "--plot", "out.jpg"], ".png"),
    (["compare", "--plot", "no/such/folder/out.png"], "folder"),
    (["compare", "--problem", "classification", "--classes", "1"], "--classes"),
    (["compare", "--problem", "classification", "--batch-size", "0"], "--batch-size"),
    (["compare", "--classes", "3"], "only for --problem classification"),
    (["compare", "--problem", "booth", "--epochs", "3"], "--epochs"),
])
def test_bad_arguments(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, out, err, fragment)


def test_unknown_method_error_lists_the_valid_ones(capsys):
    _, _, err = run(capsys, "compare", "--methods", "adamm")
    for method in fastopt.METHODS:
        assert method in err


# --------------------------------------------------------------------------
# Real processes: python -m fastopt
# --------------------------------------------------------------------------

def _python_m(*argv):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "fastopt", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_python_m_fastopt_compare():
    proc = _python_m("compare", "--methods", "adam,sgd", "--maxiter", "200")
    assert proc.returncode == 0, proc.stderr
    methods = [line.split()[0] for line in proc.stdout.splitlines()
               if line.split() and line.split()[0] in fastopt.METHODS]
    assert methods == ["adam", "sgd"]
    assert proc.stderr == ""


def test_python_m_fastopt_bad_argument():
    proc = _python_m("compare", "--maxiter", "-5")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("fastopt: error: argument --maxiter")


def test_console_script_entry_point():
    from fastopt.__main__ import main

    assert main(["--version"]) == 0
