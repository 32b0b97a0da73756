"""Training-batch augmentation (``data.augment``): the flip and the shift move pixels exactly as documented, only the
training loader is augmented, a seed gives the same batches, off changes nothing, bad options are clear errors, and a
run on a disk layout trains with the presets' augmentation on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from levasa.data.augment import Augment, AugmentedFaces, augment_batch
from levasa.data.cache import MemmapImages
from levasa.data.datamodule import SyntheticDataModule
from levasa.data.dataset import FaceArrayDataset
from levasa.jobs.training import train
from tests.formats import make_folder
from tests.helpers import compose_config

SMALL = {"image_size": 32, "n_identities": 20, "expressions_per_identity": 4, "batch_size": 8, "cache_dir": None}


def hand_made(n: int = 3, size: int = 8) -> torch.Tensor:
    """uint8 ``[n, 3, size, size]`` whose every pixel is distinct and non-zero: 1 + its flat index mod 255."""
    return torch.from_numpy((np.arange(n * 3 * size * size) % 255 + 1).astype(np.uint8).reshape(n, 3, size, size))


def synthetic(augment: dict | None, seed: int = 0) -> SyntheticDataModule:
    module = SyntheticDataModule(**SMALL, seed=seed, augment=augment)
    module.setup("fit")
    return module


def train_batches(module: SyntheticDataModule, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    return [batch["image"] for batch in module.train_dataloader()]


@pytest.mark.parametrize("size", [8, 6])  # 8: the flip's uint64 path; 6: the plain one
def test_the_flip_mirrors_exactly_the_chosen_faces(size: int) -> None:
    x = hand_made(3, size)
    y = augment_batch(x, flip=np.array([1]))
    assert torch.equal(y[0], x[0]) and torch.equal(y[2], x[2])
    assert torch.equal(y[1], x[1].flip(-1))
    assert y[1, 2, 5, 0] == x[1, 2, 5, size - 1]


def test_the_shift_moves_faces_by_whole_pixels_and_fills_the_border_black() -> None:
    x = hand_made(3, 8)
    shift = np.array([[2, -1, 0], [0, 3, -2]])  # (down, right) per face
    y = augment_batch(x, shift)
    assert torch.equal(y[0, :, 2:], x[0, :, :-2]) and (y[0, :, :2] == 0).all()  # down by 2
    assert torch.equal(y[1, :, :-1, 3:], x[1, :, 1:, :-3])  # up by 1, right by 3
    assert (y[1, :, -1:] == 0).all() and (y[1, :, :, :3] == 0).all()
    assert torch.equal(y[2, :, :, :-2], x[2, :, :, 2:]) and (y[2, :, :, -2:] == 0).all()  # left by 2
    both = augment_batch(x, shift, flip=np.array([1]))  # the flip comes after the shift
    assert torch.equal(both[1], y[1].flip(-1)) and torch.equal(both[0], y[0])


def test_a_batch_is_augmented_alike_from_memory_and_from_a_memory_mapped_cache(tmp_path: Path) -> None:
    faces = hand_made(6, 16).permute(0, 2, 3, 1).numpy()
    np.save(tmp_path / "images.npy", faces)
    n, labels = len(faces), {"va": np.zeros((6, 2), np.float32), "emotion": np.zeros(6, int)}
    in_memory = FaceArrayDataset(faces, **labels, keys=list("abcdef"), subject=np.arange(n))
    rows = np.array([5, 0, 3, 1, 4, 2])  # the cache's rows in another order than the samples
    mapped = FaceArrayDataset(
        MemmapImages(tmp_path / "images.npy"), **labels, keys=list("abcdef"), subject=rows, rows=rows
    )
    augment, indices = Augment(flip=True, max_shift=3), [4, 1, 5, 0]
    torch.manual_seed(3)
    expected = in_memory.pixels(rows[indices], augment)
    torch.manual_seed(3)
    assert torch.equal(mapped.pixels(indices, augment), expected)
    torch.manual_seed(3)  # and both are what augment_batch does with the same draws
    shift = torch.randint(-3, 4, (2, 4)).numpy()
    flip = np.flatnonzero((torch.rand(4) < 0.5).numpy())
    assert torch.equal(expected, augment_batch(in_memory.pixels(rows[indices]), shift, flip))


def test_only_the_training_loader_is_augmented() -> None:
    module = synthetic({"flip": True, "max_shift": 3})
    assert isinstance(module.train_dataloader().dataset, AugmentedFaces)
    for name in ("val", "test"):
        loader = getattr(module, f"{name}_dataloader")()
        assert loader.dataset is module.datasets[name]
        assert torch.equal(next(iter(loader))["image"], module.datasets[name].image_batch(range(8)))
    train = module.datasets["train"]  # what evaluation and the probes read: never augmented
    assert not isinstance(train, AugmentedFaces)
    assert torch.equal(train.samples(range(8))[0]["image"], train.image_batch([0])[0])
    torch.manual_seed(0)
    augmented = AugmentedFaces(train, module.augment).__getitems__(list(range(8)))
    plain = train.image_batch(range(8))
    assert not torch.equal(torch.stack([s["image"] for s in augmented]), plain)


def test_the_same_seed_gives_the_same_augmented_batches() -> None:
    module = synthetic({"flip": True, "max_shift": 2})
    first, again, other = train_batches(module, 7), train_batches(module, 7), train_batches(module, 8)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_off_is_bit_identical_to_no_augmentation() -> None:
    off, none = synthetic({"flip": False, "max_shift": 0}), synthetic(None)
    assert off.train_dataloader().dataset is off.datasets["train"]
    for a, b in zip(train_batches(off, 1), train_batches(none, 1), strict=True):
        assert torch.equal(a, b)
    train = off.datasets["train"]
    assert torch.equal(train.pixels([3, 1, 2], Augment()), train.pixels([3, 1, 2]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_shift": -1}, "data.augment.max_shift must be a non-negative integer"),
        ({"max_shift": 1.5}, "data.augment.max_shift must be a non-negative integer"),
        ({"max_shift": 16}, "data.augment.max_shift=16 must be below half of data.image_size=32"),
        ({"flip": "yes"}, "data.augment.flip must be true or false"),
        ({"flip": True, "shift": 2}, r"data.augment has unknown options \['shift'\]"),
    ],
)
def test_bad_options_are_clear_errors(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Augment.from_config(options, 32)


def test_a_bad_option_on_the_command_line_names_it(tmp_path: Path) -> None:
    cfg = compose_config(["data.image_size=32", "data.augment.max_shift=20", f"paths.data_dir={tmp_path}"])
    with pytest.raises(InstantiationException, match=r"data\.augment\.max_shift=20 must be below half"):
        instantiate(cfg.data)


def test_the_synthetic_default_is_off_and_the_disk_presets_on(tmp_path: Path) -> None:
    assert dict(compose_config([]).data.augment) == {"flip": False, "max_shift": 0}
    for name in ("affectnet", "folder", "pooled"):
        assert dict(compose_config([f"data={name}"]).data.augment) == {"flip": True, "max_shift": 4}


def test_fast_dev_run_trains_with_augmentation_on_a_disk_layout(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "folder")
    overrides = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"]
    overrides += ["data=folder", f"data.root={root}", "data.image_size=32", "data.batch_size=8"]
    cfg = compose_config([*overrides, "trainer.max_epochs=1", "trainer.fast_dev_run=true"])
    module = instantiate(cfg.data)
    module.prepare_data()
    module.setup("fit")
    assert isinstance(module.train_dataloader().dataset, AugmentedFaces)
    assert module.augment == Augment(flip=True, max_shift=4)
    metrics = train(cfg)
    assert metrics["run"]["global_step"] == 1 and np.isfinite(metrics["val/loss"])


def test_a_run_with_augmentation_resumes_exactly(tmp_path: Path) -> None:
    """The draws come from torch's global generator, which RNGStateCheckpoint carries: a run resumed from an
    end-of-epoch checkpoint flips and shifts the same faces as the uninterrupted one, so every figure is equal."""
    from tests.test_reliability import EPOCHS, SimulatedCrashError, config, figures

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        augment = ["data.augment.flip=true", "data.augment.max_shift=3", f"trainer.max_epochs={EPOCHS}"]
        reference = train(config(tmp_path / "reference", tmp_path / "data", *augment))
        out = tmp_path / "run"
        stop = ["+callbacks.stop._target_=tests.test_reliability.StopAtEpoch", "+callbacks.stop.epoch=2"]
        with pytest.raises(SimulatedCrashError):
            train(config(out, tmp_path / "data", *augment, *stop))
        resumed = train(config(out, tmp_path / "data", *augment, "ckpt_path=last"))
        assert resumed["run"]["global_step"] == reference["run"]["global_step"]
        assert figures(resumed) == figures(reference)
        plain = train(config(tmp_path / "plain", tmp_path / "data", f"trainer.max_epochs={EPOCHS}"))
        assert figures(plain) != figures(reference)  # the augmentation did change the batches
    finally:
        torch.set_num_threads(before)
