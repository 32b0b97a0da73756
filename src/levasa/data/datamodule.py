"""LightningDataModules over face datasets that follow the sample contract."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset

from levasa.data.augment import Augment, AugmentedFaces
from levasa.data.dataset import FaceArrayDataset, split_subjects
from levasa.data.fill import LabelFill, fill_missing_labels
from levasa.data.synthetic.generate import VARIANTS, SyntheticFaces, load_or_generate
from levasa.data.synthetic.identities import NUISANCE_NAMES

STAGES = ("train", "val", "test")


def plain_hyperparameter(value: Any) -> Any:
    """``value`` as plain data: Hydra's DictConfig / ListConfig as dicts and lists, and what Hydra builds from a
    config node as that node: a dataclass (a :class:`LabelFill`) as ``{_target_, fields}``, a function or a
    ``functools.partial`` of one (a reader) as ``{_target_, _partial_: true, keywords}``."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"_target_": _dotted_name(type(value)), **dataclasses.asdict(value)}
    if isinstance(value, functools.partial) or inspect.isfunction(value):
        func, keywords = (value.func, value.keywords) if isinstance(value, functools.partial) else (value, {})
        options = {name: plain_hyperparameter(option) for name, option in keywords.items()}
        return {"_target_": _dotted_name(func), "_partial_": True, **options}
    return value


def _dotted_name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


class SplitDataModule(L.LightningDataModule):
    """Shared by every levasa datamodule: ``datasets`` holds the train / val / test splits after ``setup``."""

    def __init__(self) -> None:
        super().__init__()
        self.datasets: dict[str, Dataset] = {}
        self.augment: Augment | None = None  # the training loader's batches only (data.augment)

    def save_hyperparameters(self, *args: Any, frame: FrameType | None = None, **kwargs: Any) -> None:
        """Lightning's, storing every argument as plain data (see :func:`plain_hyperparameter`): checkpoints keep
        these hyperparameters, and one holding OmegaConf objects, a :class:`LabelFill` or a reader function does
        not load with ``torch.load(weights_only=True)``, Lightning's default when it restores a checkpoint."""
        super().save_hyperparameters(*args, frame=frame or inspect.currentframe().f_back, **kwargs)
        for key, value in list(self.hparams.items()):
            self.hparams[key] = plain_hyperparameter(value)

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        if name not in self.datasets:
            raise RuntimeError(f"call setup() before asking for the {name} loader")
        dataset = self.datasets[name]
        augment = getattr(self, "augment", None)
        if name == "train" and augment is not None and augment.active:
            dataset = AugmentedFaces(dataset, augment)
        return DataLoader(
            dataset,
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
            drop_last=shuffle and len(dataset) > self.hparams.batch_size,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


class SyntheticDataModule(SplitDataModule):
    """The built-in circumplex faces, split by identity into train / val / test.

    ``prepare_data`` renders the set once into ``cache_dir`` (no state is set); ``setup`` loads it
    from the cache and makes the same seeded identity-disjoint split on every process.

    Args:
        image_size: side of the square images.
        n_identities: number of identities (fixed nuisance factors).
        expressions_per_identity: images per identity, each with its own expression.
        variant: ``"both"`` (VA and class), ``"va"`` (AFEW-like VA only) or ``"category"`` (IMFDB-like).
        label_noise: standard deviation of the annotation noise on the observed VA.
        val_fraction, test_fraction: shares of identities held out.
        batch_size, num_workers: DataLoader settings.
        cache_dir: where the rendered set is cached (None: render in memory every time).
        seed: seeds the generator and the split.
        fill: fill the label kind the variant hides by annotation transfer (the ``data/fill`` group), or None
            to leave it unknown.
        augment: ``{flip, max_shift}`` applied to training batches (:class:`~levasa.data.augment.Augment`);
            None: none.
    """

    def __init__(
        self,
        image_size: int = 64,
        n_identities: int = 240,
        expressions_per_identity: int = 32,
        variant: str = "both",
        label_noise: float = 0.0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 0,
        cache_dir: str | Path | None = "data/synthetic",
        seed: int = 0,
        fill: LabelFill | None = None,
        augment: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, found {variant!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, found {batch_size}")
        self.save_hyperparameters(logger=False)
        self.fill = fill
        self.augment = Augment.from_config(augment, image_size)

    def _generate_kwargs(self) -> dict:
        hp = self.hparams
        return {
            "n_identities": hp.n_identities,
            "expressions_per_identity": hp.expressions_per_identity,
            "image_size": hp.image_size,
            "variant": hp.variant,
            "seed": hp.seed,
            "label_noise": hp.label_noise,
        }

    def load(self) -> SyntheticFaces:
        """The whole rendered set (from the cache when present)."""
        return load_or_generate(self.hparams.cache_dir, **self._generate_kwargs())

    def prepare_data(self) -> None:
        if self.hparams.cache_dir is not None:
            self.load()

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        faces = self.load()
        hp = self.hparams
        masks = split_subjects(faces.subject, hp.val_fraction, hp.test_fraction, hp.seed)
        va, emotion = faces.va, faces.emotion
        if self.fill is not None:
            va, emotion = fill_missing_labels(self.fill, faces.keys, va, emotion)
        factors = np.concatenate([faces.true_va, faces.nuisance], axis=1)
        names = ("valence", "arousal", *NUISANCE_NAMES)
        for name, m in masks.items():
            self.datasets[name] = FaceArrayDataset(
                faces.images[m], va[m], emotion[m], faces.keys[m], faces.subject[m], factors[m], names
            )
