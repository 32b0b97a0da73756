"""The Pareto front of a set of points, each a vector of objective values with its own direction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

DIRECTIONS = ("maximize", "minimize")
"""How each objective is optimised, in Optuna's (and Hydra's Optuna sweeper's) spelling."""


def pareto_front(values: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask ``[N]`` of the non-dominated rows of ``values [N, K]``, objective ``k`` optimised as
    ``directions[k]`` (``"maximize"`` or ``"minimize"``).

    A point is dominated when another one is at least as good in every objective and better in one; points with
    equal values do not dominate each other, so both stay on the front. Rows with a NaN or infinite value are off
    the front and dominate nothing (a failed or diverged run).
    """
    points = np.asarray(values, dtype=float)
    if points.ndim != 2 or points.shape[1] != len(directions):
        raise ValueError(f"values must be [N, {len(directions)}] (one column per direction), found {points.shape}")
    unknown = [d for d in directions if d not in DIRECTIONS]
    if unknown:
        raise ValueError(f"directions must be among {list(DIRECTIONS)}, found {unknown}")
    cost = points * np.where(np.array(directions) == "maximize", -1.0, 1.0)  # every objective minimised
    finite = np.isfinite(cost).all(axis=1)
    candidates = cost[finite]
    front = np.zeros(len(points), dtype=bool)
    for i in np.flatnonzero(finite):
        dominated = np.all(candidates <= cost[i], axis=1) & np.any(candidates < cost[i], axis=1)
        front[i] = not dominated.any()
    return front
