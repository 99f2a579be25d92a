"""W2: training epochs over data (``minimize(..., data=(X, y), batch_size=...)``).

``EpochSuite``: every built-in loss in each batch regime (full batch,
mini-batch 256, SGD with batch 1 on a small set), the epoch compiled.
``EpochW2Suite``: the PERFORMANCE.md workloads (logistic, mini-batch Adam,
200,000 x 100 batch 256 and 100,000 x 20 batch 32), with the same data and
algorithm as the peers below (jax + optax, torch, NumPy, scikit-learn).
The data of those is written once per run by ``setup_cache``.
"""

import numba
import numpy as np

from . import bench_workloads as W

_W2_CASES = [*W.W2_CASES]


class EpochSuite:
    """One compiled epoch of Adam (lr 1e-3) for each built-in loss and batch regime."""

    params = ([*W.LOSSES], [*W.EPOCH_REGIMES])
    param_names = ["loss", "regime"]
    timeout = 180.0

    def setup(self, loss, regime):
        n, d, bs = W.EPOCH_REGIMES[regime]
        X, y = W.loss_data(loss, n, d)
        self.run = W.fastopt_epoch(X, y, bs, loss)  # compiles the epoch (once per process)

    def time_epoch(self, loss, regime):
        self.run()


class EpochW2Suite(W.W2Data):
    """W2 of PERFORMANCE.md: one epoch of mini-batch Adam, logistic loss, float64."""

    params = [_W2_CASES]
    param_names = ["case"]

    def setup(self, paths, case):
        X, y, bs = self.load(paths, case)
        self.run = W.fastopt_epoch(X, y, bs)

    def time_epoch(self, paths, case):
        self.run()

    def peakmem_epoch(self, paths, case):
        self.run()


class EpochThreadsSuite(W.W2Data):
    """200,000 x 100, batch 4096: the parallel batch gradient with 1 and 2 threads.

    PERFORMANCE.md: 2 threads must beat 1 by >= 1.5x (same bits either way).
    """

    params = [[1, 2]]
    param_names = ["threads"]

    def setup(self, paths, threads):
        if threads > numba.config.NUMBA_NUM_THREADS:
            raise NotImplementedError(f"only {numba.config.NUMBA_NUM_THREADS} threads")
        X, y, _ = self.load(paths, "200000x100 batch 256")
        numba.set_num_threads(threads)
        self.run = W.fastopt_epoch(X, y, 4096)

    def time_epoch_batch4096(self, paths, threads):
        self.run()


class EpochQualitySuite:
    """Full-data loss after 3 shuffled epochs of mini-batch Adam (lr 1e-2, seed 0).

    The loss runs as a Python objective (the same loop source as the compiled
    epoch, nothing to compile): the number, not the speed, is tracked.
    """

    params = [[*W.LOSSES]]
    param_names = ["loss"]
    unit = "mean loss"

    def setup(self, loss):
        import fastopt
        from fastopt import losses

        n, d, bs = W.EPOCH_REGIMES["mini-batch 256"]
        X, y = W.loss_data(loss, n, d)
        fun = getattr(losses, loss)
        w0 = np.zeros(d * (y.shape[1] if y.ndim == 2 else 1))
        r = fastopt.minimize(lambda w, X, y: fun(w, X, y), w0, jac=True, data=(X, y),
                             batch_size=bs, options={"epochs": 3, "lr": 1e-2, "seed": 0})
        self.final = float(fun(r.x, X, y)[0])

    def track_final_loss(self, loss):
        return self.final


class EpochW2QualitySuite(W.W2Data):
    """Full-data logistic loss after the one W2 epoch (compare with the peers' below)."""

    params = [_W2_CASES]
    param_names = ["case"]
    unit = "mean loss"

    def setup(self, paths, case):
        X, y, bs = self.load(paths, case)
        _, w = W.fastopt_epoch(X, y, bs, jitted=False)()
        self.final = W.logistic_loss(w, X, y)

    def track_final_loss(self, paths, case):
        return self.final


class PeerJaxEpoch(W.W2Data):
    """jax + optax: ``lax.scan`` over the batches under ``jax.jit`` (the strongest W2 peer)."""

    params = [_W2_CASES]
    param_names = ["case"]

    def setup(self, paths, case):
        self.X, self.y, bs = self.load(paths, case)
        self.run = W.jax_epoch(self.X, self.y, bs)

    def time_epoch(self, paths, case):
        self.run()

    def track_final_loss(self, paths, case):
        return W.logistic_loss(self.run()[1], self.X, self.y)

    track_final_loss.unit = "mean loss"


class PeerTorchEpoch(W.W2Data):
    """A torch loop: autograd logistic loss and fused Adam."""

    params = [_W2_CASES]
    param_names = ["case"]

    def setup(self, paths, case):
        X, y, bs = self.load(paths, case)
        self.run = W.torch_epoch(X, y, bs)

    def time_epoch(self, paths, case):
        self.run()


class PeerNumpyEpoch(W.W2Data):
    """A NumPy loop: batch gradient by two matrix products, Adam in place."""

    params = [_W2_CASES]
    param_names = ["case"]

    def setup(self, paths, case):
        X, y, bs = self.load(paths, case)
        self.run = W.numpy_epoch(X, y, bs)

    def time_epoch(self, paths, case):
        self.run()


class PeerSklearnEpoch(W.W2Data):
    """scikit-learn: SGDClassifier (per-sample SGD) and MLPClassifier() (a logistic
    regression) with its ``adam`` and ``sgd`` solvers, one epoch each."""

    params = ([*W.SKLEARN_MODELS], _W2_CASES)
    param_names = ["model", "case"]

    def setup(self, paths, model, case):
        self.X, self.y, bs = self.load(paths, case)
        self.run = W.sklearn_epoch(self.X, self.y, bs, model)

    def time_epoch(self, paths, model, case):
        self.run()

    def track_final_loss(self, paths, model, case):
        w = self.run()[1]
        return W.logistic_loss(w, self.X, self.y)

    track_final_loss.unit = "mean loss"


class PartialFitSuite:
    """One ``LogisticRegression.partial_fit`` of 32 rows: the per-call overhead of streaming fits."""

    def setup(self):
        X, y = W.partial_fit_data()
        self.run = W.fastopt_partial_fit(X, y)

    def time_partial_fit(self):
        self.run()


class PeerSklearnPartialFit:
    """scikit-learn's ``SGDClassifier.partial_fit`` on the same 32-row batches."""

    def setup(self):
        X, y = W.partial_fit_data()
        self.run = W.sklearn_partial_fit(X, y)  # W.Missing (NotImplementedError): asv skips

    def time_partial_fit(self):
        self.run()
