"""fastopt.models: scikit-learn compatible LinearRegression / LogisticRegression.

What is shown here:

* parity: on real data (standardized) the estimators reach the regularized
  objective that scikit-learn's LogisticRegression / Ridge / Lasso /
  ElasticNet (and scipy for Huber) reach, to far better than 1e-4 relative;
* every regularizer does what it should (L2 shrinks and spares the
  intercept, L1 gives exact zeros, elastic net lies between, early stopping
  restores the best epoch, label smoothing softens the probabilities);
* scikit-learn's estimator checks, one test per check, and the estimators
  inside cross_val_score, GridSearchCV, Pipeline and BaggingClassifier;
* partial_fit resumes the optimizer; bad input gives clear errors;
* without scikit-learn the same classes work on small stand-ins.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastopt
from fastopt import losses, models
from fastopt.models import LinearRegression, LogisticRegression

from scipy.optimize import minimize as scipy_minimize
from scipy.special import logsumexp

try:
    from sklearn import linear_model as sk_lm
    from sklearn.base import clone
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
    from sklearn.ensemble import BaggingClassifier
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.estimator_checks import parametrize_with_checks
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")
# Short default fits on the checks' toy data do not meet tol: ConvergenceWarning is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*hasn't converged yet")


# ---------------------------------------------------------------------------
# data and objectives
# ---------------------------------------------------------------------------

def _standardized(loader, standardize_y=False):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if standardize_y:
        y = (y - y.mean()) / y.std()
    return X, y


@pytest.fixture(scope="module")
def cancer():
    return _standardized(load_breast_cancer)


@pytest.fixture(scope="module")
def iris():
    return _standardized(load_iris)


@pytest.fixture(scope="module")
def diabetes():
    return _standardized(load_diabetes, standardize_y=True)


def logistic_objective(coef, intercept, X, y, alpha):
    """Mean cross-entropy + alpha/2 ||coef||^2, for sklearn-shaped coef_ (k or 1 rows)."""
    classes = np.unique(y)
    Z = X @ np.atleast_2d(coef).T + intercept
    if Z.shape[1] == 1:
        z, t = Z[:, 0], (y == classes[1]).astype(float)
        loss = np.mean(np.logaddexp(0.0, z) - t * z)
    else:
        idx = np.searchsorted(classes, y)
        loss = np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), idx])
    return loss + 0.5 * alpha * np.sum(coef ** 2)


def regression_objective(coef, intercept, X, y, l2=0.0, l1=0.0):
    """0.5 * mean squared residual + l2/2 ||coef||^2 + l1 ||coef||_1."""
    r = X @ coef + intercept - y
    return 0.5 * np.mean(r ** 2) + 0.5 * l2 * coef @ coef + l1 * np.abs(coef).sum()


def huber_objective(w, X, y, delta, alpha):
    r = np.abs(X @ w[:-1] + w[-1] - y)
    loss = np.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))
    return loss.mean() + 0.5 * alpha * w[:-1] @ w[:-1]


def rel(a, b):
    return abs(a - b) / abs(b)


# Full-batch runs long enough to converge (each takes well under a second).
FULL_BATCH = dict(batch_size=None, tol=None, random_state=0)


# ---------------------------------------------------------------------------
# parity with scikit-learn: the same regularized objective
# ---------------------------------------------------------------------------

@needs_sklearn
def test_binary_logistic_reaches_sklearn_objective(cancer):
    # mean loss + alpha/2 ||w||^2 = alpha * (C * sum loss + 1/2 ||w||^2) with C = 1/(n alpha)
    X, y = cancer
    alpha, n = 1e-3, len(y)
    ref = sk_lm.LogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=100_000).fit(X, y)
    ours = LogisticRegression(alpha=alpha, lr=0.05, epochs=2000, **FULL_BATCH).fit(X, y)
    f_ref = logistic_objective(ref.coef_, ref.intercept_, X, y, alpha)
    f_ours = logistic_objective(ours.coef_, ours.intercept_, X, y, alpha)
    assert rel(f_ours, f_ref) < 1e-6
    assert ours.coef_.shape == (1, X.shape[1]) and ours.intercept_.shape == (1,)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    assert np.mean(ours.predict(X) == ref.predict(X)) > 0.99
    # loss_curve_ is the objective (no L1 here) at each epoch, decreasing to the optimum
    assert len(ours.loss_curve_) == ours.n_iter_ == 2000
    assert ours.loss_curve_[-1] == pytest.approx(f_ours, rel=1e-6)


@needs_sklearn
def test_multinomial_logistic_reaches_sklearn_objective(iris):
    X, y = iris
    alpha, n = 1e-3, len(y)
    ref = sk_lm.LogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=100_000).fit(X, y)
    ours = LogisticRegression(alpha=alpha, lr=0.05, epochs=2000, **FULL_BATCH).fit(X, y)
    f_ref = logistic_objective(ref.coef_, ref.intercept_, X, y, alpha)
    f_ours = logistic_objective(ours.coef_, ours.intercept_, X, y, alpha)
    assert rel(f_ours, f_ref) < 1e-6
    assert ours.coef_.shape == (3, X.shape[1]) and ours.intercept_.shape == (3,)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-4)


@needs_sklearn
def test_ridge_objective(diabetes):
    # 0.5 * mean r^2 + alpha/2 ||w||^2 = (||r||^2 + n alpha ||w||^2) / (2n): Ridge(alpha=n*alpha)
    X, y = diabetes
    alpha, n = 1e-2, len(y)
    ref = sk_lm.Ridge(alpha=n * alpha, tol=1e-12).fit(X, y)
    ours = LinearRegression(alpha=alpha, lr=0.05, epochs=2000, **FULL_BATCH).fit(X, y)
    f_ref = regression_objective(ref.coef_, ref.intercept_, X, y, l2=alpha)
    f_ours = regression_objective(ours.coef_, ours.intercept_, X, y, l2=alpha)
    assert rel(f_ours, f_ref) < 1e-6
    assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-6)


@needs_sklearn
def test_lasso_objective_and_exact_zeros(diabetes):
    # penalty="l1" with plain SGD (full batch) is proximal gradient descent: Lasso(alpha)
    X, y = diabetes
    alpha = 0.05
    ref = sk_lm.Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    ours = LinearRegression(penalty="l1", alpha=alpha, optimizer="sgd", lr=0.2, epochs=3000,
                            **FULL_BATCH).fit(X, y)
    f_ref = regression_objective(ref.coef_, ref.intercept_, X, y, l1=alpha)
    f_ours = regression_objective(ours.coef_, ours.intercept_, X, y, l1=alpha)
    assert rel(f_ours, f_ref) < 1e-6
    assert np.count_nonzero(ref.coef_ == 0) > 0
    assert_array_equal(ours.coef_ == 0.0, ref.coef_ == 0.0)  # exact zeros, the same ones


@needs_sklearn
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_lasso_and_elasticnet_with_adaptive_optimizers(diabetes, penalty):
    # the L1 step scaled by each coordinate's step size: Adam & co. reach the exact solution
    X, y = diabetes
    alpha, ratio = 0.05, 0.5
    if penalty == "l1":
        ref = sk_lm.Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
        kw = dict(l1=alpha)
    else:
        ref = sk_lm.ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-12, max_iter=100_000).fit(X, y)
        kw = dict(l1=alpha * ratio, l2=alpha * (1 - ratio))
    f_ref = regression_objective(ref.coef_, ref.intercept_, X, y, **kw)
    assert np.count_nonzero(ref.coef_ == 0) > 0
    cosine = fastopt.schedules.CosineAnnealingLR
    for optimizer, lr in [("adam", 0.05), ("rmsprop", cosine(0.01, 3000)),
                          ("adagrad", cosine(0.5, 3000))]:
        ours = LinearRegression(penalty=penalty, alpha=alpha, l1_ratio=ratio, optimizer=optimizer,
                                lr=lr, epochs=3000, **FULL_BATCH).fit(X, y)
        f_ours = regression_objective(ours.coef_, ours.intercept_, X, y, **kw)
        assert rel(f_ours, f_ref) < 1e-9, optimizer
        assert_array_equal(ours.coef_ == 0.0, ref.coef_ == 0.0)  # exact zeros, the same ones


@needs_sklearn
def test_elasticnet_objective(diabetes):
    # alpha (r ||w||_1 + (1 - r)/2 ||w||^2): sklearn's ElasticNet(alpha, l1_ratio=r)
    X, y = diabetes
    alpha, ratio = 0.05, 0.5
    ref = sk_lm.ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-12, max_iter=100_000).fit(X, y)
    ours = LinearRegression(penalty="elasticnet", alpha=alpha, l1_ratio=ratio, optimizer="sgd",
                            lr=0.2, epochs=3000, **FULL_BATCH).fit(X, y)
    kw = dict(l1=alpha * ratio, l2=alpha * (1 - ratio))
    f_ref = regression_objective(ref.coef_, ref.intercept_, X, y, **kw)
    f_ours = regression_objective(ours.coef_, ours.intercept_, X, y, **kw)
    assert rel(f_ours, f_ref) < 1e-6
    assert_array_equal(ours.coef_ == 0.0, ref.coef_ == 0.0)


@needs_sklearn
def test_huber_objective_matches_scipy(diabetes):
    X, y = diabetes
    y = y.copy()
    y[::25] += 8.0  # outliers
    alpha, delta = 1e-2, 0.5
    # A decaying lr: with a constant one Adam is still 1e-6 away after 3000 epochs.
    lr = fastopt.schedules.CosineAnnealingLR(0.05, T_max=3000)
    ours = LinearRegression(loss="huber", delta=delta, alpha=alpha, lr=lr, epochs=3000,
                            **FULL_BATCH).fit(X, y)
    ref = scipy_minimize(huber_objective, np.zeros(X.shape[1] + 1), args=(X, y, delta, alpha),
                         method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12,
                                                     "maxiter": 10_000})
    f_ours = huber_objective(np.append(ours.coef_, ours.intercept_), X, y, delta, alpha)
    assert f_ours <= ref.fun * (1 + 1e-6)
    assert rel(f_ours, ref.fun) < 1e-5
    # and it is less pulled by the outliers than the squared loss
    squared = LinearRegression(alpha=alpha, lr=0.05, epochs=3000, **FULL_BATCH).fit(X, y)
    clean = ~np.isin(np.arange(len(y)), np.arange(0, len(y), 25))
    assert ours.score(X[clean], y[clean]) > squared.score(X[clean], y[clean])


# ---------------------------------------------------------------------------
# each regularizer changes what it should
# ---------------------------------------------------------------------------

@needs_sklearn
def test_l2_shrinks_coefficients_but_not_the_intercept(diabetes, cancer):
    X, y = diabetes
    y = y + 3.0
    norms = [np.linalg.norm(LinearRegression(alpha=a, epochs=300, **FULL_BATCH).fit(X, y).coef_)
             for a in (0.0, 0.1, 1.0, 10.0)]
    assert all(a > b for a, b in zip(norms, norms[1:]))
    strong = LinearRegression(alpha=1e4, epochs=300, **FULL_BATCH).fit(X, y)
    assert np.abs(strong.coef_).max() < 1e-3
    assert strong.intercept_ == pytest.approx(y.mean(), abs=1e-3)  # intercept unpenalized
    Xc, yc = cancer
    strong = LogisticRegression(alpha=1e4, epochs=300, **FULL_BATCH).fit(Xc, yc)
    assert np.abs(strong.coef_).max() < 1e-3
    p = yc.mean()
    assert strong.intercept_[0] == pytest.approx(math.log(p / (1 - p)), abs=1e-3)


@needs_sklearn
def test_no_penalty_equals_zero_alpha(cancer):
    X, y = cancer
    a = LogisticRegression(penalty=None, alpha=10.0, epochs=20, random_state=0, tol=None).fit(X, y)
    b = LogisticRegression(alpha=0.0, epochs=20, random_state=0, tol=None).fit(X, y)
    assert_array_equal(a.coef_, b.coef_)


@needs_sklearn
def test_l1_exact_zeros_and_elasticnet_in_between(cancer):
    X, y = cancer
    common = dict(optimizer="sgd", lr=0.5, epochs=400, alpha=0.02, **FULL_BATCH)
    l2 = LogisticRegression(penalty="l2", **common).fit(X, y)
    enet = LogisticRegression(penalty="elasticnet", l1_ratio=0.5, **common).fit(X, y)
    l1 = LogisticRegression(penalty="l1", **common).fit(X, y)
    zeros = [int(np.sum(m.coef_ == 0.0)) for m in (l2, enet, l1)]
    assert zeros[0] == 0
    assert 0 < zeros[1] < zeros[2] < X.shape[1]
    assert l1.intercept_[0] != 0.0  # the intercept is not thresholded
    # a stronger L1 penalty zeroes more coefficients
    stronger = LogisticRegression(penalty="l1", **{**common, "alpha": 0.1}).fit(X, y)
    assert np.sum(stronger.coef_ == 0.0) > zeros[2]
    # the L1 norm shrinks from l2 to elasticnet to l1
    l1_norms = [np.abs(m.coef_).sum() for m in (l2, enet, l1)]
    assert l1_norms[0] > l1_norms[1] > l1_norms[2]


@needs_sklearn
def test_l1_with_a_sign_optimizer_warns(cancer):
    X, y = cancer
    for optimizer in ("rprop", "lion"):
        with pytest.warns(UserWarning, match="gradient's sign"):
            LogisticRegression(penalty="l1", optimizer=optimizer, epochs=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for optimizer in ("sgd", "adam", "adagrad"):
            LogisticRegression(penalty="l1", optimizer=optimizer, epochs=2, tol=None).fit(X, y)
        LogisticRegression(penalty="l2", optimizer="rprop", epochs=2, tol=None).fit(X, y)


def _easy_problem(n=300, d=8):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _overfitting_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 60))
    y = (X[:, 0] + 0.8 * rng.normal(size=120) > 0).astype(int)
    return X, y


def test_early_stopping_restores_the_best_epoch():
    X, y = _overfitting_problem()
    patience, frac = 5, 0.25
    model = LogisticRegression(alpha=0.0, lr=0.05, batch_size=None, epochs=500,
                               early_stopping=True, validation_fraction=frac,
                               n_iter_no_change=patience, tol=0.0, random_state=0).fit(X, y)
    scores = np.asarray(model.validation_scores_)
    best = model.best_epoch_
    assert model.n_iter_ < 500  # stopped early
    assert model.n_iter_ == best + 1 + patience
    assert scores[best] == scores.min() and scores[-1] > scores[best]
    # The kept weights are the best epoch's: recompute the validation loss on the same
    # split (fastopt's: a permutation drawn from the fit's seed, the first ceil(f n) rows).
    perm = np.random.default_rng(models._seed(0)).permutation(len(y))
    val = perm[:math.ceil(frac * len(y))]
    w = np.append(model.coef_[0], model.intercept_)
    f_val, _ = losses.logistic(w, X[val], y[val].astype(float))
    assert f_val == pytest.approx(scores[best], rel=1e-12)
    assert f_val < scores[-1]
    # without early stopping the same run overfits to the end
    plain = LogisticRegression(alpha=0.0, lr=0.05, batch_size=None, epochs=best + 1 + patience,
                               tol=None, random_state=0).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_epoch_ is None


@needs_sklearn
def test_label_smoothing_softens_probabilities(cancer, iris):
    for X, y in (cancer, iris):
        sharp = LogisticRegression(alpha=0.0, epochs=300, **FULL_BATCH).fit(X, y)
        smooth = LogisticRegression(alpha=0.0, epochs=300, label_smoothing=0.2,
                                    **FULL_BATCH).fit(X, y)
        p_sharp, p_smooth = sharp.predict_proba(X), smooth.predict_proba(X)
        assert p_sharp.max() > 0.99
        assert p_smooth.max() < p_sharp.max()
        assert p_smooth.min() > p_sharp.min()
        entropy = [-(p * np.log(p)).sum(axis=1).mean() for p in (p_sharp, p_smooth)]
        assert entropy[1] > entropy[0]
        assert np.mean(smooth.predict(X) == y) > 0.9  # still a good classifier


@needs_sklearn
def test_training_loss_tolerance_stops_and_warns(cancer):
    X, y = cancer
    stopped = LogisticRegression(tol=1e-2, n_iter_no_change=3, epochs=200,
                                 random_state=0).fit(X, y)
    assert stopped.n_iter_ < 200
    full = LogisticRegression(tol=None, epochs=30, random_state=0).fit(X, y)
    assert full.n_iter_ == 30 and len(full.loss_curve_) == 30
    with pytest.warns(models.ConvergenceWarning, match="hasn't converged"):
        LogisticRegression(tol=1e-12, epochs=5, random_state=0).fit(X, y)


# ---------------------------------------------------------------------------
# scikit-learn's estimator checks, one test each
# ---------------------------------------------------------------------------

if HAVE_SKLEARN:
    @parametrize_with_checks([LogisticRegression(), LinearRegression(),
                              LinearRegression(loss="huber")])
    def test_sklearn_estimator_checks(estimator, check):
        check(estimator)


# ---------------------------------------------------------------------------
# inside scikit-learn's tools
# ---------------------------------------------------------------------------

@needs_sklearn
def test_cross_val_score(diabetes):
    X, y = load_breast_cancer(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(random_state=0)),
                             X, y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.95
    Xd, yd = diabetes
    r2 = cross_val_score(LinearRegression(random_state=0), Xd, yd, cv=3)
    assert r2.mean() > 0.4


@needs_sklearn
def test_grid_search(iris):
    X, y = iris
    search = GridSearchCV(LogisticRegression(random_state=0),
                          {"alpha": [1e-4, 1.0], "optimizer": ["adam", "rmsprop"]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["alpha"] == 1e-4
    assert search.best_score_ > 0.9
    assert isinstance(search.best_estimator_, LogisticRegression)
    assert search.score(X, y) > 0.9


@needs_sklearn
def test_bagging_classifier(iris):
    X, y = iris
    bag = BaggingClassifier(LogisticRegression(random_state=0), n_estimators=5, max_samples=0.7,
                            random_state=0).fit(X, y)
    proba = bag.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert bag.score(X, y) > 0.9
    assert len(bag.estimators_) == 5


@needs_sklearn
def test_string_labels_and_probability_columns(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression(random_state=0).fit(X, names)
    assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert set(model.predict(X)) <= set(names)
    assert np.mean(model.predict(X) == names) > 0.9
    proba = model.predict_proba(X)
    assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    binary = LogisticRegression(random_state=0).fit(X[y > 0], names[y > 0])
    assert binary.decision_function(X).shape == (len(X),)
    assert_array_equal(binary.predict_proba(X).argmax(axis=1) == 1,
                       binary.decision_function(X) > 0)


def test_label_check_fast_path_accepts_what_check_classification_targets_accepts():
    """Numeric labels skip type_of_target only where it would accept them."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    labels = (X[:, 0] > 0).astype(np.int64)
    for y in (labels, labels.astype(bool), labels.astype(np.uint8), labels * 2.0 - 1.0,
              labels.astype(np.float32) + 3):
        model = LogisticRegression(epochs=2, random_state=0, tol=None).fit(X, y)
        assert_array_equal(model.classes_, np.unique(y))
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression(epochs=2).fit(X, labels + 0.5)
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression(epochs=2).fit(X, np.where(labels, 0.25, 1.0))


