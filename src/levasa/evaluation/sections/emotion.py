"""Table 3: emotion classification from each feature set, against the majority class and the Bayes oracle."""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.annotation.oracle import bayes_emotion
from levasa.evaluation.encode import FEATURE_SETS
from levasa.evaluation.sections.base import Context, Section, has_true_va, in_parallel
from levasa.markdown import table
from levasa.metrics.probes import classification_probe, majority_baseline

NAMES = ("accuracy", "balanced_accuracy", "macro_f1")


class EmotionProbe(Section):
    """Emotion probes per feature set, the majority baseline and, where true VA exists, the oracle accuracy.

    Args:
        classifier: the probe, ``mlp`` (as in the paper) or ``linear``.
    """

    title = "Table 3: emotion prediction from the latents"

    def __init__(self, classifier: str = "mlp") -> None:
        self.classifier = classifier

    def compute(self, context: Context) -> dict[str, Any]:
        train, test = context.train, context.test
        if (train.emotion < 0).all() or (test.emotion < 0).all():
            return {"note": "no emotion labels on the train or test split"}
        section: dict[str, Any] = {"probe": self.classifier}
        calls = [
            (
                classification_probe,
                (train.features(f), train.emotion, test.features(f), test.emotion, self.classifier, context.seed),
            )
            for f in FEATURE_SETS
        ]
        section.update(zip(FEATURE_SETS, in_parallel(calls, context.n_jobs), strict=True))
        section["majority_baseline"] = majority_baseline(train.emotion, test.emotion)
        if has_true_va(test):
            known = test.emotion >= 0
            oracle = bayes_emotion(test.factors[known, :2])
            section["oracle_accuracy"] = float(np.mean(oracle == test.emotion[known]))
        return section

    def render(self, section: dict[str, Any]) -> list[str]:
        """One row per feature set and the majority class; the oracle accuracy below."""
        rows = [[f"{feature} ({section['probe']})", *(section[feature][n] for n in NAMES)] for feature in FEATURE_SETS]
        rows.append(["majority class", *(section["majority_baseline"][n] for n in NAMES)])
        lines = table(["features", *NAMES], rows)
        if "oracle_accuracy" in section:
            lines += ["", f"Oracle accuracy (Bayes rule from the true VA): {section['oracle_accuracy']:.4f}"]
        return lines
