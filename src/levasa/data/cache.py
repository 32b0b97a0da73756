"""The preprocessing cache: every face decoded, cropped and resized once into a memory-mapped uint8 array.

Decoding and cropping full-size images is the slow part of training on real data, so it happens once. A cache
lives in its own folder under ``cache_dir``, named ``<source>-<size>px-<faces>-<content>``:

- ``<faces>`` digests what the cache is *of*: the reader and its root, the image paths and crop boxes, the
  crop and decode settings (:class:`CropSettings`, the pixel limit included), whether unreadable images were
  skipped (``skip_invalid``: a lenient cache holds fewer faces and is never used by a strict run) and how the
  files are keyed;
- ``<content>`` adds the state of every image file and what decodes them: by default each file's size,
  modification time, inode and change time (a rewrite, even one that restores the size and mtime as ``cp -p``,
  ``rsync -t`` or ``tar x`` do, gets a new inode or ctime), or with ``hash_files`` the SHA-256 of its bytes;
  plus :data:`CACHE_VERSION` and the Pillow version. Where a reader holds the faces in memory (FER2013's pixels
  come in its CSV: :attr:`Records.pixels`), ``<faces>`` also digests the rows' keys (every row names the same
  file) and ``<content>`` the pixels themselves instead of the file states.

Change any of them and a new cache is built; ``index.json`` records them all and a folder whose index disagrees
with its name is rebuilt. Caches of the same faces whose files have changed since are *superseded*:
``python -m levasa.data.cache prune`` lists and removes them (see :func:`main`), and each run logs how much
space the caches use.

A cache is built in a hidden ``.<name>.<host>.<pid>.<token>.partial`` folder and renamed into place only when
complete, so a crash during the build leaves nothing that is ever read as a cache. A partial folder whose
process is gone (or that nothing has written for :data:`STALE_SECONDS`) is removed by the next build. Folders
and files get the umask's mode, so a group-shared cache directory works.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from tqdm.auto import tqdm

from levasa.data.images import DEFAULT_MAX_PIXELS, ImageError, face_from_pixels, load_face
from levasa.data.readers.records import Records
from levasa.io import write_json_atomic

log = logging.getLogger(__name__)

CACHE_VERSION = 2
"""Bumped when the cache's pixels would change for the same inputs (2: EXIF orientation, the pixel limit)."""
IMAGES_FILE = "images.npy"
VALID_FILE = "valid.npy"
INDEX_FILE = "index.json"
DEFAULT_CACHE_DIR = "data/cache"
"""Where the shipped configs keep caches (``${paths.data_dir}/cache``), the default of ``prune``."""
STALE_SECONDS = 24 * 3600.0
"""A partial build that nothing has written for this long is stale whoever owns it (a build writes its folder
all the time; this covers builds on other hosts, whose processes cannot be checked)."""
PRUNE_MIN_AGE_HOURS = 1.0
"""``prune`` leaves caches used within this many hours alone (a run may still be reading them)."""

CACHE_NAME = re.compile(r"(?P<source>[^.]+)-(?P<size>\d+)px-(?P<faces>[0-9a-f]{8})-(?P<content>[0-9a-f]{16})")
OLD_CACHE_NAME = re.compile(r"[^.]+-\d+px-[0-9a-f]{20}")
"""Cache folders of version 1 (one digest of everything); superseded by any newer levasa."""
PARTIAL_NAME = re.compile(r"\.(?P<cache>[^.]+)\.(?P<host>[^.]+)\.(?P<pid>\d+)\.(?P<token>[0-9a-z_]+)\.partial")
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class CropSettings:
    """How faces are cut out, sized and decoded.

    Attributes:
        image_size: side of the square faces in the cache.
        box_scale: the square crop's side is ``max(w, h) * box_scale`` of a reader's face box.
        max_pixels: images declaring more pixels are refused before decoding (an :class:`ImageError` naming
            the file and its size, or an invalid face with ``skip_invalid``); None: only Pillow's own limit.
    """

    image_size: int = 64
    box_scale: float = 1.0
    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8, found {self.image_size}")
        if not self.box_scale > 0:
            raise ValueError(f"box_scale must be positive, found {self.box_scale}")
        limit = self.max_pixels
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"max_pixels must be a positive integer or null, found {limit!r}")


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


# ------------------------------------------------------------------------------------------------------ keys


