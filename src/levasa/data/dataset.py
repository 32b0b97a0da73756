"""An in-memory face dataset that yields the sample contract of :mod:`levasa.data.contract`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


class FaceArrayDataset(Dataset):
    """Samples from arrays already decoded and resized (the synthetic set, the preprocessing cache).

    Args:
        images: uint8 ``[N, H, W, 3]``.
        va: float ``[N, 2]`` in ``[-1, 1]``, NaN where unknown.
        emotion: int ``[N]``, -1 where unknown.
        keys: ``[N]`` stable string ids.
        subject: ``[N]`` identity ids.
        factors: optional true generative factors ``[N, K]`` (synthetic data), kept for evaluation only.
        factor_names: names of the ``K`` factor columns.
    """

    def __init__(
        self,
        images: np.ndarray,
        va: np.ndarray,
        emotion: np.ndarray,
        keys: Sequence[str],
        subject: np.ndarray,
        factors: np.ndarray | None = None,
        factor_names: Sequence[str] = (),
    ) -> None:
        n = len(images)
        lengths = {"va": len(va), "emotion": len(emotion), "keys": len(keys), "subject": len(subject)}
        if any(length != n for length in lengths.values()):
            raise ValueError(f"all arrays must have {n} rows (one per image), found {lengths}")
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 [N, H, W, 3], found {images.dtype} {list(images.shape)}")
        finite = va[~np.isnan(va)]
        if finite.size and (finite.min() < -1.0 or finite.max() > 1.0):
            raise ValueError(f"va must lie in [-1, 1] (NaN = unknown), found [{finite.min()}, {finite.max()}]")
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.va = torch.as_tensor(va, dtype=torch.float32)
        self.emotion = torch.as_tensor(emotion, dtype=torch.int64)
        self.keys = [str(k) for k in keys]
        self.subject = torch.as_tensor(np.asarray(subject), dtype=torch.int64)
        if factors is not None and (
            len(factors) != n or np.ndim(factors) != 2 or len(factor_names) != factors.shape[1]
        ):
            raise ValueError(
                f"factors must be [{n}, K] with K names, found {np.shape(factors)} and {len(factor_names)}"
            )
        self.factors = None if factors is None else np.asarray(factors, dtype=np.float32)
        self.factor_names = tuple(factor_names)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {
            "image": self.images[index].float().div_(255.0),
            "va": self.va[index],
            "emotion": self.emotion[index],
            "key": self.keys[index],
            "subject": self.subject[index],
        }


def split_subjects(subject: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Subject-disjoint split: boolean masks ``{"train", "val", "test"}`` over the samples.

    Subjects are shuffled with ``seed``; val and test get at least one subject each when the fraction is positive.
    """
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), found {frac}")
    ids = np.unique(subject)
    n_val = max(round(val_fraction * len(ids)), int(val_fraction > 0))
    n_test = max(round(test_fraction * len(ids)), int(test_fraction > 0))
    if n_val + n_test >= len(ids):
        raise ValueError(f"{len(ids)} subjects are too few for {n_val} val and {n_test} test subjects plus training")
    order = np.random.default_rng(seed).permutation(ids)
    groups = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    return {name: np.isin(subject, members) for name, members in groups.items()}
