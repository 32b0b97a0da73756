"""Probes: how much of a label a representation holds, measured on held-out samples.

Each probe is fitted on a train split of the features and scored on a separate test split, never on
the data it was fitted on. Features are standardized by a scaler fitted on the train split only
(inside a scikit-learn pipeline), and every random choice is seeded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, mean_absolute_error, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from levasa.metrics.alignment import ccc

PROBE_KINDS = ("linear", "mlp")


def _check_split(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> None:
    """Raise a clear error unless features are 2-d with matching widths and one label per row."""
    if x_train.ndim != 2 or x_test.ndim != 2 or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"features must be [N, D] with equal D, found {x_train.shape} and {x_test.shape}")
    if len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise ValueError(
            f"one label per row expected: {len(x_train)} train rows with {len(y_train)} labels, "
            f"{len(x_test)} test rows with {len(y_test)} labels"
        )


def _probe(kind: str, models: dict[str, Callable[[], BaseEstimator]]) -> Pipeline:
    """Standardize, then the model of ``kind`` (one of :data:`PROBE_KINDS`)."""
    if kind not in models:
        raise ValueError(f"probe kind must be one of {list(PROBE_KINDS)}, found {kind!r}")
    return make_pipeline(StandardScaler(), models[kind]())


def regressor(kind: str, seed: int) -> Pipeline:
    """Standardize, then a ridge regression (``linear``) or a one-hidden-layer MLP (``mlp``)."""
    return _probe(
        kind,
        {
            "linear": lambda: Ridge(alpha=1.0),
            "mlp": lambda: MLPRegressor(hidden_layer_sizes=(64,), max_iter=1000, random_state=seed),
        },
    )


def classifier(kind: str, seed: int) -> Pipeline:
    """Standardize, then a logistic regression (``linear``) or a one-hidden-layer MLP (``mlp``)."""
    return _probe(
        kind,
        {
            "linear": lambda: LogisticRegression(max_iter=2000),
            "mlp": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=seed),
        },
    )


def regression_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    kind: str = "linear",
    seed: int = 0,
) -> dict[str, float]:
    """Fit a regressor from features ``[N, D]`` to a scalar label ``[N]`` on train; r2, mse, mae, ccc on test.

    Rows whose label is NaN are left out of both splits.
    """
    _check_split(x_train, y_train, x_test, y_test)
    train, test = ~np.isnan(y_train), ~np.isnan(y_test)
    model = clone(regressor(kind, seed)).fit(x_train[train], y_train[train])
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
    model = clone(classifier(kind, seed)).fit(x_train[train], y_train[train])
    return classification_scores(y_test[test], model.predict(x_test[test]))


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Scores of always predicting the train split's most frequent known class."""
    train, test = y_train >= 0, y_test >= 0
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((int(train.sum()), 1)), y_train[train])
    return classification_scores(y_test[test], dummy.predict(np.zeros((int(test.sum()), 1))))
