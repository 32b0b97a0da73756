"""An in-memory face dataset that yields the sample contract of :mod:`levasa.data.contract`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from levasa.data.augment import Augment


class FaceArrayDataset(Dataset):
    """Samples from arrays already decoded and resized (the synthetic set, the preprocessing cache).

    Args:
        images: uint8 ``[N, H, W, 3]``, or with ``rows`` any array-like (a memory-mapped cache) of which
            row ``rows[i]`` is sample ``i``'s face, read when the sample is.
        va: float ``[N, 2]`` in ``[-1, 1]``, NaN where unknown.
        emotion: int ``[N]``, -1 where unknown.
        keys: ``[N]`` stable string ids.
        subject: ``[N]`` identity ids.
        factors: optional true generative factors ``[N, K]`` (synthetic data), kept for evaluation only.
        factor_names: names of the ``K`` factor columns.
        rows: with an array-like ``images``, the row of each sample in it (None: ``images`` has one per sample).
        source: when set, samples carry this index of their source dataset (pooled training).
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
        rows: np.ndarray | None = None,
        source: int | None = None,
    ) -> None:
        n = len(images) if rows is None else len(rows)
        lengths = {"va": len(va), "emotion": len(emotion), "keys": len(keys), "subject": len(subject)}
        if any(length != n for length in lengths.values()):
            raise ValueError(f"all arrays must have {n} rows (one per image), found {lengths}")
        first = np.asarray(images[0 if rows is None or not n else int(rows[0])])
        if first.ndim != 3 or first.shape[-1] != 3 or first.dtype != np.uint8:
            raise ValueError(f"images must be uint8 [N, H, W, 3], found {first.dtype} faces of {list(first.shape)}")
        finite = va[~np.isnan(va)]
        if finite.size and (finite.min() < -1.0 or finite.max() > 1.0):
            raise ValueError(f"va must lie in [-1, 1] (NaN = unknown), found [{finite.min()}, {finite.max()}]")
        if rows is None:
            self.images: Any = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
            self.rows = None
        else:
            self.images, self.rows = images, np.asarray(rows, dtype=np.int64)
        self.source = source
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

    def pixels(self, indices: Sequence[int] | np.ndarray, augment: Augment | None = None) -> torch.Tensor:
        """The faces of ``indices`` as uint8 ``[B, 3, H, W]``, augmented by ``augment`` (training batches only)."""
        indices = np.asarray(indices, dtype=np.int64)
        active = augment is not None and augment.active
        if self.rows is None:
            faces = self.images[torch.from_numpy(indices)]
            return augment.batch(faces.permute(0, 2, 3, 1).numpy()) if active else faces
        rows = self.rows[indices]
        order = np.argsort(rows, kind="stable")  # a memory map reads fastest in file order
        if active:  # written into place shifted, then flipped (see levasa.data.augment)
            return augment.batch(np.asarray(self.images[rows[order]]), order)
        faces = np.empty((len(rows), *np.shape(self.images[0])), dtype=np.uint8)
        faces[order] = self.images[rows[order]]
        return torch.from_numpy(faces).permute(0, 3, 1, 2).contiguous()

    def image_batch(self, indices: Sequence[int] | np.ndarray | None = None) -> torch.Tensor:
        """The faces of ``indices`` (all when None) as float ``[B, 3, H, W]`` in [0, 1]."""
        indices = np.arange(len(self)) if indices is None else indices
        return self.pixels(indices).float().div_(255.0)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Samples of a whole batch (the DataLoader's batched fetch): the faces are read and converted in one
        go, which is several times faster than one at a time from a memory-mapped cache."""
        return self.samples(indices)

    def samples(self, indices: Sequence[int], augment: Augment | None = None) -> list[dict[str, Any]]:
        """The samples of ``indices``; ``augment`` (training batches only) flips and shifts their uint8 faces before
        the conversion to float."""
        images = self.pixels(indices, augment).float().div_(255.0)
        samples = []
        for j, i in enumerate(indices):
            sample = {
                "image": images[j],
                "va": self.va[i],
                "emotion": self.emotion[i],
                "key": self.keys[i],
                "subject": self.subject[i],
            }
            if self.source is not None:
                sample["source"] = self.source
            samples.append(sample)
        return samples


def split_subjects(subject: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Subject-disjoint split: boolean masks ``{"train", "val", "test"}`` over the samples.

    Subjects are shuffled with ``seed``; val and test get at least one subject each when the fraction is positive.
    ``val_fraction`` must be positive: validation chooses the best checkpoint.
    """
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), found {frac}")
    if val_fraction == 0:
        raise ValueError(
            "data.val_fraction=0 leaves no validation subjects, and the best checkpoint and early stopping are "
            "chosen on validation: give data.val_fraction a share in (0, 1), e.g. 0.1"
        )
    ids = np.unique(subject)
    n_val = max(round(val_fraction * len(ids)), int(val_fraction > 0))
    n_test = max(round(test_fraction * len(ids)), int(test_fraction > 0))
    if n_val + n_test >= len(ids):
        raise ValueError(f"{len(ids)} subjects are too few for {n_val} val and {n_test} test subjects plus training")
    order = np.random.default_rng(seed).permutation(ids)
    groups = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    return {name: np.isin(subject, members) for name, members in groups.items()}
