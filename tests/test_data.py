"""The sample contract, subject-disjoint splits and the synthetic datamodule's Lightning semantics."""

import numpy as np
import pytest
import torch

from levasa.data.contract import SAMPLE_KEYS
from levasa.data.datamodule import SyntheticDataModule
from levasa.data.dataset import FaceArrayDataset, split_subjects
from levasa.vocabulary import EMOTIONS


def tiny_module(tmp_path, **kwargs) -> SyntheticDataModule:
    settings = {"image_size": 32, "n_identities": 10, "expressions_per_identity": 6, "batch_size": 8}
    return SyntheticDataModule(cache_dir=tmp_path / "cache", **{**settings, **kwargs})


def test_samples_follow_the_contract(tmp_path):
    dm = tiny_module(tmp_path, val_fraction=0.2, test_fraction=0.2)
    dm.prepare_data()
    dm.setup("fit")
    sample = dm.datasets["train"][0]
    assert set(sample) == set(SAMPLE_KEYS)
    assert sample["image"].shape == (3, 32, 32) and sample["image"].dtype == torch.float32
    assert sample["image"].min() >= 0.0 and sample["image"].max() <= 1.0
    assert sample["va"].shape == (2,) and torch.all(sample["va"].abs() <= 1)
    assert 0 <= sample["emotion"] < len(EMOTIONS)
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (8, 3, 32, 32) and batch["va"].shape == (8, 2)
    assert len(batch["key"]) == 8 and batch["subject"].dtype == torch.int64


def test_splits_are_subject_disjoint_seeded_and_cover_everything(tmp_path):
    dm = tiny_module(tmp_path, val_fraction=0.2, test_fraction=0.2)
    dm.setup()
    subjects = {name: set(ds.subject.tolist()) for name, ds in dm.datasets.items()}
    assert not subjects["train"] & subjects["val"] and not subjects["train"] & subjects["test"]
    assert not subjects["val"] & subjects["test"]
    assert len(subjects["val"]) == len(subjects["test"]) == 2
    assert sum(len(ds) for ds in dm.datasets.values()) == 60
    again = tiny_module(tmp_path, val_fraction=0.2, test_fraction=0.2)
    again.setup()
    assert again.datasets["val"].keys == dm.datasets["val"].keys


def test_prepare_data_caches_without_setting_state(tmp_path):
    dm = tiny_module(tmp_path)
    dm.prepare_data()
    assert dm.datasets == {}
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_label_variants_reach_the_samples(tmp_path):
    va_only = tiny_module(tmp_path, variant="va")
    va_only.setup()
    ds = va_only.datasets["train"]
    assert torch.all(ds.emotion == -1)
    assert torch.allclose(ds.va * 10, torch.round(ds.va * 10), atol=1e-5)  # AFEW-like integer steps
    category = tiny_module(tmp_path, variant="category")
    category.setup()
    assert torch.isnan(category.datasets["train"].va).all()
    assert (category.datasets["train"].emotion >= 0).all()


def test_loaders_before_setup_and_bad_settings_are_clear_errors(tmp_path):
    with pytest.raises(RuntimeError, match="call setup"):
        tiny_module(tmp_path).train_dataloader()
    with pytest.raises(ValueError, match="variant must be one of"):
        tiny_module(tmp_path, variant="affectnet")
    with pytest.raises(ValueError, match="batch_size must be positive"):
        tiny_module(tmp_path, batch_size=0)


def arrays(n: int = 4, size: int = 8):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    va = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return images, va, np.zeros(n, dtype=np.int64), [f"k{i}" for i in range(n)], np.arange(n)


def test_dataset_rejects_out_of_range_va_and_mismatched_lengths():
    images, va, emotion, keys, subject = arrays()
    va[2, 1] = 1.5
    with pytest.raises(ValueError, match=r"va must lie in \[-1, 1\].*1.5"):
        FaceArrayDataset(images, va, emotion, keys, subject)
    images, va, emotion, keys, subject = arrays()
    with pytest.raises(ValueError, match="must have 4 rows"):
        FaceArrayDataset(images, va[:3], emotion, keys, subject)
    with pytest.raises(ValueError, match=r"uint8 \[N, H, W, 3\]"):
        FaceArrayDataset(images.astype(np.float32), va, emotion, keys, subject)


def test_dataset_keeps_unknown_va_as_nan():
    images, va, emotion, keys, subject = arrays()
    va[1] = np.nan
    sample = FaceArrayDataset(images, va, emotion, keys, subject)[1]
    assert torch.isnan(sample["va"]).all()
    assert torch.equal(sample["image"], torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255)


def test_split_needs_enough_subjects_and_valid_fractions():
    with pytest.raises(ValueError, match="too few"):
        split_subjects(np.array([0, 0, 1, 1]), 0.5, 0.5, seed=0)
    with pytest.raises(ValueError, match="val_fraction must lie in"):
        split_subjects(np.arange(10), 1.2, 0.1, seed=0)
