"""Table 1: the model's VA readout against the annotated VA, and against the true VA where the data knows it."""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.evaluation.sections.base import Context, Section, has_true_va
from levasa.markdown import table
from levasa.metrics.alignment import alignment_report

NAMES = ("mse", "mae", "pearson", "ccc", "sagr")


class Alignment(Section):
    """Readout vs annotated VA per axis (mse, mae, pearson, ccc, sagr), or why there is none."""

    title = "Table 1: latent-circumplex alignment (readout vs annotation)"

    def compute(self, context: Context) -> dict[str, Any]:
        readout, va = context.test.readout, context.test.va
        if readout is None:
            return {"note": "this model has no VA readout (Vanilla VAE): see va_regression for what its chunks hold"}
        return (
            {"note": "the evaluation split has no VA labels"} if np.isnan(va).all() else alignment_report(readout, va)
        )

    def render(self, section: dict[str, Any]) -> list[str]:
        """The per-axis table and the paper's combined MSE (sum over axes)."""
        rows = [[axis, *(section[axis][n] for n in NAMES)] for axis in ("valence", "arousal")]
        combined = section["valence"]["mse"] + section["arousal"]["mse"]
        return [*table(["axis", *NAMES], rows), "", f"Combined MSE (valence + arousal): {combined:.4f}"]


class TrueAlignment(Alignment):
    """Readout vs the true generative VA, where the data knows it (the synthetic set): with transferred labels (a
    category-only variant filled by Algorithm 1) this is what the model recovered, not what it was told."""

    title = "Readout vs the true VA (synthetic data only)"

    def compute(self, context: Context) -> dict[str, Any]:
        test = context.test
        if test.readout is None:
            return {"note": "this model has no VA readout (Vanilla VAE)"}
        if not has_true_va(test):
            return {"note": "the data has no ground-truth VA"}
        return alignment_report(test.readout, test.factors[:, :2])
