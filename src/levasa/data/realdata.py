"""DataModules over real datasets on disk (AffectNet, AFEW-VA, IMFDB, FER2013, RAF-DB, a folder of one's own) and
pooled sets.

A reader parses the dataset's official annotation files; the preprocessing cache decodes, crops and resizes
every face once; the splits are subject-disjoint (the dataset's official split where it has one, a validation
split carved from train the same way); a missing label kind is filled by annotation transfer.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset

from levasa.data.augment import Augment
from levasa.data.cache import CropSettings, FaceCache, load_or_build
from levasa.data.datamodule import STAGES, SplitDataModule
from levasa.data.dataset import FaceArrayDataset, split_subjects
from levasa.data.fill import LabelFill, fill_missing_labels
from levasa.data.images import DEFAULT_MAX_PIXELS
from levasa.data.readers.records import ReaderError, Records

log = logging.getLogger(__name__)


def assign_splits(
    split: np.ndarray, subject: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Boolean masks ``{"train", "val", "test"}``: the official ``split`` where the reader gave one (val carved
    from train by subject when there is no official val), else a seeded subject-disjoint split."""
    official = split != ""
    if not official.any():
        return split_subjects(subject, val_fraction, test_fraction, seed)
    if not official.all():
        raise ReaderError(f"{(~official).sum()} of {len(split)} rows have no official split while the rest do")
    masks = {name: split == name for name in STAGES}
    if not masks["val"].any():
        train = np.flatnonzero(masks["train"])
        carved = split_subjects(subject[train], val_fraction, 0.0, seed)["val"]
        masks["val"] = np.zeros(len(split), dtype=bool)
        masks["val"][train[carved]] = True
        masks["train"] &= ~masks["val"]
    return masks


