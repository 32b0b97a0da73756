"""Disentanglement of latent codes with respect to known (continuous or discrete) factors.

Inputs are posterior means ``codes [N, D]`` and ground-truth ``factors [N, K]``. Continuous factors and
codes are discretized into ``bins`` equal-frequency bins where a score needs mutual information.

- ``mig``: mutual information gap (Chen et al. 2018): per factor, the gap between the two codes most
  informative about it, divided by the factor's entropy; averaged over factors.
- ``sap``: separated attribute predictability (Kumar et al. 2018): per factor, the gap between the two
  best single-code linear R^2 scores (fitted on train, scored on test); averaged.
- ``dci``: disentanglement, completeness, informativeness (Eastwood and Williams 2018) from the
  importances of random-forest regressors (fitted on train); informativeness is their test R^2.
- ``interpretability``: AR-VAE's score (Pati and Lerch 2020): per factor, the code with the highest
  normalized mutual information, and the test R^2 of a linear regression from that code alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score

MIN_SAMPLES = 20
"""Fewer samples than this make the binned and fitted scores meaningless."""


def _check(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies of the inputs; raises a clear error on bad shapes, too few samples or NaN."""
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors, dtype=np.float64)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise ValueError(f"codes must be [N, D] and factors [N, K] with equal N, found {codes.shape}, {factors.shape}")
    if len(codes) < MIN_SAMPLES:
        raise ValueError(f"need at least {MIN_SAMPLES} samples to score disentanglement, found {len(codes)}")
    if not (np.isfinite(codes).all() and np.isfinite(factors).all()):
        raise ValueError("codes and factors must be finite (drop samples with unknown factors first)")
    return codes, factors


def discretize(values: np.ndarray, bins: int) -> np.ndarray:
    """Equal-frequency bin indices ``[N, M]`` of each column of ``values [N, M]`` (few distinct values kept)."""
    out = np.empty(values.shape, dtype=np.int64)
    for m, column in enumerate(values.T):
        distinct = np.unique(column)
        if len(distinct) <= bins:
            out[:, m] = np.searchsorted(distinct, column)
        else:
            edges = np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1])
            out[:, m] = np.searchsorted(edges, column, side="right")
    return out


def _one_hot(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """``labels [N, M]`` (integers in ``[0, B)``) as one-hot ``[N, M * B]`` (column ``m * B + b``), and ``B``."""
    width = int(labels.max()) + 1
    out = np.zeros((labels.shape[0], labels.shape[1] * width))
    out[np.arange(labels.shape[0])[:, None], np.arange(labels.shape[1]) * width + labels] = 1.0
    return out, width


def mutual_information(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> np.ndarray:
    """Mutual information (nats) ``[D, K]`` between discretized codes and factors.

    Every joint histogram at once: the one-hot bins of the codes against those of the factors, one matrix
    product, then ``sum p(c, f) log(p(c, f) / (p(c) p(f)))`` per pair (what ``sklearn.metrics.mutual_info_score``
    computes pair by pair, about a thousand times slower for 96 codes and 20 factors).
    """
    c, f = discretize(codes, bins), discretize(factors, bins)
    (c_hot, bc), (f_hot, bf) = _one_hot(c), _one_hot(f)
    d, k, n = c.shape[1], f.shape[1], len(c)
    joint = (c_hot.T @ f_hot).reshape(d, bc, k, bf).transpose(0, 2, 1, 3) / n  # [D, K, Bc, Bf]
    p_c, p_f = joint.sum(axis=3, keepdims=True), joint.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / (p_c * p_f)), 0.0)
    return np.maximum(terms.sum(axis=(2, 3)), 0.0)


def _entropy(labels: np.ndarray) -> float:
    """Entropy (nats) of the empirical distribution of integer ``labels``."""
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _top_gap(matrix: np.ndarray) -> np.ndarray:
    """Per column of ``matrix [D, K]``: largest minus second largest entry (the largest if D == 1)."""
    ordered = np.sort(matrix, axis=0)[::-1]
    return ordered[0] - (ordered[1] if len(ordered) > 1 else 0.0)


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> float:
    """Mutual information gap in [0, 1]."""
    codes, factors = _check(codes, factors)
    mi = mutual_information(codes, factors, bins)
    entropy = np.array([_entropy(column) for column in discretize(factors, bins).T])
    return float(np.mean(_top_gap(mi) / np.maximum(entropy, 1e-12)))


