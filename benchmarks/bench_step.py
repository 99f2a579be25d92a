"""W1: one optimizer step, in place, through the public API (``opt.step(grad)``).

Every optimizer of the registry, over sizes; float32 and float64 for Adam.
Peers on the same workload (skipped when not installed): torch.optim (fused
where torch has it on CPU), optax under ``jax.jit``, a NumPy Adam, and the
streaming-bandwidth floor of an Adam step.
"""

from fastopt.registry import METHODS, REGISTRY

from . import bench_workloads as W

_STEP_PARAMS = ([*METHODS], [*W.STEP_SIZES], [*W.STEP_DTYPES])
_STEP_NAMES = ["method", "n", "dtype"]


def _only_adam_in_float32(method, dtype):
    if dtype == W.F32 and method != "adam":
        raise NotImplementedError("float32 is benchmarked for Adam only")


class StepSuite:
    """``opt.step(g)`` for every registry optimizer (defaults), state allocated in setup."""

    params = _STEP_PARAMS
    param_names = _STEP_NAMES

    def setup(self, method, n, dtype):
        _only_adam_in_float32(method, dtype)
        self.step = W.fastopt_step(method, n, dtype)

    def time_step(self, method, n, dtype):
        self.step()


class StepVariantSuite:
    """``opt.step(g)`` for the flags that switch a kernel onto another branch."""

    params = (["sgd momentum=0.9", "sgd nesterov", "rmsprop centered momentum=0.9",
               "adam amsgrad", "adamw"], [10_000, 1_000_000])
    param_names = ["variant", "n"]
    HYPER = {"sgd momentum=0.9": ("sgd", {"momentum": 0.9}),
             "sgd nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
             "rmsprop centered momentum=0.9": ("rmsprop", {"centered": True, "momentum": 0.9}),
             "adam amsgrad": ("adam", {"amsgrad": True}),
             "adamw": ("adamw", {})}

    def setup(self, variant, n):
        method, hyper = self.HYPER[variant]
        self.step = W.fastopt_step(method, n, W.F64, **hyper)

    def time_step(self, variant, n):
        self.step()


class StepMemSuite:
    """Peak memory of Adam at 1e7 parameters: p, g and two state rows, no temporaries.

    float64: 4 x 80 MB. A step that allocated a temporary the size of ``p``
    would add 80 MB per temporary.
    """

    params = [[W.F64, W.F32]]
    param_names = ["dtype"]
    timeout = 120.0

    def setup(self, dtype):
        self.step = W.fastopt_step("adam", W.BIG, dtype)

    def peakmem_step_1e7(self, dtype):
        for _ in range(3):
            self.step()

    def time_step_1e7(self, dtype):
        self.step()


class StepFloorSuite:
    """The streaming-bandwidth floor of an Adam step (4 arrays read, 3 written, one add)."""

    params = ([*W.STEP_SIZES, W.BIG], [*W.STEP_DTYPES])
    param_names = ["n", "dtype"]

    def setup(self, n, dtype):
        self.step = W.stream_limit(n, dtype)

    def time_stream_limit(self, n, dtype):
        self.step()


class PeerTorchStep:
    """torch.optim's counterpart of each optimizer: fused, else foreach, else for-loop.

    The grid of ``StepSuite``; n=100 for Adam only (each case imports torch).
    """

    params = _STEP_PARAMS
    param_names = _STEP_NAMES

    def setup(self, method, n, dtype):
        _only_adam_in_float32(method, dtype)
        if REGISTRY[method].torch is None:
            raise NotImplementedError(f"torch.optim has no {method}")
        if n < 1000 and method != "adam":  # W1 compares the others at 1e4 and 1e6
            raise NotImplementedError("torch at n=100 for Adam only")
        self.step, self.mode = W.torch_step(method, n, dtype)

    def time_step(self, method, n, dtype):
        self.step()


class PeerTorchStepMem:
    """Peak memory of ``torch.optim.Adam(fused=True)`` at 1e7 parameters."""

    params = [[W.F64, W.F32]]
    param_names = ["dtype"]
    timeout = 120.0

    def setup(self, dtype):
        self.step, _ = W.torch_step("adam", W.BIG, dtype)

    def peakmem_step_1e7(self, dtype):
        for _ in range(3):
            self.step()


class PeerJaxStep:
    """``optax.adam`` update and apply under ``jax.jit``, buffers donated."""

    params = ([*W.STEP_SIZES], [*W.STEP_DTYPES])
    param_names = ["n", "dtype"]

    def setup(self, n, dtype):
        self.step = W.jax_step(n, dtype)

    def time_step(self, n, dtype):
        self.step()


class PeerNumpyStep:
    """A naive NumPy Adam step (vectorized expressions, in place where reasonable)."""

    params = ([*W.STEP_SIZES], [*W.STEP_DTYPES])
    param_names = ["n", "dtype"]

    def setup(self, n, dtype):
        self.step = W.numpy_step(n, dtype)

    def time_step(self, n, dtype):
        self.step()


class PeerNumpyStepMem:
    """Peak memory of the NumPy Adam at 1e7 parameters (its temporaries show here)."""

    params = [[W.F64]]
    param_names = ["dtype"]
    timeout = 120.0

    def setup(self, dtype):
        self.step = W.numpy_step(W.BIG, dtype)

    def peakmem_step_1e7(self, dtype):
        for _ in range(3):
            self.step()
