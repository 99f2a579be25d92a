"""W4: cold start, each measurement a fresh ``python -c`` (wall time of the whole process).

``setup_cache`` runs every script once first, so that Numba's disk cache is
warm, as PERFORMANCE.md's targets assume: ``import fastopt`` <= 0.5 s, the
first ``minimize`` with a built-in objective <= 1.0 s, with a user's jitted
objective (``njit(cache=True)`` in its own module) <= 1.5 s
(``time_python_startup`` is the interpreter alone, and the user's function
typed into ``python -c``, which Numba cannot cache, is for reference). The peer: jax + optax importing, compiling and running the W3
N=2 case (0.65 s in PERFORMANCE.md).
"""

from . import bench_workloads as W


class _ColdStart:
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0
    timeout = 300.0


class ColdStartSuite(_ColdStart):
    """A fresh interpreter per measurement, importing the fastopt under test."""

    def setup_cache(self):
        env = W.fresh_env()
        for source in W.COLD_START.values():  # fills Numba's disk cache
            W.cold_start(source, env)
        return "warm"  # not None: every asv_runner passes it on to the benchmarks

    def setup(self, _):
        self.env = W.fresh_env()

    def time_python_startup(self, _):
        W.cold_start(W.COLD_START["python startup"], self.env)

    def time_import(self, _):
        W.cold_start(W.COLD_START["import fastopt"], self.env)

    def time_first_minimize(self, _):
        W.cold_start(W.COLD_START["first minimize, built-in objective"], self.env)

    def time_first_minimize_user_jitted(self, _):
        W.cold_start(W.COLD_START["first minimize, user's jitted objective"], self.env)

    def time_first_minimize_user_jitted_uncacheable(self, _):
        W.cold_start(W.COLD_START["first minimize, user's jitted objective typed into -c"],
                     self.env)

    def time_first_epoch(self, _):
        W.cold_start(W.COLD_START["first epoch, built-in loss"], self.env)

    def time_first_epoch_per_example(self, _):
        W.cold_start(W.COLD_START["first epoch, user's per_example loss"], self.env)

    def track_kernels_compiled_at_import(self, _):
        """Numba overloads compiled or loaded by ``import fastopt`` alone (the contract: 0)."""
        return int(W.cold_start(W.IMPORT_COMPILES, self.env).split()[-1])

    track_kernels_compiled_at_import.unit = "overloads"


class PeerJaxColdStart(_ColdStart):
    """A fresh interpreter: import jax + optax, jit-compile and run Adam on Rosenbrock N=2."""

    def setup(self):
        W.need("jax")
        W.need("optax")
        self.env = W.fresh_env()

    def time_first_minimize(self):
        W.cold_start(W.JAX_COLD_START[1], self.env)
