"""Probes: how much of a label a representation holds, measured on held-out samples.

Each probe is fitted on a train split of the features and scored on a separate test split, never on
the data it was fitted on. Features are standardized by a scaler fitted on the train split only
(inside a scikit-learn pipeline), and every random choice is seeded.

Every probe chooses its own regularisation from its train split alone, so that features which hold
nothing about the label score about chance (R² ≈ 0, accuracy ≈ the majority class) rather than far
below it, as an unregularised probe that memorises noise would:

- ``linear`` regression is a ridge whose strength is chosen by efficient leave-one-out CV (``RidgeCV``);
- ``linear`` classification is a logistic regression whose ``C`` is chosen by stratified k-fold CV of
  the log-loss;
- ``mlp`` probes hold out a seeded validation split of the train rows, and on it choose the number of
  epochs (early stopping, best weights kept) and the L2 strength ``alpha``, tried from strongest to
  weakest until the validation score stops improving (validation MSE for regression, log-loss for
  classification).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from levasa.metrics.alignment import ccc

PROBE_KINDS = ("linear", "mlp")

RIDGE_ALPHAS = tuple(np.logspace(-3, 5, 17))  # up to a strength that predicts the train mean
LOGISTIC_CS = tuple(np.logspace(-4, 2, 7))  # from a near-constant (prior) classifier to a barely regularised one
LOGISTIC_FOLDS = 3
GROUP_FOLDS = 5  # subject-grouped folds choosing the ridge strength of grouped probes
MLP_ALPHAS = (1000.0, 100.0, 10.0, 1.0, 0.1)  # tried strongest first (scikit-learn scales alpha by 1 / batch size)
MLP_HIDDEN = 64
MLP_BATCH = 256
MLP_LEARNING_RATE = 5e-3
MLP_VALIDATION_FRACTION = 0.2  # of the train rows, held out to choose epochs and alpha
MLP_PATIENCE = 6  # epochs without a validation gain of MLP_TOL before training stops
MLP_TOL = 1e-4
MLP_MAX_EPOCHS = 300


def _check_split(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> None:
    """Raise a clear error unless features are 2-d with matching widths and one label per row."""
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"features must be [N, D] with equal D, found {x_train.shape} and {x_test.shape}")
    if len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise ValueError(
            f"one label per row expected: {len(x_train)} train rows with {len(y_train)} labels, "
            f"{len(x_test)} test rows with {len(y_test)} labels"
        )


def _validation_split(
    y: np.ndarray, seed: int, stratify: bool, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (fit rows, validation rows) of ``y``; whole groups (subjects) on one side when ``groups`` is given,
    else stratified by class where every class allows it."""
    rows = np.arange(len(y))
    if groups is not None:
        split = GroupShuffleSplit(n_splits=1, test_size=MLP_VALIDATION_FRACTION, random_state=seed)
        return next(split.split(rows, y, groups))
    if stratify:
        counts = np.unique(y, return_counts=True)[1]
        n_val = int(np.ceil(MLP_VALIDATION_FRACTION * len(y)))
        stratify = counts.min() >= 2 and len(counts) <= n_val <= len(y) - len(counts)
    fit, val = train_test_split(
        rows, test_size=MLP_VALIDATION_FRACTION, random_state=seed, stratify=y if stratify else None
    )
    return fit, val


def _log_likelihood(model: BaseEstimator, x: np.ndarray, y: np.ndarray) -> float:
    """Mean log-probability that ``model`` gives the true classes: minus the log-loss, higher is better.

    A scorer for model selection that, unlike scikit-learn's ``neg_log_loss``, copes with a class the model
    was not fitted on (a rare class missing from a CV fold): such rows count as probability 1e-15.
    """
    floor = 1e-15
    proba = np.clip(model.predict_proba(x), floor, 1.0)
    seen = np.isin(y, model.classes_)
    log_p = np.full(len(y), np.log(floor))
    log_p[seen] = np.log(proba[np.flatnonzero(seen), np.searchsorted(model.classes_, y[seen])])
    return float(log_p.mean())


class ValidatedMLP(BaseEstimator):
    """A one-hidden-layer MLP whose epochs and L2 strength are chosen on a validation split of its fit rows.

    The rows given to :meth:`fit` are split (seeded) into fit and validation rows. For each ``alpha`` of
    :data:`MLP_ALPHAS`, strongest first, an MLP is trained on the fit rows epoch by epoch and keeps the
    weights of its best validation epoch; the search stops at the first ``alpha`` that does not beat the
    best so far, and the best network is kept. Only the rows given to :meth:`fit` are ever looked at.
    """

    def __init__(self, classify: bool = False, seed: int = 0):
        self.classify = classify
        self.seed = seed

    def _network(self, alpha: float, n_rows: int) -> MLPClassifier | MLPRegressor:
        network = MLPClassifier if self.classify else MLPRegressor
        # a RandomState instance (not an int) so that each epoch's partial_fit shuffles differently
        return network(
            hidden_layer_sizes=(MLP_HIDDEN,),
            alpha=alpha,
            batch_size=min(MLP_BATCH, n_rows),
            learning_rate_init=MLP_LEARNING_RATE,
            random_state=np.random.RandomState(self.seed),
        )

    def _validation_score(self, network: MLPClassifier | MLPRegressor, x: np.ndarray, y: np.ndarray) -> float:
        """Higher is better: minus the log-loss (classes) or minus the mean squared error (values)."""
        if self.classify:
            return _log_likelihood(network, x, y)
        return -float(mean_squared_error(y, network.predict(x)))

    def _train(
        self, alpha: float, x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray
    ) -> tuple[MLPClassifier | MLPRegressor, float]:
        """An MLP trained with early stopping on the validation rows, its best epoch's weights restored."""
        network = self._network(alpha, len(y_fit))
        extra = {"classes": self.classes_} if self.classify else {}
        best, weights, stale = -np.inf, None, 0
        for _ in range(MLP_MAX_EPOCHS):
            network.partial_fit(x_fit, y_fit, **extra)
            score = self._validation_score(network, x_val, y_val)
            stale = 0 if score > best + MLP_TOL else stale + 1
            if score > best:
                best, weights = score, ([c.copy() for c in network.coefs_], [b.copy() for b in network.intercepts_])
            if stale >= MLP_PATIENCE:
                break
        network.coefs_, network.intercepts_ = weights
        return network, best

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> ValidatedMLP:
        """Fit on ``x [N, D]``, ``y [N]``; with ``groups [N]`` the validation rows are whole groups."""
        x, y = np.asarray(x), np.asarray(y)
        if self.classify:
            self.classes_ = np.unique(y)
        fit, val = _validation_split(y, self.seed, self.classify, groups)
        self.validation_score_ = -np.inf
        for alpha in MLP_ALPHAS:
            network, score = self._train(alpha, x[fit], y[fit], x[val], y[val])
            if score <= self.validation_score_:
                break
            self.network_, self.alpha_, self.validation_score_ = network, alpha, score
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.network_.predict(x)