def cache_identity(records: Records, settings: CropSettings, skip_invalid: bool, hash_files: bool) -> dict:
    """What a cache is of, besides its paths and boxes: the reader and root, the settings, whether unreadable
    images were skipped and how the files are keyed (``"stat"`` or ``"content"``; ``"pixels"`` for faces held in
    memory, keyed on their pixels)."""
    return {
        "source": records.source,
        "root": str(Path(records.root).resolve()),
        "settings": dataclasses.asdict(settings),
        "skip_invalid": bool(skip_invalid),
        "files": "pixels" if records.pixels is not None else "content" if hash_files else "stat",
    }


def content_header() -> dict:
    """What decodes the files: the cache format's version and the Pillow version."""
    return {"version": CACHE_VERSION, "pillow": PIL.__version__}


def cache_key(
    records: Records,
    settings: CropSettings,
    skip_invalid: bool = False,
    hash_files: bool = False,
    workers: int | None = None,
) -> str:
    """``<faces>-<content>``: digests of what the cache is of (identity, paths, boxes) and of that plus the state
    of every file (size, mtime, inode and ctime; or with ``hash_files`` the SHA-256 of its bytes) and
    :func:`content_header`. Faces held in memory (``records.pixels``) add their keys to the first and their
    pixels, in place of the file states, to the second."""
    faces = hashlib.sha256()
    identity = cache_identity(records, settings, skip_invalid, hash_files)
    faces.update(json.dumps(identity, sort_keys=True).encode())
    for rel in records.paths:
        faces.update(f"{rel}\n".encode())
    if records.boxes is not None:
        faces.update(np.ascontiguousarray(records.boxes).tobytes())
    if records.pixels is not None:
        for key in records.keys:
            faces.update(f"{key}\n".encode())
    content = hashlib.sha256(faces.digest())
    content.update(json.dumps(content_header(), sort_keys=True).encode())
    if records.pixels is not None:
        content.update(f"{records.pixels.shape}\n".encode())
        content.update(np.ascontiguousarray(records.pixels).data)
        return f"{faces.hexdigest()[:8]}-{content.hexdigest()[:16]}"
    files = [Path(records.root) / rel for rel in records.paths]
    state = _file_hashes(files, workers) if hash_files else [_file_stat(path) for path in files]
    for rel, text in zip(records.paths, state, strict=True):
        content.update(f"{rel}\0{text}\n".encode())
    return f"{faces.hexdigest()[:8]}-{content.hexdigest()[:16]}"


def _file_stat(path: Path) -> str:
    """What changes when ``path`` is rewritten: its size, mtime, inode and ctime (``missing`` when absent).

    The ctime cannot be set back by a program (restoring the mtime sets it to now) and a file renamed over the
    old one has another inode, so a rewrite that keeps the size and mtime still changes the key."""
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return "missing"
    return f"{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\0{stat.st_ctime_ns}"


def _file_hashes(files: Sequence[Path], workers: int | None) -> list[str]:
    """The SHA-256 of each file's bytes (``missing`` when it cannot be read), read by threads."""

    def one(path: Path) -> str:
        digest = hashlib.sha256()
        try:
            with path.open("rb") as f:
                while chunk := f.read(READ_CHUNK):
                    digest.update(chunk)
        except (OSError, ValueError):
            return "missing"
        return digest.hexdigest()

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        return list(tqdm(pool.map(one, files), total=len(files), desc="hashing images", unit="img", leave=False))


