"""The sections of an evaluation report, computed from encoded train and test splits (no I/O here).

Probes are fitted on (a seeded subsample of) the train split's latents and scored on the test split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.data.synthetic import bayes_emotion
from levasa.metrics.alignment import AXES, alignment_report
from levasa.metrics.disentanglement import MIN_SAMPLES as MIN_DISENTANGLEMENT_SAMPLES
from levasa.metrics.disentanglement import disentanglement_report
from levasa.metrics.probes import PROBE_KINDS, classification_probe, majority_baseline, regression_probe
from levasa.models.latents import FEATURE_SETS, Latents


def subsample(latents: Latents, max_rows: int, seed: int) -> Latents:
    """At most ``max_rows`` seeded random rows of ``latents`` (all of them when there are fewer)."""
    n = len(latents.keys)
    if n <= max_rows:
        return latents
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:max_rows])
    return Latents(
        chunks={k: v[rows] for k, v in latents.chunks.items()},
        readout=None if latents.readout is None else latents.readout[rows],
        va=latents.va[rows],
        emotion=latents.emotion[rows],
        keys=[latents.keys[i] for i in rows],
        factors=None if latents.factors is None else latents.factors[rows],
        factor_names=latents.factor_names,
    )


def alignment_section(test: Latents) -> dict[str, Any]:
    """Readout vs annotated VA per axis (mse, mae, pearson, ccc, sagr), or why there is none."""
    if test.readout is None:
        return {"note": "this model has no VA readout (Vanilla VAE): see va_regression for what its chunks hold"}
    if np.isnan(test.va).all():
        return {"note": "the evaluation split has no VA labels"}
    return alignment_report(test.readout, test.va)


def va_regression_section(train: Latents, test: Latents, seed: int) -> dict[str, Any]:
    """Linear and MLP probes from each chunk to each axis: r2, mse, mae, ccc on the test split."""
    if np.isnan(train.va).all() or np.isnan(test.va).all():
        return {"note": "no VA labels on the train or test split"}
    section: dict[str, Any] = {}
    for feature in ("z_v", "z_a", "z_z"):
        section[feature] = {
            kind: {
                axis: regression_probe(
                    train.features(feature), train.va[:, i], test.features(feature), test.va[:, i], kind, seed
                )
                for i, axis in enumerate(AXES)
            }
            for kind in PROBE_KINDS
        }
    return section


def emotion_section(train: Latents, test: Latents, seed: int, kind: str = "mlp") -> dict[str, Any]:
    """Emotion probes per feature set, the majority baseline and, where true VA exists, the oracle."""
    if (train.emotion < 0).all() or (test.emotion < 0).all():
        return {"note": "no emotion labels on the train or test split"}
    section: dict[str, Any] = {"probe": kind}
    for feature in FEATURE_SETS:
        section[feature] = classification_probe(
            train.features(feature), train.emotion, test.features(feature), test.emotion, kind, seed
        )
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