def _one_blas_thread() -> threadpool_limits:
    """Run BLAS on one thread: probe matrices are small, and extra BLAS threads stall on busy shared cores."""
    return threadpool_limits(limits=1, user_api="blas")


def _probe(kind: str, models: dict[str, Callable[[], BaseEstimator]]) -> Pipeline:
    """Standardize, then the model of ``kind`` (one of :data:`PROBE_KINDS`), as the pipeline step ``model``."""
    if kind not in models:
        raise ValueError(f"probe kind must be one of {list(PROBE_KINDS)}, found {kind!r}")
    return Pipeline([("scale", StandardScaler()), ("model", models[kind]())])


def regressor(kind: str, seed: int, groups: int = 0) -> Pipeline:
    """Standardize, then a CV-tuned ridge (``linear``) or a validated one-hidden-layer MLP (``mlp``).

    ``groups``: the number of groups (subjects) the rows come from, when they are given (0: not): the ridge's
    strength is chosen by k-fold CV over whole groups and the MLP validates on whole groups, so that nothing a
    subject shares across its rows can pass for signal; fit it with ``model__groups=...``. Else the ridge uses
    efficient leave-one-out CV.
    """
    folds = min(GROUP_FOLDS, groups)
    ridge = (
        (lambda: GridSearchCV(Ridge(), {"alpha": RIDGE_ALPHAS}, cv=GroupKFold(folds), scoring="r2"))
        if groups
        else (lambda: RidgeCV(alphas=RIDGE_ALPHAS))
    )
    return _probe(kind, {"linear": ridge, "mlp": lambda: ValidatedMLP(classify=False, seed=seed)})


def classifier(kind: str, seed: int) -> Pipeline:
    """Standardize, then a CV-tuned logistic regression (``linear``) or a validated MLP (``mlp``)."""
    return _probe(
        kind,
        {
            "linear": lambda: GridSearchCV(
                LogisticRegression(max_iter=2000),
                {"C": LOGISTIC_CS},
                scoring=_log_likelihood,
                cv=StratifiedKFold(LOGISTIC_FOLDS, shuffle=True, random_state=seed),
            ),
            "mlp": lambda: ValidatedMLP(classify=True, seed=seed),
        },
    )


def regression_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    kind: str = "linear",
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Fit a regressor from features ``[N, D]`` to a scalar label ``[N]`` on train; r2, mse, mae, ccc on test.

    Rows whose label is NaN are left out of both splits. ``groups [N]`` (the train rows' subjects): the
    regularisation is chosen on folds of whole subjects (see :func:`regressor`), when there are at least two.
    """
    _check_split(x_train, y_train, x_test, y_test)
    train, test = ~np.isnan(y_train), ~np.isnan(y_test)
    groups = None if groups is None else np.asarray(groups)[train]
    n_groups = 0 if groups is None or len(np.unique(groups)) < 2 else len(np.unique(groups))
    fit_params = {"model__groups": groups} if n_groups else {}
    with _one_blas_thread():
        model = clone(regressor(kind, seed, n_groups)).fit(x_train[train], y_train[train], **fit_params)
        pred, truth = model.predict(x_test[test]), y_test[test]
    return {
        "r2": float(r2_score(truth, pred)),
        "mse": float(np.mean((pred - truth) ** 2)),
        "mae": float(mean_absolute_error(truth, pred)),
        "ccc": ccc(pred, truth),
    }


def classification_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro-F1 of predicted classes."""
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
    }


def classification_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    kind: str = "linear",
    seed: int = 0,
) -> dict[str, float]:
    """Fit a classifier from features ``[N, D]`` to classes ``[N]`` on train; scores on test.

    Rows whose class is -1 (unknown) are left out of both splits.
    """
    _check_split(x_train, y_train, x_test, y_test)
    train, test = y_train >= 0, y_test >= 0
    if len(np.unique(y_train[train])) < 2:
        raise ValueError("the train split needs at least two known classes to fit a classifier")
    with _one_blas_thread():
        model = clone(classifier(kind, seed)).fit(x_train[train], y_train[train])
        pred = model.predict(x_test[test])
    return classification_scores(y_test[test], pred)


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Scores of always predicting the train split's most frequent known class."""
    train, test = y_train >= 0, y_test >= 0
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((int(train.sum()), 1)), y_train[train])
    return classification_scores(y_test[test], dummy.predict(np.zeros((int(test.sum()), 1))))
