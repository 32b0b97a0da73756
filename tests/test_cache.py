"""The preprocessing cache: built once, reused, rebuilt when its inputs change, never used half-written."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

import levasa.data.cache as cache_module
from levasa.data.cache import CropSettings, MemmapImages, load_or_build
from levasa.data.images import ImageError, load_face, square_box
from levasa.data.readers.records import Records
from levasa.data.synthetic.generate import load_or_generate
from tests.helpers import ROOT


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


# ------------------------------------------------------------------------ what a cache is keyed on (issue 16)


def corrupt_one(records: Records, i: int = 3) -> Path:
    """Truncate row ``i``'s image (a PNG) so that it cannot be decoded; returns its path."""
    bad = records.root / records.paths[i]
    bad.write_bytes(bad.read_bytes()[:40])
    return bad


def test_a_lenient_cache_is_not_reused_by_a_strict_run(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    corrupt_one(records)
    lenient = load_or_build(records, CropSettings(16), tmp_path / "cache", skip_invalid=True)
    assert lenient.valid.tolist() == [True, True, True, False, True, True]
    with pytest.raises(ImageError, match=r"img3\.png"):  # as if no lenient cache existed
        load_or_build(records, CropSettings(16), tmp_path / "cache")
    again = load_or_build(records, CropSettings(16), tmp_path / "cache", skip_invalid=True)
    assert again.folder == lenient.folder  # the lenient cache is still there for lenient runs


def test_a_strict_cache_is_not_reused_by_a_lenient_run_with_another_pixel_limit(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")  # 40x48 images: 1920 pixels each
    cache_dir = tmp_path / "cache"
    strict = load_or_build(records, CropSettings(16), cache_dir)
    limited = load_or_build(records, CropSettings(16, max_pixels=1000), cache_dir, skip_invalid=True)
    assert limited.folder != strict.folder and not limited.valid.any()
    with pytest.raises(ImageError, match=r"img0\.png: 40x48 pixels"):
        load_or_build(records, CropSettings(16, max_pixels=1000), cache_dir)
    assert load_or_build(records, CropSettings(16), cache_dir).folder == strict.folder


def test_the_index_records_everything_that_decides_the_cache(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    cache = load_or_build(records, CropSettings(16, max_pixels=10_000), tmp_path / "cache", skip_invalid=True)
    index = json.loads((cache.folder / "index.json").read_text())
    assert index["identity"]["skip_invalid"] is True and index["identity"]["files"] == "stat"
    assert index["identity"]["settings"] == {"image_size": 16, "box_scale": 1.0, "max_pixels": 10_000}
    assert index["content"]["pillow"] == PIL.__version__ and index["content"]["version"] == cache_module.CACHE_VERSION


def test_a_cache_whose_index_disagrees_is_rebuilt(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    corrupt_one(records)
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache", skip_invalid=True)
    index = json.loads((cache.folder / "index.json").read_text())
    index["identity"]["skip_invalid"] = False  # a folder whose name and content disagree is not trusted
    (cache.folder / "index.json").write_text(json.dumps(index))
    rebuilt = load_or_build(records, CropSettings(16), tmp_path / "cache", skip_invalid=True)
    assert json.loads((rebuilt.folder / "index.json").read_text())["identity"]["skip_invalid"] is True


def rewrite_keeping_size_and_mtime(path: Path, colour: tuple[int, int, int]) -> None:
    """Rewrite the BMP ``path`` with other pixels of the same size and give it back its mtime (as ``cp -p``,
    ``rsync -t`` or ``tar x`` do)."""
    before = path.stat()
    with Image.open(path) as image:
        size = image.size
    Image.new("RGB", size, colour).save(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_an_image_rewritten_with_its_size_and_mtime_is_decoded_again(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces", fmt="bmp")
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert cache.images[2].max() > 0
    rewrite_keeping_size_and_mtime(records.root / records.paths[2], (0, 0, 0))
    fresh = load_or_build(records, CropSettings(16), tmp_path / "cache")
    assert fresh.folder != cache.folder
    assert fresh.images[2].max() == 0  # the new pixels, not the old cache's


def test_an_image_replaced_by_a_copy_with_its_size_and_mtime_is_decoded_again(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces", fmt="bmp")
    cache = load_or_build(records, CropSettings(16), tmp_path / "cache")
    target = records.root / records.paths[1]
    other = tmp_path / "other.bmp"
    Image.new("RGB", (40, 48), (0, 0, 0)).save(other)
    os.utime(other, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns))
    os.replace(other, target)  # what rsync does: a new file renamed over the old one
    assert load_or_build(records, CropSettings(16), tmp_path / "cache").images[1].max() == 0
    assert cache.folder.is_dir()


def test_content_hashing_keys_on_the_bytes_of_each_image(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces", fmt="bmp")
    cache_dir = tmp_path / "cache"
    hashed = load_or_build(records, CropSettings(16), cache_dir, hash_files=True)
    assert hashed.folder != load_or_build(records, CropSettings(16), cache_dir).folder
    first = records.root / records.paths[0]
    os.chmod(first, 0o644)  # a new ctime, the same bytes: the hashed cache is still the one
    first.write_bytes(first.read_bytes())
    assert load_or_build(records, CropSettings(16), cache_dir, hash_files=True).folder == hashed.folder
    rewrite_keeping_size_and_mtime(first, (0, 0, 0))
    changed = load_or_build(records, CropSettings(16), cache_dir, hash_files=True)
    assert changed.folder != hashed.folder and changed.images[0].max() == 0


# ---------------------------------------------------------------------------- leftovers and space (issue 16)


def cache_main(argv: list[str]) -> None:
    """``python -m levasa.data.cache ARGV``, in this process."""
    cache_module.main(argv)


def partials(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob(".*.partial"))


BUILD_SLOWLY = """
import sys, time
import numpy as np
import levasa.data.cache as cache
from levasa.data.readers.records import Records

root, out = sys.argv[1], sys.argv[2]
paths = [f"sub{i % 2}/img{i}.png" for i in range(6)]
keys = [f"k{i}" for i in range(6)]
records = Records("test", root, paths, np.zeros((6, 2)), np.zeros(6), keys, keys, [""] * 6)
real = cache.load_face
def slow(*args, **kwargs):
    time.sleep(0.5)
    return real(*args, **kwargs)
cache.load_face = slow
cache.load_or_build(records, cache.CropSettings(16), out, workers=1)
"""


def test_a_build_killed_by_sigkill_leaves_a_partial_folder_the_next_build_removes(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", BUILD_SLOWLY, str(records.root), str(cache_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (cache_dir.is_dir() and partials(cache_dir)) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.05)
        time.sleep(0.3)  # some faces written
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert len(partials(cache_dir)) == 1  # what a SIGKILL leaves
    cache = load_or_build(records, CropSettings(16), cache_dir)
    assert cache.valid.all() and partials(cache_dir) == []
    assert cache_folders(cache_dir) == [cache.folder]


def test_a_partial_folder_of_a_live_build_is_left_alone(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = cache_module.host_name()
        ours = cache_dir / f".test-16px-aaaaaaaa-0000000000000000.{host}.{live.pid}.abcd1234.partial"
        ours.mkdir(parents=True)
        old = cache_dir / f".test-16px-aaaaaaaa-1111111111111111.{host}.{live.pid}.abcd1234.partial"
        old.mkdir()
        os.utime(old, (1, 1))  # older than any build takes: removed whoever owns it
        foreign = cache_dir / ".test-16px-aaaaaaaa-2222222222222222.otherhost.1.abcd1234.partial"
        foreign.mkdir()
        load_or_build(records, CropSettings(16), cache_dir)
        assert partials(cache_dir) == sorted([ours, foreign])
    finally:
        live.kill()
        live.wait()
    load_or_build(records, CropSettings(24), cache_dir)  # a later build: the owner is gone
    assert partials(cache_dir) == [foreign]


def test_cache_folders_and_files_follow_the_umask(tmp_path: Path) -> None:
    records = write_images(tmp_path / "faces")
    previous = os.umask(0o002)  # a group-shared cache directory
    try:
        cache = load_or_build(records, CropSettings(16), tmp_path / "cache")
    finally:
        os.umask(previous)
    assert oct(cache.folder.stat().st_mode & 0o777) == oct(0o775)
    for name in ("images.npy", "valid.npy", "index.json"):
        assert oct((cache.folder / name).stat().st_mode & 0o777) == oct(0o664), name


def test_prune_lists_then_removes_superseded_caches_and_keeps_the_current_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    old = load_or_build(records, CropSettings(16), cache_dir).folder
    other = load_or_build(records, CropSettings(24), cache_dir).folder  # another setting: not superseded
    Image.new("RGB", (40, 48), (0, 0, 0)).save(records.root / records.paths[0])
    current = load_or_build(records, CropSettings(16), cache_dir).folder  # the files changed: a new cache
    stale = cache_dir / f".{old.name}.otherhost.1.abcd1234.partial"
    stale.mkdir()
    (stale / "images.npy").write_bytes(b"\0" * 5000)
    os.utime(stale, (1, 1))
    os.utime(stale / "images.npy", (1, 1))
    (cache_dir / "notes.txt").write_text("not a cache")
    (cache_dir / "mine").mkdir()
    before = sorted(cache_dir.iterdir())

    cache_main(["prune", "--cache-dir", str(cache_dir), "--min-age", "0", "--dry-run"])
    listing = capsys.readouterr().out
    assert sorted(cache_dir.iterdir()) == before  # a dry run removes nothing
    assert old.name in listing and stale.name in listing and "superseded" in listing and "KiB" in listing
    assert current.name not in listing and other.name not in listing

    cache_main(["prune", "--cache-dir", str(cache_dir), "--min-age", "0"])
    assert sorted(cache_dir.iterdir()) == sorted([current, other, cache_dir / "notes.txt", cache_dir / "mine"])
    assert "removed 2" in capsys.readouterr().out


def test_prune_keeps_caches_used_recently(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    old = load_or_build(records, CropSettings(16), cache_dir).folder
    Image.new("RGB", (40, 48), (0, 0, 0)).save(records.root / records.paths[0])
    load_or_build(records, CropSettings(16), cache_dir)
    cache_main(["prune", "--cache-dir", str(cache_dir)])  # the default --min-age: used an hour ago or less
    assert old.is_dir() and "nothing to remove" in capsys.readouterr().out


def test_the_log_says_how_much_space_caches_use(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = write_images(tmp_path / "faces")
    cache_dir = tmp_path / "cache"
    load_or_build(records, CropSettings(16), cache_dir)
    Image.new("RGB", (40, 48), (0, 0, 0)).save(records.root / records.paths[0])
    with caplog.at_level(logging.INFO, logger="levasa.data.cache"):
        load_or_build(records, CropSettings(16), cache_dir)
    assert re.search(r"2 preprocessing caches .* use [\d.]+ KiB; 1 superseded \([\d.]+ KiB\)", caplog.text)
    assert "python -m levasa.data.cache prune" in caplog.text


def test_the_synthetic_cache_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = {"n_identities": 4, "expressions_per_identity": 2, "image_size": 16}
    real = np.savez

    def half_then_crash(file: object, **arrays: np.ndarray) -> None:
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        load_or_generate(tmp_path / "synthetic", **tiny)
    assert list((tmp_path / "synthetic").iterdir()) == []  # neither the target nor a temporary file
    monkeypatch.setattr(np, "savez", real)
    faces = load_or_generate(tmp_path / "synthetic", **tiny)
    (written,) = (tmp_path / "synthetic").iterdir()
    assert written.suffix == ".npz" and not written.name.startswith(".")
    assert len(load_or_generate(tmp_path / "synthetic", **tiny).images) == len(faces.images)


def test_the_synthetic_cache_clears_temporary_files_a_kill_left(tmp_path: Path) -> None:
    folder = tmp_path / "synthetic"
    folder.mkdir()
    old = folder / ".synthetic_0123456789abcdef.npz.x1y2z3.tmp"
    old.write_bytes(b"PK half")
    os.utime(old, (1, 1))
    recent = folder / ".synthetic_fedcba9876543210.npz.a1b2c3.tmp"  # may be another process's write in progress
    recent.write_bytes(b"PK half")
    load_or_generate(folder, n_identities=4, expressions_per_identity=2, image_size=16)
    assert not old.exists() and recent.exists()
