"""The preprocessing cache: built once, reused, rebuilt when its inputs change, never used half-written."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import levasa.data.cache as cache_module
from levasa.data.cache import CropSettings, MemmapImages, load_or_build
from levasa.data.images import ImageError, load_face, square_box
from levasa.data.readers.records import Records


def write_images(root: Path, n: int = 6, size: int = 40, fmt: str = "png") -> Records:
    """``n`` images of distinct flat colours under ``root`` and their records."""
    paths = []
    for i in range(n):
        rel = f"sub{i % 2}/img{i}.{fmt}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (size, size + 8), (20 * i, 255 - 20 * i, 100)).save(root / rel)
        paths.append(rel)
    keys = [f"k{i}" for i in range(n)]
    return Records("test", root, paths, np.zeros((n, 2)), np.zeros(n), keys, keys, [""] * n)


def cache_folders(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if p.is_dir())


def test_cache_holds_the_decoded_faces_and_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = write_images(tmp_path / "faces")
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert cache.images.array.shape == (6, 16, 16, 3) and cache.valid.all()
    for i in (0, 5):
        np.testing.assert_array_equal(cache.images[i], load_face(records.root / records.paths[i], 16))

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a complete cache must not be decoded again")

    monkeypatch.setattr(cache_module, "load_face", fail)
    again = load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert again.folder == cache.folder and len(cache_folders(tmp_path / "cache")) == 1


def test_a_new_cache_when_size_crop_boxes_or_files_change(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    folders = {load_or_build(records, CropSettings(16), cache_dir).folder}
    folders.add(load_or_build(records, CropSettings(24), cache_dir).folder)
    folders.add(load_or_build(records, CropSettings(16, box_scale=1.5), cache_dir).folder)
    boxed = records.select(np.arange(len(records)))
    boxed.boxes = np.tile(np.array([[2, 2, 20, 20]], dtype=np.float32), (len(records), 1))
    folders.add(load_or_build(boxed, CropSettings(16), cache_dir).folder)
    assert len(folders) == 4
    first = records.root / records.paths[0]
    Image.new("RGB", (40, 48), (0, 0, 0)).save(first)
    os.utime(first, ns=(1, 1))
    changed = load_or_build(records, CropSettings(16), cache_dir)
    assert changed.folder not in folders
    assert changed.images[0].max() == 0  # the new pixels, not the old cache's


def test_a_crash_during_the_build_leaves_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = write_images(tmp_path / "faces")
    calls = {"n": 0}
    real = cache_module.load_face

    def crash_on_the_fourth(*args: object, **kwargs: object) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "load_face", crash_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        load_or_build(records, CropSettings(16), tmp_path / "cache", workers=1)
    assert cache_folders(tmp_path / "cache") == []  # neither a cache nor a partial build is left
    monkeypatch.setattr(cache_module, "load_face", real)
    assert load_or_build(records, CropSettings(16), tmp_path / "cache").valid.all()


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache")
    (cache.folder / "images.npy").write_bytes(b"\x93NUMPY truncated")
    rebuilt = load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert rebuilt.images.array.shape == (6, 16, 16, 3)
    np.testing.assert_array_equal(rebuilt.images[2], load_face(records.root / records.paths[2], 16))


def test_a_corrupt_image_is_named_or_counted(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces", fmt="jpg")
    bad = records.root / records.paths[3]
    bad.write_bytes(bad.read_bytes()[:60])  # truncated JPEG
    with pytest.raises(ImageError, match=r"img3\.jpg"):
        load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert cache_folders(tmp_path / "cache") == []
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache", skip_invalid=True)
    assert cache.valid.tolist() == [True, True, True, False, True, True]


def test_the_box_is_what_is_cropped(tmp_path: Path) -> None:
    canvas = np.zeros((300, 400, 3), dtype=np.uint8)
    canvas[100:160, 250:310] = (255, 0, 0)  # a red 60x60 "face" at x=250, y=100
    Image.fromarray(canvas).save(tmp_path / "frame.png")
    face = load_face(tmp_path / "frame.png", 16, box=(250, 100, 60, 60))
    assert (face[..., 0] > 250).all() and (face[..., 1:] < 5).all()
    whole = load_face(tmp_path / "frame.png", 16)  # no box: the centred square of the whole frame
    assert (whole == 0).mean() > 0.5
    assert square_box((0, 0, 10, 20), 100, 100, scale=2.0) == (-15.0, -10.0, 25.0, 30.0)
    with pytest.raises(ValueError, match="positive width"):
        square_box((0, 0, 0, 20), 100, 100)


def test_jpeg_draft_decoding_matches_full_decoding(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:960, 0:1000]
    smooth = np.stack([xx * 255 // 1000, yy * 255 // 960, (xx + yy) * 255 // 1960], axis=-1).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_path / "big.jpg", quality=95)
    fast = load_face(tmp_path / "big.jpg", 64, box=(300, 200, 500, 400)).astype(int)
    with Image.open(tmp_path / "big.jpg") as image:
        full = image.convert("RGB").crop((300, 150, 800, 650)).resize((64, 64), Image.Resampling.LANCZOS)
    assert np.abs(fast - np.asarray(full, dtype=int)).mean() < 2.0


def test_memmap_images_pickle_their_path_not_their_pixels(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    images = load_or_build(records, CropSettings(16), tmp_path / "cache").images
    assert images[1].shape == (16, 16, 3)
    restored = pickle.loads(pickle.dumps(images))
    assert isinstance(restored, MemmapImages) and len(pickle.dumps(images)) < 1000
    np.testing.assert_array_equal(restored[1], images[1])
