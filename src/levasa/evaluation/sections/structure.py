"""``structure``: the leakage matrix, held-out R² from each chunk (z_v, z_a, z_z) to valence, arousal and, where
the data knows them, each identity factor.

A latent space structured both ways has it diagonal: z_v holds valence and nothing else, z_a arousal, z_z the
person and no emotion. Probes are fitted on the training split's latents with their regularisation chosen on folds
grouped by subject, and scored on the held-out subjects; linear probes for every cell, MLP probes beside them for
the valence and arousal cells. The floors: what valence itself predicts of arousal (held out, linear and MLP), the
leakage a chunk holding exactly valence would show on the arousal column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levasa.evaluation.sections.base import Context, Section, has_true_va, in_parallel
from levasa.markdown import table
from levasa.metrics.alignment import AXES
from levasa.metrics.probes import regression_probe

CHUNKS = ("z_v", "z_a", "z_z")


def _targets(latents) -> tuple[np.ndarray, tuple[str, ...]]:
    """``[N, K]`` values and names: the true factors (valence and arousal first) where known, else the VA labels."""
    if has_true_va(latents):
        return latents.factors, tuple(latents.factor_names)
    return latents.va, ("valence", "arousal")


def _floor(y_train: np.ndarray, y_test: np.ndarray, source: int, kind: str, seed: int) -> float:
    """Held-out R² of the other axis from axis ``source`` itself: what a chunk holding exactly that axis would
    show of the other one."""
    x_train, x_test = y_train[:, source : source + 1], y_test[:, source : source + 1]
    return regression_probe(x_train, y_train[:, 1 - source], x_test, y_test[:, 1 - source], kind, seed)["r2"]


class Structure(Section):
    """The leakage matrix (see the module docstring).

    Args:
        mlp: also fit MLP probes for the valence and arousal cells.
    """

    title = "Structure: what each chunk holds (held-out R², probes selected on subject-grouped folds)"

    def __init__(self, mlp: bool = True) -> None:
        self.mlp = mlp

    def compute(self, context: Context) -> dict[str, Any]:
        train, test = context.train, context.test
        y_train, names = _targets(train)
        y_test, _ = _targets(test)
        if np.isnan(y_train[:, :2]).all() or np.isnan(y_test[:, :2]).all():
            return {"note": "no VA on the train or test split"}
        cells = [(c, k, "linear") for c in CHUNKS for k in range(len(names))]
        cells += [(c, k, "mlp") for c in CHUNKS for k in (0, 1)] if self.mlp else []
        calls = [
            (regression_probe, (train.features(c), y_train[:, k], test.features(c), y_test[:, k], kind, context.seed,
                                train.subject))
            for c, k, kind in cells
        ]  # fmt: skip
        matrix: dict[str, dict[str, dict[str, float]]] = {kind: {c: {} for c in CHUNKS} for kind in ("linear", "mlp")}
        for (chunk, k, kind), scores in zip(cells, in_parallel(calls, context.n_jobs), strict=True):
            matrix[kind][chunk][names[k]] = scores["r2"]
        kinds = ("linear", "mlp") if self.mlp else ("linear",)
        section: dict[str, Any] = {kind: matrix[kind] for kind in kinds}
        section["floor"] = {
            f"{AXES[src]}_to_{AXES[1 - src]}": {
                kind: _floor(y_train, y_test, src, kind, context.seed) for kind in kinds
            }
            for src in (0, 1)
        }
        identity = names[2:]
        section["identity_mean_linear"] = {
            c: float(np.mean([matrix["linear"][c][f] for f in identity])) if identity else float("nan") for c in CHUNKS
        }
        return section

    def render(self, section: dict[str, Any]) -> list[str]:
        """Rows: chunks; columns: valence, arousal (linear, then MLP) and the mean over identity factors."""
        mlp = section.get("mlp", {})
        nan = float("nan")
        rows = [
            [chunk, section["linear"][chunk]["valence"], section["linear"][chunk]["arousal"],
             mlp.get(chunk, {}).get("valence", nan), mlp.get(chunk, {}).get("arousal", nan),
             section["identity_mean_linear"][chunk]]
            for chunk in CHUNKS
        ]  # fmt: skip
        header = ["chunk", "R² valence", "R² arousal", "R² valence (MLP)", "R² arousal (MLP)", "R² identity (mean)"]
        floors = "; ".join(
            f"{pair.replace('_to_', ' -> ')}: " + ", ".join(f"{v:.4f} ({kind})" for kind, v in values.items())
            for pair, values in section["floor"].items()
        )
        return [*table(header, rows), "", f"Floors (what one axis itself predicts of the other, R²): {floors}."]
