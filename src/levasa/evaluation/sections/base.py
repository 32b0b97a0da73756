"""What every section sees (:class:`Context`) and does (:class:`Section`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from joblib import Parallel, delayed

from levasa.evaluation.encode import Latents
from levasa.markdown import table
from levasa.models.module import LatentVAModule


@dataclass
class Context:
    """The inputs of every section, computed once per evaluation.

    Attributes:
        module: the trained model, in eval mode.
        train: the (subsampled) training split the probes are fitted on, encoded.
        test: the held-out split that is scored, encoded.
        images: the held-out faces ``[N, 3, H, W]`` in [0, 1], in the order of ``test``.
        seed: seeds every probe and sampler.
        n_jobs: processes the probes may use (-1: one per core).
        train_set: the whole training split (a FaceArrayDataset), for sections that train on its faces.
    """

    module: LatentVAModule
    train: Latents
    test: Latents
    images: torch.Tensor
    seed: int
    n_jobs: int = 1
    train_set: Any = None


class Section(ABC):
    """A metrics.json section: ``compute`` gives its dict (or ``{"note": why not}``), ``render`` its report lines.

    The default ``render`` is a one-row table of the section's numeric entries; sections with a richer shape
    override it.
    """

    title = ""

    @abstractmethod
    def compute(self, context: Context) -> dict[str, Any]:
        """The section's figures for this evaluation."""

    def render(self, section: dict[str, Any]) -> list[str]:
        """The section's report lines (the report writes its note instead when it has one)."""
        numbers = {k: v for k, v in section.items() if isinstance(v, float)}
        return table(list(numbers), [list(numbers.values())])


def in_parallel(calls: list[tuple[Callable[..., Any], tuple]], n_jobs: int) -> list[Any]:
    """``[f(*args) for f, args in calls]`` on ``n_jobs`` processes (joblib's loky; -1: one per core, 1: here).

    Each probe is seeded and uses one BLAS thread, so the results do not depend on ``n_jobs``.
    """
    if n_jobs == 1:
        return [f(*args) for f, args in calls]
    return Parallel(n_jobs=n_jobs)(delayed(f)(*args) for f, args in calls)


def has_true_va(latents: Latents) -> bool:
    """Whether the data knows the true generative VA (the first two true factors)."""
    return latents.factors is not None and tuple(latents.factor_names[:2]) == ("valence", "arousal")


def best_va(latents: Latents) -> np.ndarray:
    """``[N, 2]``: the true VA where the data knows it, else the annotated VA (NaN where unknown)."""
    return latents.factors[:, :2] if has_true_va(latents) else latents.va


def no_labels(*arrays: np.ndarray) -> bool:
    """Whether any of the label arrays is entirely unknown (NaN VA or -1 classes)."""
    return any((np.isnan(a).all() if a.dtype.kind == "f" else (a < 0).all()) for a in arrays)