def test_plain_arrays_skip_validation_with_the_same_result():
    """Plain float64 arrays take the short validation path; any other form of the same data
    goes through validate_data: the same model, bit for bit, and the same predictions."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.float64)
    assert models._plain(X, y) and not models._plain(X.tolist(), y)
    assert not models._plain(np.asfortranarray(X), y) and not models._plain(X, y.tolist())
    assert not models._plain(np.where(np.eye(60, 4) > 0, np.nan, X), y)
    big = np.full((2, 2), 1e308)  # finite entries whose sum overflows: the long way
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning on the way
        assert not models._plain(big)
        assert not models._plain(np.array([[np.inf, -np.inf]]))
    assert_array_equal(models._validate_data(LinearRegression(), big), big)  # and accepted
    for make, target in ((LogisticRegression, y), (LinearRegression, X @ np.arange(4.0))):
        fast = make(epochs=3, random_state=0, tol=None).fit(X, target)
        slow = make(epochs=3, random_state=0, tol=None).fit(X.tolist(), target.tolist())
        assert fast.n_features_in_ == slow.n_features_in_ == 4
        assert_array_equal(fast.coef_, slow.coef_)
        assert_array_equal(fast.predict(X), slow.predict(X.tolist()))
        fast.partial_fit(X[:10], target[:10])
        slow.partial_fit(np.asfortranarray(X[:10]), list(target[:10]))
        assert_array_equal(fast.coef_, slow.coef_)


def test_int_random_state_seed_is_the_random_state_draw():
    """The per-int cache returns the draw check_random_state(int) makes, for any int type."""
    for seed in (0, 7, np.int64(7), np.int32(123456)):
        expected = int(np.random.RandomState(int(seed)).randint(np.iinfo(np.int32).max))
        assert models._seed(seed) == expected
        assert models._seed(seed) == expected  # cached
    state = np.random.RandomState(5)
    first, second = models._seed(state), models._seed(state)
    assert first != second  # a RandomState instance is drawn from, never cached


@needs_sklearn
def test_params_clone_pickle(cancer):
    X, y = cancer
    model = LogisticRegression(alpha=0.1, optimizer="nadam", random_state=3, epochs=5)
    params = model.get_params()
    assert params["alpha"] == 0.1 and params["optimizer"] == "nadam"
    assert set(params) == {"optimizer", "lr", "batch_size", "epochs", "alpha", "penalty",
                           "l1_ratio", "fit_intercept", "early_stopping", "validation_fraction",
                           "n_iter_no_change", "tol", "label_smoothing", "random_state",
                           "verbose"}
    assert "alpha=0.1" in repr(model)
    assert model.set_params(lr=0.2) is model and model.lr == 0.2
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(momentum=0.9)
    fitted = model.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    twin = clone(fitted)
    assert not hasattr(twin, "coef_") and twin.get_params() == fitted.get_params()
    assert_array_equal(twin.fit(X, y).coef_, fitted.coef_)  # same random_state, same fit


@needs_sklearn
def test_float32_and_int_inputs_give_float64_weights(cancer):
    X, y = cancer
    m32 = LogisticRegression(epochs=5, random_state=0).fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float64
    Xi = np.round(X * 4).astype(np.int64)
    mi = LinearRegression(epochs=5, random_state=0).fit(Xi, y)
    assert mi.coef_.dtype == np.float64 and np.isfinite(mi.predict(Xi)).all()


@needs_sklearn
def test_all_registry_optimizers_fit(iris):
    X, y = iris
    for name in fastopt.METHODS:
        lr = {"adadelta": 1.0, "lion": 0.005}.get(name, 0.05)
        model = LogisticRegression(optimizer=name, lr=lr, epochs=60, random_state=0, tol=None)
        assert model.fit(X, y).score(X, y) > 0.8, name


# ---------------------------------------------------------------------------
# partial_fit
# ---------------------------------------------------------------------------

@needs_sklearn
def test_partial_fit_resumes_the_optimizer(cancer):
    # Full batch: k partial_fit calls equal one fit of k epochs (the shuffle only changes
    # the order of the sums), which holds only because Adam's moments and step count carry over.
    X, y = cancer
    k = 8
    fitted = LogisticRegression(epochs=k, **FULL_BATCH).fit(X, y)
    online = LogisticRegression(**FULL_BATCH)
    for _ in range(k):
        online.partial_fit(X, y, classes=[0, 1])
    assert online.n_iter_ == k and online.t_ == k and len(online.loss_curve_) == k
    assert_allclose(online.coef_, fitted.coef_, rtol=1e-9, atol=1e-12)
    assert_allclose(online.loss_curve_, fitted.loss_curve_, rtol=1e-9)
    # a fresh optimizer each call (what resuming avoids) ends elsewhere
    restarted = LogisticRegression(**FULL_BATCH).partial_fit(X, y, classes=[0, 1])
    for _ in range(k - 1):
        restarted._optimizer_state = None
        restarted.partial_fit(X, y)
    assert not np.allclose(restarted.coef_, fitted.coef_, rtol=1e-3)
    # partial_fit after fit continues it
    cont = clone(fitted).fit(X, y).partial_fit(X, y)
    assert cont.n_iter_ == k + 1


@needs_sklearn
def test_partial_fit_minibatches_and_classes(iris):
    X, y = iris
    model = LogisticRegression(random_state=0, batch_size=16)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    order = np.random.default_rng(0).permutation(len(y))
    first = order[:50][y[order[:50]] != 2]  # the first chunk lacks class 2
    model.partial_fit(X[first], y[first], classes=[0, 1, 2])
    assert model.coef_.shape == (3, 4)
    for _ in range(20):
        for chunk in np.array_split(order, 5):
            model.partial_fit(X[chunk], y[chunk])
    assert model.score(X, y) > 0.9
    # one loss per call, the list extended in place (no copy per call over a long stream)
    curve = model.loss_curve_
    assert isinstance(curve, list) and len(curve) == model.n_iter_ == 101
    model.partial_fit(X[order[:10]], y[order[:10]])
    assert model.loss_curve_ is curve and len(curve) == 102
    with pytest.raises(ValueError, match="not the same as on the last call"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not in classes_"):
        model.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :3], y)
    reg = LinearRegression(random_state=0)
    for _ in range(30):
        reg.partial_fit(X[:, 1:], X[:, 0])
    best = sk_lm.LinearRegression().fit(X[:, 1:], X[:, 0]).score(X[:, 1:], X[:, 0])
    assert reg.n_iter_ == 30 and reg.score(X[:, 1:], X[:, 0]) > best - 0.1


# ---------------------------------------------------------------------------
# bad input: clear errors
# ---------------------------------------------------------------------------

X_OK = np.random.default_rng(0).normal(size=(20, 3))
Y_CLS = np.arange(20) % 2
Y_REG = X_OK @ np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("make, X, y, error, match", [
    (LogisticRegression, X_OK, Y_CLS[:-1], ValueError, "inconsistent numbers of samples"),
    (LinearRegression, X_OK[:-2], Y_REG, ValueError, "inconsistent numbers of samples"),
    (LogisticRegression, np.where(np.eye(20, 3) > 0, np.nan, X_OK), Y_CLS, ValueError, "NaN"),
    (LinearRegression, np.where(np.eye(20, 3) > 0, np.inf, X_OK), Y_REG, ValueError, "infinity"),
    (LinearRegression, X_OK, np.where(np.arange(20) == 4, np.nan, Y_REG), ValueError,
     "y contains NaN"),
    (LogisticRegression, X_OK, Y_REG, ValueError, "Unknown label type"),
    (LogisticRegression, X_OK, np.zeros(20), ValueError, "only one class"),
    (LogisticRegression, X_OK[0], Y_CLS[:1], ValueError, "2D array"),
    (LinearRegression, X_OK, None, ValueError, "requires y"),
])
def test_bad_data(make, X, y, error, match):
    with pytest.raises(error, match=match):
        make().fit(X, y)


@pytest.mark.parametrize("make, params, error, match", [
    (LogisticRegression, {"batch_size": 0}, ValueError, "batch_size must be a positive int"),
    (LinearRegression, {"batch_size": -5}, ValueError, "batch_size must be a positive int"),
    (LogisticRegression, {"batch_size": 2.5}, TypeError, "batch_size"),
    (LogisticRegression, {"optimizer": "adamm"}, ValueError, "not a fastopt optimizer.*adam"),
    (LinearRegression, {"optimizer": None}, TypeError, "optimizer must be a str"),
    (LogisticRegression, {"penalty": "l3"}, ValueError, "penalty must be one of"),
    (LinearRegression, {"penalty": "none"}, ValueError, "penalty must be one of"),
    (LinearRegression, {"loss": "absolute"}, ValueError, "loss must be one of"),
    (LinearRegression, {"loss": "huber", "delta": 0.0}, ValueError, "delta must be > 0"),
    (LogisticRegression, {"lr": -1.0}, ValueError, "lr must be > 0"),
    (LogisticRegression, {"lr": "fast"}, TypeError, "lr must be"),
    (LogisticRegression, {"alpha": -1.0}, ValueError, "alpha must be >= 0"),
    (LogisticRegression, {"l1_ratio": 1.5}, ValueError, "l1_ratio must be <= 1"),
    (LogisticRegression, {"epochs": 0}, ValueError, "epochs must be >= 1"),
    (LogisticRegression, {"epochs": 2.0}, TypeError, "epochs must be an int"),
    (LogisticRegression, {"label_smoothing": 1.0}, ValueError, "label_smoothing must be < 1"),
    (LogisticRegression, {"validation_fraction": 1.0, "early_stopping": True}, ValueError,
     "validation_fraction must be < 1"),
    (LogisticRegression, {"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1"),
    (LogisticRegression, {"tol": -1e-3}, ValueError, "tol must be >= 0"),
    (LogisticRegression, {"fit_intercept": "yes"}, TypeError, "fit_intercept must be a bool"),
])
def test_bad_parameters_fail_in_fit_not_in_init(make, params, error, match):
    model = make(**params)  # __init__ and set_params only store
    make().set_params(**params)
    y = Y_CLS if make is LogisticRegression else Y_REG
    with pytest.raises(error, match=match):
        model.fit(X_OK, y)


def test_not_fitted_and_feature_mismatch():
    for model in (LogisticRegression(), LinearRegression()):
        with pytest.raises(models.NotFittedError):
            model.predict(X_OK)
    clf = LogisticRegression(epochs=3).fit(X_OK, Y_CLS)
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is "
                                             "expecting 3"):
            method(X_OK[:, :2])


def test_divergence_is_an_error():
    X = X_OK * 1e3
    with pytest.raises(ValueError, match="non-finite.*smaller lr"):
        LinearRegression(optimizer="sgd", lr=10.0, epochs=50, tol=None).fit(X, Y_REG * 1e3)


# ---------------------------------------------------------------------------
# progress, compiled loop, top-level names, no scikit-learn
# ---------------------------------------------------------------------------

def test_verbose_progress_bar_and_epoch_lines(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    X, y = _easy_problem()
    monkeypatch.setattr(models, "PROGRESS_DELAY", 0.0)
    LogisticRegression(epochs=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert "epoch" in out.err and "epoch 1/3" not in out.out
    LogisticRegression(epochs=3, verbose=2, random_state=0).fit(X, y)
    assert "epoch 1/3: loss" in capsys.readouterr().out
    monkeypatch.setattr(models, "PROGRESS_DELAY", 60.0)  # a short fit shows no bar
    LogisticRegression(epochs=3, verbose=1, random_state=0).fit(X, y)
    assert "epoch" not in capsys.readouterr().err


def test_verbose_without_tqdm_prints_epochs(capsys, monkeypatch):
    X, y = _easy_problem()
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    LogisticRegression(epochs=2, verbose=1, random_state=0).fit(X, y)
    assert "epoch 2/2: loss" in capsys.readouterr().out


def test_compiled_loop_matches_python_loop(monkeypatch):
    # Long fits run the compiled epoch loop; it must give the Python loop's result.
    from fastopt import training

    X, y = _easy_problem()
    params = dict(epochs=5, batch_size=64, random_state=0, tol=None)
    w = np.zeros(X.shape[1] + 1)
    with monkeypatch.context() as m:
        m.setattr(training, "epoch_ready", lambda *args: False)
        m.setattr(models, "_PYTHON_STEPS", {})
        assert models._objective("logistic", "adam", 1, w, 64, 0) is models._PYTHON["logistic"]
        python = LogisticRegression(**params).fit(X, y)
    monkeypatch.setattr(models, "COMPILE_STEPS", 1)
    compiled = LogisticRegression(**params).fit(X, y)
    assert models._objective("logistic", "adam", 1, w, 64, 0) is models._JITTED["logistic"]
    assert_array_equal(compiled.coef_, python.coef_)
    assert_array_equal(compiled.loss_curve_, python.loss_curve_)


def test_many_small_fits_switch_to_the_compiled_loop(monkeypatch):
    """COMPILE_STEPS Python-loop steps of one (loss, optimizer) in a process, over any
    number of fits, and the next fit runs compiled; other pairs keep their own count."""
    from fastopt import training

    monkeypatch.setattr(training, "epoch_ready", lambda *args: False)
    monkeypatch.setattr(models, "_PYTHON_STEPS", {})
    monkeypatch.setattr(models, "COMPILE_STEPS", 50)
    w = np.zeros(4)
    chosen = [models._objective("logistic", "adam", 20, w, 8, 0) for _ in range(4)]
    assert chosen == [models._PYTHON["logistic"]] * 3 + [models._JITTED["logistic"]]
    assert models._objective("logistic", "sgd", 20, w, 8, 0) is models._PYTHON["logistic"]
    assert models._objective("squared", "adam", 50, w, 8, 0) is models._JITTED["squared"]


_DISK_EPOCH_CHILD = """
import json, sys
import numpy as np
from fastopt import losses, models, training
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 4)); y = (X[:, 0] + 0.5 * rng.standard_normal(300) > 0) * 1.0
w = np.zeros(5)
ready = training.epoch_ready(losses.logistic, "adam", 2, w, 32)
chosen = models._objective("logistic", "adam", 30, w, 32, 0) is models._JITTED["logistic"]
params = dict(epochs=3, batch_size=32, random_state=0, tol=None)
fits = [models.LogisticRegression(**params).fit(X, y).coef_.tolist()]
if sys.argv[1] == "first":  # a long fit: compiles the epoch, which Numba saves
    models.COMPILE_STEPS = 1
    fits.append(models.LogisticRegression(**params).fit(X, y).coef_.tolist())
