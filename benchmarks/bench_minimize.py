"""W3: ``fastopt.minimize`` loop overhead, Adam (lr 1e-3) on the Rosenbrock function.

N = 2 for 10,000 iterations and N = 1000 for 2,000 (gtol = 0: every run does
all its iterations), with a jitted objective (``fastopt.problems.rosenbrock``:
the whole loop compiled) and a plain Python + NumPy objective (the Python
loop). Peers on the same runs: jax + optax ``fori_loop`` under ``jit``, a
torch loop, a bare NumPy loop around the same Python objective.

``MinimizeQualitySuite`` tracks what every registry method reaches with its
default hyperparameters: the loss after a fixed budget and the iterations to
a gradient tolerance.
"""

import numpy as np

from fastopt.registry import METHODS

from . import bench_workloads as W

_W3_CASES = [*W.W3_CASES]


class MinimizeSuite:
    """The W3 runs through ``fastopt.minimize``: jitted objective (returning its gradient
    or writing it in place, ``jac="inplace"``) and Python objective."""

    params = [_W3_CASES]
    param_names = ["case"]
    timeout = 180.0

    def setup(self, case):
        n, iters = W.W3_CASES[case]
        self.jitted = W.fastopt_minimize(n, iters, "jitted")  # compiles the loop
        self.inplace = W.fastopt_minimize(n, iters, "inplace")
        self.python = W.fastopt_minimize(n, iters, "python")

    def time_minimize_jitted(self, case):
        self.jitted()

    def time_minimize_inplace(self, case):
        self.inplace()

    def time_minimize_python(self, case):
        self.python()


class MinimizeQualitySuite:
    """Quality of each method with its defaults (deterministic; no timing).

    The objectives run as Python callables around the cached jitted problems:
    the same iterates as the compiled loop, and nothing to compile here.
    """

    params = [[*METHODS]]
    param_names = ["method"]

    def track_final_loss_rosenbrock(self, method):
        """Rosenbrock N=2 from (-1.2, 1) after 2,000 iterations."""
        import fastopt
        from fastopt import problems

        fun = problems.rosenbrock
        r = fastopt.minimize(lambda x: fun(x), W.rosenbrock_x0(2), method=method, jac=True,
                             options={"maxiter": 2000, "gtol": 0.0})
        return r.fun

    track_final_loss_rosenbrock.unit = "f"

    def track_iterations_to_tol_quadratic(self, method):
        """Iterations until max|g| <= 1e-4 on the 100-D quadratic (condition number 10)
        from x = 1; 20,000 when not reached."""
        import fastopt
        from fastopt import problems

        fun = problems.quadratic
        r = fastopt.minimize(lambda x: fun(x), np.ones(100), method=method, jac=True,
                             options={"maxiter": 20_000, "gtol": 1e-4})
        return r.nit

    track_iterations_to_tol_quadratic.unit = "iterations"


class PeerJaxMinimize:
    """jax + optax: Adam in ``jax.lax.fori_loop`` under ``jax.jit`` (x64)."""

    params = [_W3_CASES]
    param_names = ["case"]
    timeout = 180.0

    def setup(self, case):
        self.run = W.jax_minimize(*W.W3_CASES[case])

    def time_minimize(self, case):
        self.run()


class PeerTorchMinimize:
    """A torch loop: autograd Rosenbrock and ``torch.optim.Adam`` (seconds per run)."""

    params = [_W3_CASES]
    param_names = ["case"]
    timeout = 300.0
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0.0

    def setup(self, case):
        self.run = W.torch_minimize(*W.W3_CASES[case])

    def time_minimize(self, case):
        self.run()


class PeerNumpyMinimize:
    """A bare hand-written NumPy Adam loop around the same Python objective."""

    params = [_W3_CASES]
    param_names = ["case"]

    def setup(self, case):
        self.run = W.numpy_minimize(*W.W3_CASES[case])

    def time_minimize(self, case):
        self.run()
