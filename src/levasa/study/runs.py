"""A run of the study as its evaluation left it, and the statistics over seeds that the tables and the verdicts
share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from omegaconf import DictConfig


@dataclass
class Run:
    """One trained and evaluated run of the study."""

    analogue: str
    model: str
    alpha: float
    seed: int
    directory: Path
    metrics: dict[str, Any] = field(repr=False)
    trained: bool = True
    """False when this invocation read the finished run back instead of training it."""

    def value(self, *path: str) -> float:
        """A number of metrics.json by its keys, NaN where the run has none (a Vanilla VAE has no readout)."""
        node: Any = self.metrics
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return float("nan")
            node = node[key]
        return float(node)


Metric = tuple[str, ...] | Callable[[Run], float]
"""What a table column or a verdict reads from each run: a path of keys into its metrics.json, or a function."""

PSNR = ("reconstruction", "psnr")
ACCURACY_VA = ("emotion_probe", "z_va", "accuracy")
"""7-class accuracy of the probe from [z_v, z_a], the downstream figure of claim 3."""
MAJORITY = ("emotion_probe", "majority_baseline", "accuracy")
ORACLE = ("emotion_probe", "oracle_accuracy")


def measure(run: Run, metric: Metric) -> float:
    """The number ``metric`` reads from ``run`` (NaN where it has none)."""
    return metric(run) if callable(metric) else run.value(*metric)


def mean_ccc(run: Run) -> float:
    """The readout's CCC with the labels, averaged over valence and arousal."""
    return (run.value("alignment", "valence", "ccc") + run.value("alignment", "arousal", "ccc")) / 2


def chunk_r2(kind: str) -> Callable[[Run], float]:
    """A run's mean test R² of the ``kind`` probes from z_v to valence and from z_a to arousal."""

    def get(run: Run) -> float:
        return (run.value("va_regression", "z_v", kind, "valence", "r2")
                + run.value("va_regression", "z_a", kind, "arousal", "r2")) / 2  # fmt: skip

    return get


class Stats(NamedTuple):
    """Mean and standard deviation of a metric over the runs that have it, and how many do."""

    mean: float
    std: float
    n: int


def stats(runs: list[Run], metric: Metric) -> Stats:
    """``metric`` over ``runs`` (its non-finite values left out); the spread is 0 for a single run."""
    values = np.array([measure(r, metric) for r in runs], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Stats(float("nan"), float("nan"), 0)
    return Stats(float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values))


def select(runs: list[Run], analogue: str, model: str, alpha: float) -> list[Run]:
    """The seeds of one configuration."""
    return [r for r in runs if r.analogue == analogue and r.model == model and r.alpha == alpha]


def sweep_runs(cfg: DictConfig, runs: list[Run]) -> list[Run]:
    """The runs of the alignment-weight sweep (every alpha of ``cfg.sweep``'s model on its analogue), in run
    order."""
    return [r for r in runs if r.analogue == cfg.sweep.analogue and r.model == cfg.sweep.model]


def sweep_alphas(cfg: DictConfig, runs: list[Run]) -> list[float]:
    """The alphas of the sweep, ascending."""
    return sorted({r.alpha for r in sweep_runs(cfg, runs)})