# ------------------------------------------------------------------------------------------------- decoding


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
    the boolean ``valid [N]``; an unreadable file (or one over ``settings.max_pixels``) raises
    :class:`ImageError` naming it, or is counted invalid (its face left black) when ``skip_invalid``.
    """
    n, size = len(files), settings.image_size
    if out is None:
        out = np.zeros((n, size, size, 3), dtype=np.uint8)
    valid = np.ones(n, dtype=bool)

    def one(i: int) -> None:
        box = None if boxes is None else boxes[i]
        try:
            out[i] = load_face(files[i], size, box, settings.box_scale, settings.max_pixels)
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


def resize_faces(
    pixels: np.ndarray,
    settings: CropSettings,
    boxes: np.ndarray | None = None,
    out: np.ndarray | None = None,
    desc: str = "resizing faces",
) -> np.ndarray:
    """Crop and resize faces held in memory (uint8 ``[N, H, W]`` grey or ``[N, H, W, 3]``) into ``out``
    (``uint8 [N, S, S, 3]``, allocated when None) as :func:`decode_faces` does files (:func:`face_from_pixels`)."""
    n, size = len(pixels), settings.image_size
    if out is None:
        out = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in tqdm(range(n), total=n, desc=desc, unit="img", leave=False, mininterval=1.0):
        out[i] = face_from_pixels(pixels[i], size, None if boxes is None else boxes[i], settings.box_scale)
    return out


# ------------------------------------------------------------------------------------------ building, opening


def load_or_build(
    records: Records,
    settings: CropSettings,
    cache_dir: str | Path,
    skip_invalid: bool = False,
    workers: int | None = None,
    hash_files: bool = False,
) -> FaceCache:
    """The cache of ``records`` under ``cache_dir``: opened when a complete one exists, else built (with a
    progress bar) into a hidden partial folder that is renamed into place only once complete.

    Args:
        records: what a reader found.
        settings: the crop and decode settings.
        cache_dir: the folder holding the caches (created with the umask's mode).
        skip_invalid: count unreadable images as invalid faces instead of raising :class:`ImageError`; such a
            cache is keyed apart from a strict one.
        workers: threads decoding (and hashing) images (None: up to 8, one per core).
        hash_files: key the cache on each image's bytes instead of its size, mtime, inode and ctime (reads
            every file at each call: for filesystems whose inodes or ctimes are not stable).
    """
    if len(records) == 0:
        raise ValueError(f"{records.source}: no faces to cache under {records.root}")
    cache_dir = Path(cache_dir)
    identity = cache_identity(records, settings, skip_invalid, hash_files)
    key = cache_key(records, settings, skip_invalid, hash_files, workers)
    folder = cache_dir / f"{records.source}-{settings.image_size}px-{key}"
    cache = _open(folder, len(records), settings, identity)
    if cache is not None:
        log.info("using the preprocessing cache %s", folder)
    else:
        cache = _build(records, settings, folder, identity, skip_invalid, workers)
    with suppress(OSError):  # marks the last use (prune keeps the most recently used cache of the same faces)
        os.utime(folder)
    _log_space(cache_dir)
    return cache


def _build(
    records: Records,
    settings: CropSettings,
    folder: Path,
    identity: dict,
    skip_invalid: bool,
    workers: int | None,
) -> FaceCache:
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(folder.parent)
    partial = _new_partial(folder)
    try:
        started = time.perf_counter()
        size = settings.image_size
        images = np.lib.format.open_memmap(partial / IMAGES_FILE, "w+", np.uint8, (len(records), size, size, 3))
        desc = f"caching {records.source} faces"
        if records.pixels is not None:
            resize_faces(records.pixels, settings, records.boxes, images, desc)
            valid = np.ones(len(records), dtype=bool)
        else:
            files = [Path(records.root) / p for p in records.paths]
            _, valid = decode_faces(files, settings, records.boxes, images, skip_invalid, workers, desc)
        images.flush()
        del images
        np.save(partial / VALID_FILE, valid)
        seconds = time.perf_counter() - started
        index = {
            "version": CACHE_VERSION,
            "source": records.source,
            "root": str(records.root),
            "n": len(records),
            "n_invalid": int((~valid).sum()),
            "settings": dataclasses.asdict(settings),
            "identity": identity,
            "content": content_header(),
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
    cache = _open(folder, len(records), settings, identity)
    if cache is None:
        raise RuntimeError(f"the preprocessing cache {folder} was built but cannot be opened")
    return cache


def _open(folder: Path, n: int, settings: CropSettings, identity: dict) -> FaceCache | None:
    """A complete cache in ``folder``, or None (absent, or damaged or made for other inputs: then removed so
    that it is rebuilt)."""
    if not folder.is_dir():
        return None
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
        if index.get("identity") != identity or index.get("content") != content_header():
            raise ValueError("its index.json records other inputs than its name says")
        images = MemmapImages(folder / IMAGES_FILE)
        valid = np.load(folder / VALID_FILE)
        shape = (n, settings.image_size, settings.image_size, 3)
        if index["n"] != n or images.array.shape != shape or valid.shape != (n,):
            raise ValueError(f"shape {images.array.shape} / {valid.shape} does not match {shape}")
        if not identity["skip_invalid"] and not valid.all():
            raise ValueError("a strict cache with invalid faces")
    except (OSError, ValueError, KeyError, AttributeError) as err:
        log.warning("the preprocessing cache %s is damaged (%s); rebuilding it", folder, err)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return FaceCache(folder, images, valid, float(index.get("build_seconds", 0.0)))


# ------------------------------------------------------------------------------------------ partial builds


def host_name() -> str:
    """This machine's name as it appears in partial folder names (letters, digits and ``-`` only)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def _new_partial(folder: Path) -> Path:
    """A new, empty hidden folder beside ``folder`` naming this host and process (mode from the umask)."""
    partial = folder.parent / f".{folder.name}.{host_name()}.{os.getpid()}.{secrets.token_hex(4)}.partial"
    partial.mkdir()
    return partial


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (True where that cannot be checked without harm)."""
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's
        return True
    return True


def _last_written(path: Path) -> float:
    """The newest modification time of ``path`` and the entries directly in it."""
    newest = path.stat().st_mtime
    with suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            with suppress(OSError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def partial_is_stale(path: Path, now: float | None = None) -> bool:
    """Whether the partial build folder ``path`` is abandoned: its process (on this host) is gone, or nothing
    has written it for :data:`STALE_SECONDS` (any host; also a folder of an older levasa, which names no
    process)."""
    try:
        age = (time.time() if now is None else now) - _last_written(path)
    except OSError:
        return False
    if age > STALE_SECONDS:
        return True
    match = PARTIAL_NAME.fullmatch(path.name)
    if match is None or match["host"] != host_name():
        return False
    return not _alive(int(match["pid"]))


def _partials(cache_dir: Path) -> list[Path]:
    """The hidden partial build folders in ``cache_dir``."""
    if not cache_dir.is_dir():
        return []
    return sorted(
        Path(e.path)
        for e in os.scandir(cache_dir)
        if e.name.startswith(".") and e.name.endswith(".partial") and e.is_dir(follow_symlinks=False)
    )


def remove_stale_partials(cache_dir: str | Path) -> list[Path]:
    """Delete the partial build folders in ``cache_dir`` that killed builds left (see :func:`partial_is_stale`);
    a build in progress, here or on another host, is left alone. Returns the folders removed."""
    removed = []
    for partial in _partials(Path(cache_dir)):
        if partial_is_stale(partial):
            size = folder_size(partial)
            shutil.rmtree(partial, ignore_errors=True)
            if not partial.exists():
                removed.append(partial)
                log.warning("removed %s (%s), left by a cache build that was killed", partial, human_size(size))
    return removed


# ------------------------------------------------------------------------------------------- space and prune


@dataclass
class CacheEntry:
    """A cache folder or partial build in a cache directory, and why ``prune`` would remove it.

    Attributes:
        path: the folder.
        size: bytes it takes on disk.
        last_used: when it was last opened or built (seconds since the epoch).
        reason: why it is not needed any more; None for a cache still current.
    """

    path: Path
    size: int
    last_used: float
    reason: str | None = None


def folder_size(path: Path) -> int:
    """Bytes the files directly in ``path`` take on disk (allocated blocks where the system reports them)."""
    total = 0
    with suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            with suppress(OSError):
                stat = entry.stat(follow_symlinks=False)
                blocks = getattr(stat, "st_blocks", None)
                total += blocks * 512 if blocks is not None else stat.st_size
    return total


def human_size(size: float) -> str:
    """``size`` bytes as ``512 B``, ``12.3 MiB``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while size >= 1024 and power < len(units) - 1:
        size, power = size / 1024, power + 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"


