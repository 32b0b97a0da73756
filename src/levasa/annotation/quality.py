"""Transfer quality: hide one label kind on held-out identities, transfer it from an anchor fitted on the
others, and score it against the hidden truth (cat->VA: MAE and CCC per axis; VA->cat: accuracy, macro-F1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score

from levasa.annotation.anchors import fit_anchor
from levasa.annotation.strategies import CAT_TO_VA, VA_TO_CAT, categorical_to_va, va_to_categorical
from levasa.markdown import table


@dataclass(frozen=True)
class Score:
    """One strategy's score on the held-out split; metrics that do not apply to its direction are NaN."""

    direction: str
    strategy: str
    mae_v: float = float("nan")
    mae_a: float = float("nan")
    ccc_v: float = float("nan")
    ccc_a: float = float("nan")
    accuracy: float = float("nan")
    macro_f1: float = float("nan")


def ccc(pred: np.ndarray, true: np.ndarray) -> float:
    """Lin's concordance correlation coefficient of two ``[N]`` arrays."""
    mp, mt = pred.mean(), true.mean()
    cov = ((pred - mp) * (true - mt)).mean()
    return float(2 * cov / (pred.var() + true.var() + (mp - mt) ** 2))


def split_identities(subject: np.ndarray, heldout_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask ``[N]`` of the samples whose identity is held out (a seeded share of the identities)."""
    ids = np.unique(subject)
    n_held = max(1, round(heldout_fraction * ids.size))
    held = np.random.default_rng(seed).permutation(ids)[:n_held]
    return np.isin(subject, held)


def evaluate_transfer(
    va: np.ndarray, emotion: np.ndarray, subject: np.ndarray, heldout_fraction: float = 0.5, seed: int = 0
) -> list[Score]:
    """Score every strategy: anchor fitted on the kept identities, both label kinds hidden on the others.

    Args:
        va: float ``[N, 2]`` in ``[-1, 1]``; emotion: int ``[N]`` into ``EMOTIONS``; subject: ``[N]`` identity ids.
    """
    held = split_identities(subject, heldout_fraction, seed)
    anchor = fit_anchor(va[~held], emotion[~held], provenance="the evaluation's anchor split")
    true_va, true_cls = va[held], emotion[held]
    true_cls_ok = np.isin(true_cls, anchor.indices)
    scores = []
    for strategy in CAT_TO_VA:
        pred = categorical_to_va(true_cls[true_cls_ok], anchor, strategy, np.random.default_rng(seed))
        err, ref = np.abs(pred - true_va[true_cls_ok]), true_va[true_cls_ok]
        cccs = [ccc(pred[:, j], ref[:, j]) for j in (0, 1)]
        scores.append(Score("cat->VA", strategy, *err.mean(0).tolist(), *cccs))
    for strategy in VA_TO_CAT:
        pred = va_to_categorical(true_va, anchor, strategy, seed)
        f1 = f1_score(true_cls, pred, average="macro", labels=np.unique(true_cls))
        scores.append(Score("VA->cat", strategy, accuracy=float(np.mean(pred == true_cls)), macro_f1=float(f1)))
    return scores


def markdown_table(scores: list[Score]) -> str:
    """The scores as a markdown table (``-`` where a metric does not apply)."""
    header = ["direction", "strategy", "MAE v", "MAE a", "CCC v", "CCC a", "accuracy", "macro-F1"]
    rows = [
        [s.direction, s.strategy, *("-" if np.isnan(x) else f"{x:.3f}" for x in
                                    (s.mae_v, s.mae_a, s.ccc_v, s.ccc_a, s.accuracy, s.macro_f1))]
        for s in scores
    ]  # fmt: skip
    return "\n".join(table(header, rows)) + "\n"
