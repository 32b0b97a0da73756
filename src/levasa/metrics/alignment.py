"""Agreement between a valence-arousal readout and the truth, per axis (the affect community's metrics).

All functions take 1-d arrays of predictions and targets of equal length, ignore pairs where either is
NaN, and return plain floats. ``ccc`` is Lin's concordance correlation coefficient
``2 cov(p, g) / (var p + var g + (mean p - mean g)^2)`` with population (biased) moments; ``sagr`` is the
sign agreement ``mean(sign(p) == sign(g))``.
"""

from __future__ import annotations

import numpy as np

AXES = ("valence", "arousal")


def _pairs(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies of the pairs where both values are known; raises on shape mismatch or no pairs."""
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.ndim != 1 or pred.shape != target.shape:
        raise ValueError(f"pred and target must be 1-d arrays of equal length, found {pred.shape} and {target.shape}")
    known = ~(np.isnan(pred) | np.isnan(target))
    if not known.any():
        raise ValueError("no pair with both prediction and target known")
    return pred[known], target[known]


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error."""
    p, g = _pairs(pred, target)
    return float(np.mean((p - g) ** 2))


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error (of each pair's error, not of the mean error)."""
    p, g = _pairs(pred, target)
    return float(np.mean(np.abs(p - g)))


def pearson(pred: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant."""
    p, g = _pairs(pred, target)
    sp, sg = p.std(), g.std()
    if sp == 0 or sg == 0:
        return float("nan")
    return float(np.mean((p - p.mean()) * (g - g.mean())) / (sp * sg))


def ccc(pred: np.ndarray, target: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (1 = identical, 0 = unrelated or constant prediction)."""
    p, g = _pairs(pred, target)
    denominator = p.var() + g.var() + (p.mean() - g.mean()) ** 2
    if denominator == 0:
        return 1.0
    return float(2 * np.mean((p - p.mean()) * (g - g.mean())) / denominator)


def sagr(pred: np.ndarray, target: np.ndarray) -> float:
    """Sign agreement rate: the share of pairs whose signs agree."""
    p, g = _pairs(pred, target)
    return float(np.mean(np.sign(p) == np.sign(g)))


def alignment_report(pred: np.ndarray, target: np.ndarray) -> dict[str, dict[str, float]]:
    """Every metric per axis for readouts ``pred [N, 2]`` against ``target [N, 2]`` (valence, arousal)."""
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.ndim != 2 or pred.shape[1] != 2 or pred.shape != target.shape:
        raise ValueError(f"pred and target must both be [N, 2], found {pred.shape} and {target.shape}")
    metrics = {"mse": mse, "mae": mae, "pearson": pearson, "ccc": ccc, "sagr": sagr}
    return {axis: {name: fn(pred[:, i], target[:, i]) for name, fn in metrics.items()} for i, axis in enumerate(AXES)}
