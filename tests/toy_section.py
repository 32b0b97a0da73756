"""A metrics section that lives outside levasa, added to an evaluation through config alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.evaluation.sections.base import Context, Section


class HeldOutSize(Section):
    """How many held-out faces were scored and the mean of their first chunk's first code."""

    title = "Toy: held-out size"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def compute(self, context: Context) -> dict[str, Any]:
        return {
            "n": float(len(context.test.keys)) * self.scale,
            "mean_v0": float(np.mean(context.test.chunks["v"][:, 0])),
        }
