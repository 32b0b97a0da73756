"""The sections of an evaluation report, computed from encoded train and test splits (no I/O here).

Probes are fitted on (a seeded subsample of) the train split's latents and scored on the test split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from levasa.data.synthetic import bayes_emotion
from levasa.metrics.alignment import AXES, alignment_report
from levasa.metrics.disentanglement import MIN_SAMPLES as MIN_DISENTANGLEMENT_SAMPLES
from levasa.metrics.disentanglement import disentanglement_report
from levasa.metrics.probes import PROBE_KINDS, classification_probe, majority_baseline, regression_probe
from levasa.models.latents import FEATURE_SETS, Latents


def subsample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """At most ``max_rows`` seeded random row indices of ``n``, in order (all of them when there are fewer)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:max_rows])


def alignment_section(test: Latents) -> dict[str, Any]:
    """Readout vs annotated VA per axis (mse, mae, pearson, ccc, sagr), or why there is none."""
    if test.readout is None:
        return {"note": "this model has no VA readout (Vanilla VAE): see va_regression for what its chunks hold"}
    if np.isnan(test.va).all():
        return {"note": "the evaluation split has no VA labels"}
    return alignment_report(test.readout, test.va)


def true_alignment_section(test: Latents) -> dict[str, Any]:
    """Readout vs the true generative VA, where the data knows it (the synthetic set): with transferred labels
    (a category-only variant filled by Algorithm 1) this is what the model recovered, not what it was told."""
    if test.readout is None:
        return {"note": "this model has no VA readout (Vanilla VAE)"}
    if test.factors is None or tuple(test.factor_names[:2]) != ("valence", "arousal"):
        return {"note": "the data has no ground-truth VA"}
    return alignment_report(test.readout, test.factors[:, :2])


def _in_parallel(calls: list[tuple[Callable[..., Any], tuple]], n_jobs: int) -> list[Any]:
    """``[f(*args) for f, args in calls]`` on ``n_jobs`` processes (joblib's loky; -1: one per core, 1: here).

    Each probe is seeded and uses one BLAS thread, so the results do not depend on ``n_jobs``.
    """
    if n_jobs == 1:
        return [f(*args) for f, args in calls]
    return Parallel(n_jobs=n_jobs)(delayed(f)(*args) for f, args in calls)


def va_regression_section(train: Latents, test: Latents, seed: int, n_jobs: int = 1) -> dict[str, Any]:
    """Linear and MLP probes from each chunk to each axis: r2, mse, mae, ccc on the test split."""
    if np.isnan(train.va).all() or np.isnan(test.va).all():
        return {"note": "no VA labels on the train or test split"}
    jobs = [(f, k, i) for f in ("z_v", "z_a", "z_z") for k in PROBE_KINDS for i in range(len(AXES))]
    calls = [
        (regression_probe, (train.features(f), train.va[:, i], test.features(f), test.va[:, i], k, seed))
        for f, k, i in jobs
    ]
    section: dict[str, Any] = {}
    for (feature, kind, i), scores in zip(jobs, _in_parallel(calls, n_jobs), strict=True):
        section.setdefault(feature, {}).setdefault(kind, {})[AXES[i]] = scores
    return section


def emotion_section(train: Latents, test: Latents, seed: int, kind: str = "mlp", n_jobs: int = 1) -> dict[str, Any]:
    """Emotion probes per feature set, the majority baseline and, where true VA exists, the oracle."""
    if (train.emotion < 0).all() or (test.emotion < 0).all():
        return {"note": "no emotion labels on the train or test split"}
    section: dict[str, Any] = {"probe": kind}
    calls = [
        (classification_probe, (train.features(f), train.emotion, test.features(f), test.emotion, kind, seed))
        for f in FEATURE_SETS
    ]
    section.update(zip(FEATURE_SETS, _in_parallel(calls, n_jobs), strict=True))
    section["majority_baseline"] = majority_baseline(train.emotion, test.emotion)
    if test.factors is not None and test.factor_names[:2] == ("valence", "arousal"):
        known = test.emotion >= 0
        oracle = bayes_emotion(test.factors[known, :2])
        section["oracle_accuracy"] = float(np.mean(oracle == test.emotion[known]))
    return section


def disentanglement_section(test: Latents, seed: int) -> dict[str, Any]:
    """MIG, SAP, DCI and interpretability of all codes against the true factors, when they exist."""
    if test.factors is None:
        return {"note": "the data has no ground-truth factors"}
    if len(test.keys) < MIN_DISENTANGLEMENT_SAMPLES:
        return {"note": f"{len(test.keys)} held-out faces are too few to score disentanglement"}
    return {"factors": list(test.factor_names), **disentanglement_report(test.features("z_all"), test.factors, seed)}