def _split(n: int, seed: int, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / test row indices for the fitted scores."""
    order = np.random.default_rng(seed).permutation(n)
    cut = round(n * (1 - test_fraction))
    return order[:cut], order[cut:]


def _single_code_r2(codes: np.ndarray, factors: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Test R^2 ``[D, K]`` of a least-squares line from each code alone to each factor (floored at 0).

    The ``D * K`` one-variable regressions in closed form (slope = cov / var on the train rows), all at once.
    A constant code predicts the train mean; a constant test factor scores 0.
    """
    x, y = codes[train], factors[train]
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc = x - x_mean
    var = (xc**2).sum(axis=0)
    cov = xc.T @ (y - y_mean)  # [D, K]
    slope = np.divide(cov, var[:, None], out=np.zeros_like(cov), where=var[:, None] > 0)
    intercept = y_mean[None, :] - slope * x_mean[:, None]
    pred = codes[test][:, :, None] * slope[None] + intercept[None]  # [T, D, K]
    truth = factors[test][:, None, :]
    residual = ((truth - pred) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.divide(total - residual, total, out=np.zeros_like(residual), where=total > 0)
    return np.maximum(r2, 0.0)


def sap(codes: np.ndarray, factors: np.ndarray, seed: int = 0) -> float:
    """Separated attribute predictability in [0, 1]."""
    codes, factors = _check(codes, factors)
    train, test = _split(len(codes), seed)
    return float(np.mean(_top_gap(_single_code_r2(codes, factors, train, test))))


def _normalized_entropy(p: np.ndarray, axis: int) -> np.ndarray:
    """Entropy of distributions along ``axis`` divided by the log of their length."""
    p = p / np.maximum(p.sum(axis=axis, keepdims=True), 1e-12)
    h = -(p * np.log(np.maximum(p, 1e-12))).sum(axis=axis)
    return h / np.log(p.shape[axis]) if p.shape[axis] > 1 else np.zeros_like(h)


def dci(codes: np.ndarray, factors: np.ndarray, seed: int = 0, n_jobs: int | None = -1) -> dict[str, float]:
    """Disentanglement, completeness and informativeness (test R^2), each in [0, 1]; the forests' trees are
    grown on ``n_jobs`` threads (-1: every core; the result does not depend on it)."""
    codes, factors = _check(codes, factors)
    train, test = _split(len(codes), seed)
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    informativeness = []
    for k in range(factors.shape[1]):
        forest = RandomForestRegressor(n_estimators=50, max_depth=8, random_state=seed, n_jobs=n_jobs)
        forest.fit(codes[train], factors[train, k])
        importance[:, k] = forest.feature_importances_
        informativeness.append(max(0.0, r2_score(factors[test, k], forest.predict(codes[test]))))
    weight = importance.sum(axis=1) / max(importance.sum(), 1e-12)
    disentanglement = float(np.sum(weight * (1 - _normalized_entropy(importance, axis=1))))
    completeness = float(np.mean(1 - _normalized_entropy(importance, axis=0)))
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness": float(np.mean(informativeness)),
    }


def interpretability(codes: np.ndarray, factors: np.ndarray, bins: int = 20, seed: int = 0) -> float:
    """AR-VAE interpretability in [0, 1]: test R^2 from the single most informative code, per factor."""
    codes, factors = _check(codes, factors)
    mi = mutual_information(codes, factors, bins)
    code_entropy = np.array([_entropy(column) for column in discretize(codes, bins).T])
    best = np.argmax(mi / np.maximum(code_entropy, 1e-12)[:, None], axis=0)
    train, test = _split(len(codes), seed)
    scores = [_single_code_r2(codes[:, [j]], factors[:, [k]], train, test)[0, 0] for k, j in enumerate(best)]
    return float(np.mean(scores))


def disentanglement_report(codes: np.ndarray, factors: np.ndarray, seed: int = 0) -> dict[str, float]:
    """MIG, SAP, DCI and interpretability of ``codes [N, D]`` against ``factors [N, K]``."""
    return {
        "mig": mig(codes, factors),
        "sap": sap(codes, factors, seed),
        **{f"dci_{name}": value for name, value in dci(codes, factors, seed).items()},
        "interpretability": interpretability(codes, factors, seed=seed),
    }