class FaceDataModule(SplitDataModule):
    """A dataset in its official on-disk layout, read through the preprocessing cache.

    Args:
        reader: called as ``reader(root, skip_invalid=...)``: one of :mod:`levasa.data.readers`' ``read_*``
            functions with its options bound (``data.reader``, for example ``classes: 8`` for AffectNet with
            Contempt); it checks ``root`` and names the layout it expects.
        root: the dataset's root folder (``data.root``).
        image_size: side of the square faces.
        box_scale: a face box is made square with side ``max(w, h) * box_scale`` before resizing.
        skip_invalid: count, log and skip bad rows and unreadable images instead of stopping at the first.
        val_fraction, test_fraction: shares of subjects held out where the dataset has no official split.
        batch_size, num_workers: DataLoader settings.
        cache_dir: where preprocessing caches are kept.
        decode_workers: threads decoding images while the cache is built (None: up to 8, one per core).
        max_pixels: an image declaring more pixels is refused before it is decoded (an error naming it and its
            size; counted as unreadable with ``skip_invalid``); None: only Pillow's own limit.
        cache_hash: key the preprocessing cache on each image's bytes (all read at every start) instead of
            its size, mtime, inode and ctime.
        seed: seeds the splits and the label fill.
        fill: fill the label kind the dataset lacks by annotation transfer (the ``data/fill`` group), or None.
        augment: ``{flip, max_shift}`` applied to training batches (:class:`~levasa.data.augment.Augment`);
            None: none.
    """

    def __init__(
        self,
        reader: Callable[..., Records],
        root: str | Path,
        image_size: int = 64,
        box_scale: float = 1.0,
        skip_invalid: bool = False,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 0,
        cache_dir: str | Path = "data/cache",
        decode_workers: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        cache_hash: bool = False,
        seed: int = 0,
        fill: LabelFill | None = None,
        augment: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, found {batch_size}")
        self.save_hyperparameters(logger=False)
        self.settings = CropSettings(image_size, box_scale, max_pixels)
        self.augment = Augment.from_config(augment, image_size)
        self.reader = reader
        self.fill = fill
        self.skipped: Counter = Counter()
        self._records: Records | None = None
        self._cache: FaceCache | None = None

    def records(self) -> Records:
        """What the reader finds under ``root`` (read once per process)."""
        if self._records is None:
            hp = self.hparams
            self._records = self.reader(hp.root, skip_invalid=hp.skip_invalid)
            if len(self._records) == 0:
                raise ReaderError(f"{hp.root}: the {self._records.source} reader found no usable faces ({self._why()})")
        return self._records

    def _why(self) -> str:
        skipped = self._records.skipped if self._records is not None else {}
        return ", ".join(f"{n} {reason}" for reason, n in skipped.items()) or "nothing was left out"

    def cache(self) -> FaceCache:
        """The preprocessing cache of the records (built on first use, then reused)."""
        if self._cache is None:
            hp = self.hparams
            self._cache = load_or_build(
                self.records(), self.settings, hp.cache_dir, hp.skip_invalid, hp.decode_workers, hp.cache_hash
            )
        return self._cache

    def prepare_data(self) -> None:
        self.cache()

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        records, cache = self.records(), self.cache()
        hp = self.hparams
        self.skipped = Counter(records.skipped)
        if not cache.valid.all():
            self.skipped["unreadable image"] += int((~cache.valid).sum())
        va, emotion = records.va, records.emotion
        if self.fill is not None:
            va, emotion = fill_missing_labels(self.fill, records.keys, va, emotion)
        _, subject = np.unique(records.subject, return_inverse=True)
        masks = assign_splits(records.split, subject, hp.val_fraction, hp.test_fraction, hp.seed)
        for name, mask in masks.items():
            rows = np.flatnonzero(mask & cache.valid)
            if rows.size == 0:
                raise ReaderError(
                    f"{hp.root}: the {name} split of {records.source} is empty ({len(records)} faces read)"
                )
            self.datasets[name] = FaceArrayDataset(
                cache.images, va[rows], emotion[rows], records.keys[rows], subject[rows], rows=rows
            )
        sizes = ", ".join(f"{name} {len(ds)}" for name, ds in self.datasets.items())
        log.info("%s at %s: %s faces (%s)", records.source, hp.root, sizes, self._why())


class PooledFaces(ConcatDataset):
    """Several sources' splits as one dataset; samples carry ``source``, the index of their dataset."""

    def __init__(self, parts: Sequence[FaceArrayDataset]) -> None:
        super().__init__(parts)
        self.va = torch.cat([p.va for p in parts])
        self.emotion = torch.cat([p.emotion for p in parts])
        self.keys = [key for p in parts for key in p.keys]
        self.source = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
        self.factors = None
        self.factor_names: tuple[str, ...] = ()

    def image_batch(self, indices: Sequence[int] | np.ndarray | None = None) -> torch.Tensor:
        """The faces of ``indices`` (all when None) as float ``[B, 3, H, W]`` in [0, 1]."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        faces = torch.empty(0)
        for i, part in enumerate(self.datasets):
            where = np.flatnonzero(self.source[indices] == i)
            if where.size:
                batch = part.image_batch(indices[where] - (self.cumulative_sizes[i] - len(part)))
                if faces.ndim == 1:
                    faces = torch.empty(len(indices), *batch.shape[1:])
                faces[torch.from_numpy(where)] = batch
        return faces

    def samples(self, indices: Sequence[int], augment: Augment | None = None) -> list:
        """The samples of ``indices``, read (and augmented) a source at a time."""
        indices = np.asarray(indices, dtype=np.int64)
        samples: list = [None] * len(indices)
        for i, part in enumerate(self.datasets):
            where = np.flatnonzero(self.source[indices] == i)
            if where.size:
                offset = self.cumulative_sizes[i] - len(part)
                for j, sample in zip(where, part.samples(indices[where] - offset, augment), strict=True):
                    samples[j] = sample
        return samples


class PooledDataModule(SplitDataModule):
    """Several datasets trained together; each sample is tagged with its source, and validation metrics are
    reported per source (``val/<source>/...``) as well as over the pool.

    Args:
        sources: name -> datamodule (instantiated by Hydra from ``data.sources``); each fills its own gaps.
        root: the folder holding the sources (in the shipped config each source's root is ``<root>/<name>``).
        image_size: side of the faces; every source must give this size.
        batch_size, num_workers: DataLoader settings of the pool.
        augment: ``{flip, max_shift}`` applied to the pool's training batches (the sources' own are not used).
    """

    def __init__(
        self,
        sources: Mapping[str, SplitDataModule],
        root: str | Path | None = None,
        image_size: int = 64,
        batch_size: int = 64,
        num_workers: int = 0,
        augment: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not sources:
            raise ValueError("a pooled dataset needs at least one source under data.sources")
        self.save_hyperparameters(ignore=["sources"], logger=False)
        self.sources = dict(sources)
        self.source_names = tuple(self.sources)
        self.augment = Augment.from_config(augment, image_size)

    def prepare_data(self) -> None:
        for module in self.sources.values():
            module.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        sizes = {}
        for index, module in enumerate(self.sources.values()):
            module.setup(stage)
            for dataset in module.datasets.values():
                dataset.source = index
                size = dataset.image_batch([0]).shape[-1]
                if size != self.hparams.image_size:
                    name = self.source_names[index]
                    raise ValueError(f"source {name!r} gives {size}px faces, the pool {self.hparams.image_size}px")
        for name in STAGES:
            self.datasets[name] = PooledFaces([module.datasets[name] for module in self.sources.values()])
            sizes[name] = {src: len(m.datasets[name]) for src, m in self.sources.items()}
        log.info("pooled %s: %s", ", ".join(self.source_names), sizes)
