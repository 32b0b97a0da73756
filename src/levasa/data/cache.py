"""The preprocessing cache: every face decoded, cropped and resized once into a memory-mapped uint8 array.

Decoding and cropping full-size images is the slow part of training on real data, so it happens once. A cache
lives in its own folder under ``cache_dir``, named by a digest of everything that decides its pixels: the
reader, the image files (path, size, modification time), the crop boxes, the image size and the crop
settings. Change any of them and a new cache is built. A cache is built in a temporary folder and renamed
into place only when complete, so a crash during the build leaves nothing that is ever read as a cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from levasa.data.images import ImageError, load_face
from levasa.data.readers.records import Records
from levasa.io import write_json_atomic

log = logging.getLogger(__name__)

CACHE_VERSION = 1
"""Bumped when the cache's pixels would change for the same inputs (crop or resize method)."""
IMAGES_FILE = "images.npy"
INDEX_FILE = "index.json"


@dataclass(frozen=True)
class CropSettings:
    """How faces are cut out and sized.

    Attributes:
        image_size: side of the square faces in the cache.
        box_scale: the square crop's side is ``max(w, h) * box_scale`` of a reader's face box.
    """

    image_size: int = 64
    box_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8, found {self.image_size}")
        if not self.box_scale > 0:
            raise ValueError(f"box_scale must be positive, found {self.box_scale}")


class MemmapImages:
    """The cached faces ``uint8 [N, S, S, 3]``, opened read-only on first use in each process.

    Pickling (DataLoader workers, spawned processes) sends the path, not the pixels.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._array: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int | np.ndarray) -> np.ndarray:
        return self.array[index]

    def __getstate__(self) -> dict:
        return {"path": self.path, "_array": None}


@dataclass
class FaceCache:
    """A complete cache: ``images[i]`` is the face of ``records`` row ``i`` when ``valid[i]``."""

    folder: Path
    images: MemmapImages
    valid: np.ndarray
    build_seconds: float


def cache_key(records: Records, settings: CropSettings) -> str:
    """Digest of everything that decides the cached pixels (files with size and mtime, boxes, settings)."""
    digest = hashlib.sha256()
    header = {"version": CACHE_VERSION, "source": records.source, "root": str(Path(records.root).resolve())}
    digest.update(json.dumps({**header, **settings.__dict__}, sort_keys=True).encode())
    for rel in records.paths:
        try:
            stat = (Path(records.root) / rel).stat()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{rel}\0missing\n".encode())
    if records.boxes is not None:
        digest.update(np.ascontiguousarray(records.boxes).tobytes())
    return digest.hexdigest()[:20]


def decode_faces(
    files: Sequence[Path],
    settings: CropSettings,
    boxes: np.ndarray | None = None,
    out: np.ndarray | None = None,
    skip_invalid: bool = False,
    workers: int | None = None,
    desc: str = "decoding faces",
) -> tuple[np.ndarray, np.ndarray]:
    """Decode, crop and resize ``files`` into ``out`` (``uint8 [N, S, S, 3]``, allocated when None).

    Threads decode in parallel (Pillow releases the GIL while decoding and resizing). Returns ``out`` and
    the boolean ``valid [N]``; an unreadable file raises :class:`ImageError` naming it, or is counted
    invalid (its face left black) when ``skip_invalid``.
    """
    n, size = len(files), settings.image_size
    if out is None:
        out = np.zeros((n, size, size, 3), dtype=np.uint8)
    valid = np.ones(n, dtype=bool)

    def one(i: int) -> None:
        box = None if boxes is None else boxes[i]
        try:
            out[i] = load_face(files[i], size, box, settings.box_scale)
        except ImageError:
            if not skip_invalid:
                raise
            valid[i] = False

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in tqdm(pool.map(one, range(n)), total=n, desc=desc, unit="img", leave=False, mininterval=1.0):
            pass
    if not valid.all():
        bad = [str(files[i]) for i in np.flatnonzero(~valid)[:3]]
        log.warning("skipped %d of %d unreadable images (first: %s)", (~valid).sum(), n, ", ".join(bad))
    return out, valid


def load_or_build(
    records: Records,
    settings: CropSettings,
    cache_dir: str | Path,
    skip_invalid: bool = False,
    workers: int | None = None,
) -> FaceCache:
    """The cache of ``records`` under ``cache_dir``: opened when a complete one exists, else built (with a
    progress bar) into a temporary folder that is renamed into place only once complete."""
    if len(records) == 0:
        raise ValueError(f"{records.source}: no faces to cache under {records.root}")
    folder = Path(cache_dir) / f"{records.source}-{settings.image_size}px-{cache_key(records, settings)}"
    cache = _open(folder, len(records), settings)
    if cache is not None:
        log.info("using the preprocessing cache %s", folder)
        return cache
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        started = time.perf_counter()
        size = settings.image_size
        images = np.lib.format.open_memmap(partial / IMAGES_FILE, "w+", np.uint8, (len(records), size, size, 3))
        files = [Path(records.root) / p for p in records.paths]
        _, valid = decode_faces(
            files, settings, records.boxes, images, skip_invalid, workers, f"caching {records.source} faces"
        )
        images.flush()
        del images
        np.save(partial / "valid.npy", valid)
        seconds = time.perf_counter() - started
        index = {
            "version": CACHE_VERSION,
            "source": records.source,
            "root": str(records.root),
            "n": len(records),
            "n_invalid": int((~valid).sum()),
            "settings": settings.__dict__,
            "build_seconds": round(seconds, 2),
            "keys": records.keys.tolist(),
        }
        write_json_atomic(partial / INDEX_FILE, index)
        try:
            os.replace(partial, folder)
        except OSError:  # another process finished the same cache first: use theirs
            shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("built the preprocessing cache %s: %d faces in %.1f s", folder, len(records), seconds)
    cache = _open(folder, len(records), settings)
    if cache is None:
        raise RuntimeError(f"the preprocessing cache {folder} was built but cannot be opened")
    return cache


def _open(folder: Path, n: int, settings: CropSettings) -> FaceCache | None:
    """A complete cache in ``folder``, or None (absent, or damaged: then removed so that it is rebuilt)."""
    if not folder.is_dir():
        return None
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
        images = MemmapImages(folder / IMAGES_FILE)
        valid = np.load(folder / "valid.npy")
        shape = (n, settings.image_size, settings.image_size, 3)
        if index["n"] != n or images.array.shape != shape or valid.shape != (n,):
            raise ValueError(f"shape {images.array.shape} / {valid.shape} does not match {shape}")
    except (OSError, ValueError, KeyError) as err:
        log.warning("the preprocessing cache %s is damaged (%s); rebuilding it", folder, err)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return FaceCache(folder, images, valid, float(index.get("build_seconds", 0.0)))
