"""Table 2: linear and MLP probes from each chunk to valence and arousal."""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.evaluation.sections.base import Context, Section, in_parallel
from levasa.markdown import table
from levasa.metrics.alignment import AXES
from levasa.metrics.probes import PROBE_KINDS, regression_probe

CHUNKS = ("z_v", "z_a", "z_z")


class VARegression(Section):
    """Probes fitted on the train split, scored on the test split: r2, mse, mae, ccc per chunk, kind and axis."""

    title = "Table 2: VA regression from each chunk"

    def compute(self, context: Context) -> dict[str, Any]:
        train, test = context.train, context.test
        if np.isnan(train.va).all() or np.isnan(test.va).all():
            return {"note": "no VA labels on the train or test split"}
        jobs = [(f, k, i) for f in CHUNKS for k in PROBE_KINDS for i in range(len(AXES))]
        calls = [
            (regression_probe, (train.features(f), train.va[:, i], test.features(f), test.va[:, i], k, context.seed))
            for f, k, i in jobs
        ]
        section: dict[str, Any] = {}
        for (feature, kind, i), scores in zip(jobs, in_parallel(calls, context.n_jobs), strict=True):
            section.setdefault(feature, {}).setdefault(kind, {})[AXES[i]] = scores
        return section

    def render(self, section: dict[str, Any]) -> list[str]:
        """One row per chunk and probe kind: R2 and CCC per axis."""
        rows = [
            [chunk, kind, *(section[chunk][kind][axis][m] for m in ("r2", "ccc") for axis in ("valence", "arousal"))]
            for chunk in CHUNKS
            for kind in section[chunk]
        ]
        return table(["chunk", "probe", "R2 valence", "R2 arousal", "CCC valence", "CCC arousal"], rows)
