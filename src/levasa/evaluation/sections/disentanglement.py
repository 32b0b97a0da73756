"""MIG, SAP, DCI and interpretability of all codes against the true factors, where the data has them."""

from __future__ import annotations

from typing import Any

from levasa.evaluation.sections.base import Context, Section
from levasa.metrics.disentanglement import MIN_SAMPLES, disentanglement_report


class Disentanglement(Section):
    """Disentanglement scores of the whole latent (posterior means) on the held-out split."""

    title = "Disentanglement (all codes vs the true factors)"

    def compute(self, context: Context) -> dict[str, Any]:
        test = context.test
        if test.factors is None:
            return {"note": "the data has no ground-truth factors"}
        if len(test.keys) < MIN_SAMPLES:
            return {"note": f"{len(test.keys)} held-out faces are too few to score disentanglement"}
        return {
            "factors": list(test.factor_names),
            **disentanglement_report(test.features("z_all"), test.factors, context.seed),
        }