def survey(cache_dir: str | Path) -> list[CacheEntry]:
    """Every cache folder and stale partial build in ``cache_dir`` with its size, and why each is no longer
    needed: superseded (a newer cache of the same faces, its files since changed, was used later), made by an
    older levasa, damaged (no ``index.json``) or left by a killed build. Other files and folders are not listed."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    entries: list[CacheEntry] = []
    groups: dict[tuple[str, str, str], list[CacheEntry]] = defaultdict(list)
    for item in sorted(os.scandir(cache_dir), key=lambda e: e.name):
        if not item.is_dir(follow_symlinks=False):
            continue
        path = Path(item.path)
        try:
            used = path.stat().st_mtime
        except OSError:
            continue
        match = CACHE_NAME.fullmatch(item.name)
        if match:
            entry = CacheEntry(path, folder_size(path), used)
            if not (path / INDEX_FILE).is_file():
                entry.reason = "damaged or incomplete (no index.json)"
            else:
                groups[match["source"], match["size"], match["faces"]].append(entry)
        elif OLD_CACHE_NAME.fullmatch(item.name):
            entry = CacheEntry(path, folder_size(path), used, "made by an older levasa (cache version 1)")
        elif item.name.startswith(".") and item.name.endswith(".partial"):
            if not partial_is_stale(path):
                continue
            entry = CacheEntry(path, folder_size(path), used, "partial build left by a killed process")
        else:
            continue
        entries.append(entry)
    for members in groups.values():
        for entry in sorted(members, key=lambda e: e.last_used, reverse=True)[1:]:
            entry.reason = "superseded (a newer cache of the same faces was used since: their files changed)"
    return entries


def _log_space(cache_dir: Path) -> None:
    """Log how much space the caches in ``cache_dir`` take, and how much of it ``prune`` would free."""
    entries = survey(cache_dir)
    caches = [e for e in entries if not e.path.name.startswith(".")]
    unneeded = [e for e in entries if e.reason is not None]
    total = human_size(sum(e.size for e in entries))
    what = f"{len(caches)} preprocessing cache{'s' if len(caches) != 1 else ''} in {cache_dir} use {total}"
    if unneeded:
        log.info(
            "%s; %d superseded (%s): `python -m levasa.data.cache prune --cache-dir %s` lists and removes them",
            what,
            len(unneeded),
            human_size(sum(e.size for e in unneeded)),
            cache_dir,
        )
    else:
        log.info("%s", what)


def prune(
    cache_dir: str | Path,
    dry_run: bool = False,
    min_age_hours: float = PRUNE_MIN_AGE_HOURS,
    unused_days: float | None = None,
) -> list[CacheEntry]:
    """Remove the caches of ``cache_dir`` that :func:`survey` finds unneeded, and with ``unused_days`` also
    those not used for that many days; caches used within ``min_age_hours`` are kept (a stale partial build is
    removed whatever its age). Returns what was (with ``dry_run``: would be) removed."""
    now = time.time()
    chosen = []
    for entry in survey(cache_dir):
        if entry.reason is None and unused_days is not None and now - entry.last_used > unused_days * 86400:
            entry.reason = f"not used for {unused_days:g} days"
        partial = entry.path.name.startswith(".")
        if entry.reason is None or (not partial and now - entry.last_used < min_age_hours * 3600):
            continue
        if not dry_run:
            shutil.rmtree(entry.path, ignore_errors=True)
            if entry.path.exists():  # another user's, in a shared cache directory
                log.warning("could not remove %s (%s): is it another user's?", entry.path, entry.reason)
                continue
        chosen.append(entry)
    return chosen


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m levasa.data.cache list|prune``: the preprocessing caches and the space they use; ``prune``
    removes superseded caches (the files of their faces changed since), caches of an older levasa, damaged
    ones and partial builds that killed processes left. ``--dry-run`` only lists them."""
    parser = argparse.ArgumentParser(prog="python -m levasa.data.cache", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("list", "list every cache with its size"), ("prune", "remove unneeded caches")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="default: %(default)s")
        if name == "prune":
            command.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
            command.add_argument(
                "--min-age",
                type=float,
                default=PRUNE_MIN_AGE_HOURS,
                help="keep caches used within this many hours (default: %(default)s)",
            )
            command.add_argument("--unused-days", type=float, help="also remove caches not used for this many days")
    args = parser.parse_args(argv)
    if args.command == "list":
        entries = survey(args.cache_dir)
        for entry in entries:
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
            print(f"{human_size(entry.size):>10}  used {used}  {entry.path}  {entry.reason or 'current'}")
        print(f"{len(entries)} entries, {human_size(sum(e.size for e in entries))} in {args.cache_dir}")
        return
    chosen = prune(args.cache_dir, args.dry_run, args.min_age, args.unused_days)
    verb = "would remove" if args.dry_run else "removed"
    for entry in chosen:
        print(f"{verb} {entry.path}  {human_size(entry.size)}  {entry.reason}")
    total = human_size(sum(e.size for e in chosen))
    print(f"{verb} {len(chosen)} ({total})" if chosen else f"nothing to remove in {args.cache_dir}")


if __name__ == "__main__":
    main()
