"""Bad image files through the public data path (``data=folder``): odd modes are converted, broken files are
named or, with ``data.skip_invalid=true``, skipped and counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from PIL import Image

from levasa.data.images import ImageError
from tests.formats import make_folder
from tests.helpers import compose_config


def folder_module(tmp_path: Path, root: Path, *overrides: str):
    cfg = compose_config(
        [
            "data=folder",
            f"data.root={root}",
            "data.image_size=32",
            f"data.cache_dir={tmp_path / 'cache'}",
            "data.reader.subject_depth=1",
            *overrides,
        ]
    )
    module = instantiate(cfg.data)
    module.setup("fit")
    return module


def test_grey_alpha_palette_and_16_bit_images_are_converted_to_rgb(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "faces")
    files = sorted(root.rglob("*.png"))[:4]
    pixels = np.asarray(Image.open(files[0]).convert("RGB"))
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    Image.fromarray(grey).save(files[0])  # 8-bit grey
    Image.fromarray(pixels).convert("RGBA").save(files[1])  # with alpha
    Image.fromarray(pixels).convert("P").save(files[2])  # palette
    Image.fromarray(grey.astype(np.uint16) * 257).save(files[3])  # 16-bit grey
    module = folder_module(tmp_path, root)
    faces = {}
    for dataset in module.datasets.values():
        for i in range(len(dataset)):
            faces[dataset.keys[i]] = dataset[i]["image"]
    assert len(faces) == 20
    for path in files:
        face = faces[path.relative_to(root).as_posix()]
        assert face.shape == (3, 32, 32) and face.std() > 0.02
    grey_face = faces[files[0].relative_to(root).as_posix()]
    assert np.allclose(grey_face[0], grey_face[1]) and np.allclose(grey_face[1], grey_face[2])


@pytest.mark.parametrize("damage", ["zero-byte", "truncated", "not an image"])
def test_a_broken_image_is_named_or_skipped_and_counted(tmp_path: Path, damage: str) -> None:
    root = make_folder(tmp_path / "faces")
    victim = sorted(root.rglob("*.jpg"))[3]
    data = victim.read_bytes()
    victim.write_bytes({"zero-byte": b"", "truncated": data[: len(data) // 3], "not an image": b"hello"}[damage])
    with pytest.raises(ImageError, match=victim.name.replace(".", r"\.")):
        folder_module(tmp_path, root)
    module = folder_module(tmp_path, root, "data.skip_invalid=true")
    assert module.skipped == {"unreadable image": 1}
    assert sum(len(ds) for ds in module.datasets.values()) == 19


def test_a_strict_run_after_a_lenient_one_stops_at_the_broken_image(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "faces")
    victim = sorted(root.rglob("*.jpg"))[3]
    victim.write_bytes(b"hello")
    lenient = folder_module(tmp_path, root, "data.skip_invalid=true")
    assert lenient.skipped == {"unreadable image": 1}
    with pytest.raises(ImageError, match=victim.name.replace(".", r"\.")):  # not 19 faces and "nothing was left out"
        folder_module(tmp_path, root)


def test_an_image_over_the_pixel_limit_is_named_with_its_size_or_skipped(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "faces")
    victim = sorted(root.rglob("*.jpg"))[5]
    Image.new("RGB", (300, 200), (90, 90, 90)).save(victim)
    with pytest.raises(ImageError, match=rf"{victim.name}: 300x200 pixels .*data\.max_pixels=50000"):
        folder_module(tmp_path, root, "data.max_pixels=50000")
    module = folder_module(tmp_path, root, "data.max_pixels=50000", "data.skip_invalid=true")
    assert module.skipped == {"unreadable image": 1}
    assert sum(len(ds) for ds in module.datasets.values()) == 19
    assert folder_module(tmp_path, root, "data.max_pixels=null").skipped == {}


def test_data_cache_hash_keys_the_cache_on_each_images_bytes(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "faces")
    hashed = folder_module(tmp_path, root, "data.cache_hash=true").cache().folder
    plain = folder_module(tmp_path, root).cache().folder
    assert hashed != plain
    assert json.loads((hashed / "index.json").read_text())["identity"]["files"] == "content"
    assert json.loads((plain / "index.json").read_text())["identity"]["files"] == "stat"