print(json.dumps(dict(ready=ready, chosen=chosen, fits=fits)))
"""


def test_small_fits_use_the_epoch_from_the_disk_cache(tmp_path):
    """Once a compiled epoch is on disk, a new process runs even a short fit through it
    (loading takes less than the Python loop saves), with the Python loop's result."""
    import json

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    runs = []
    for which in ("first", "second"):
        out = subprocess.run([sys.executable, "-c", _DISK_EPOCH_CHILD, which], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert (first["ready"], first["chosen"]) == (False, False)  # nothing on disk yet
    assert (second["ready"], second["chosen"]) == (True, True)
    python, compiled = first["fits"]
    assert compiled == python and second["fits"] == [python]


def test_top_level_names():
    if not hasattr(fastopt, "LogisticRegression"):
        pytest.skip("fastopt/__init__.py does not export the estimators yet")
    assert fastopt.LogisticRegression is LogisticRegression
    assert fastopt.LinearRegression is LinearRegression


def test_without_sklearn():
    script = textwrap.dedent("""
        import sys, pickle, warnings
        sys.modules["sklearn"] = None          # import sklearn now fails
        import numpy as np
        from fastopt import models
        from fastopt.models import LinearRegression, LogisticRegression
        assert not models.HAVE_SKLEARN
        rng = np.random.default_rng(0)
        X = rng.normal(size=(150, 4))
        y = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
        clf = LogisticRegression(random_state=0, epochs=200)
        assert "LogisticRegression(epochs=200, random_state=0)" == repr(clf), repr(clf)
        try:
            clf.predict(X)
        except models.NotFittedError as exc:
            assert isinstance(exc, ValueError) and isinstance(exc, AttributeError)
        else:
            raise AssertionError("no NotFittedError")
        clf.fit(X, y)
        assert clf.score(X, y) > 0.9, clf.score(X, y)
        assert clf.n_features_in_ == 4
        assert clf.set_params(alpha=0.5) is clf and clf.get_params()["alpha"] == 0.5
        clf2 = pickle.loads(pickle.dumps(clf))
        assert (clf2.predict(X) == clf.predict(X)).all()
        reg = LinearRegression(random_state=0, tol=None).fit(X, X @ [1.0, 2.0, 0.0, -1.0] + 3)
        assert reg.score(X, X @ [1.0, 2.0, 0.0, -1.0] + 3) > 0.99
        for bad, match in [(lambda: reg.predict(X[:, :2]), "expecting 4 features"),
                           (lambda: LinearRegression().fit(X, np.full(150, np.nan)), "NaN"),
                           (lambda: LinearRegression().fit(X[:5], np.ones(4)), "inconsistent"),
                           (lambda: LogisticRegression().fit(X, X[:, 0]), "Unknown label type"),
                           (lambda: LogisticRegression().set_params(foo=1), "Invalid parameter"),
                           (lambda: LinearRegression(batch_size=0).fit(X, X[:, 0]), "batch_size")]:
            try:
                bad()
            except ValueError as exc:
                assert match in str(exc), (match, str(exc))
            else:
                raise AssertionError(match)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            reg.fit(X, (X @ [1.0, 2.0, 0.0, -1.0])[:, None])
        assert any("column-vector y" in str(x.message) for x in w)
        print("OK")
    """)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastopt.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
