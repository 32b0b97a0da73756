"""What a reader finds on disk: one row per face image, labels already mapped onto the sample contract.

Readers know nothing of models or tensors: they parse a dataset's official annotation files into
:class:`Records` (image paths, optional crop boxes, VA in ``[-1, 1]``, canonical class indices, keys,
subjects and the official split; the pixels themselves where a format stores them in its annotation file, as
FER2013 does). Decoding, cropping and resizing happen once, in the preprocessing cache.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from levasa.errors import InputError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test", "")
"""Official split names a reader may assign; ``""`` where the dataset has none (a seeded split is made)."""
OUTSIDE_ROOT = "image path outside the root"
"""The reason counted for a row whose image path is absolute or climbs out of the root with ``..``."""


class ReaderError(InputError):
    """Bad input in a dataset on disk; the message names the file (and line where there is one)."""


class BadValueError(ValueError):
    """A value a reader cannot use, raised by its parsing helpers and turned into :meth:`Skips.problem` by the
    caller, which knows the row: ``reason`` its category (counted when skipping), ``detail`` this row's values,
    ``path`` the file where the helper knows it and the caller does not."""

    def __init__(self, reason: str, detail: str = "", path: Path | None = None) -> None:
        super().__init__(f"{reason} {detail}".strip())
        self.reason, self.detail, self.path = reason, detail, path


@dataclass
class Records:
    """The faces a reader found, in a stable order.

    Attributes:
        source: the reader's name (``affectnet``, ``afew_va``, ``imfdb``, ``fer2013``, ``rafdb``, ``folder``).
        root: the dataset root the paths are relative to.
        paths: image file of each row, relative to ``root`` (never absolute, never with a ``..`` part: see
            :func:`path_problem`); where ``pixels`` holds the faces, the file they were read from.
        va: float32 ``[N, 2]`` (valence, arousal) in ``[-1, 1]``, NaN where unknown.
        emotion: int64 ``[N]`` index into :data:`levasa.vocabulary.EMOTIONS`, -1 where unknown.
        keys: ``[N]`` stable unique string ids (used to key annotation files).
        subject: ``[N]`` string identity (actor, clip, ...) for subject-disjoint splits.
        split: ``[N]`` official split per row, one of :data:`SPLITS`.
        boxes: float32 ``[N, 4]`` crop box ``(x, y, w, h)`` in pixels of the original image, NaN rows
            where the whole image is the face; None when no row has a box.
        skipped: why rows were left out, with counts (filtered by design or skipped on request).
        pixels: uint8 ``[N, H, W]`` (grey) or ``[N, H, W, 3]`` (RGB) faces held in memory, for formats that store
            the pixels in their annotation file (FER2013's CSV); the cache then reads these instead of ``paths``.
            None (the usual case): the faces are the image files.
    """

    source: str
    root: Path
    paths: list[str]
    va: np.ndarray
    emotion: np.ndarray
    keys: np.ndarray
    subject: np.ndarray
    split: np.ndarray
    boxes: np.ndarray | None = None
    skipped: Counter = field(default_factory=Counter)
    pixels: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.paths)
        for path in self.paths:
            problem = path_problem(path)
            if problem:
                raise ReaderError(f"{self.source}: image path {path!r} is outside the root {self.root} ({problem})")
        self.va = np.asarray(self.va, dtype=np.float32).reshape(n, 2)
        self.emotion = np.asarray(self.emotion, dtype=np.int64).reshape(n)
        self.keys = np.asarray(self.keys, dtype=str).reshape(n)
        self.subject = np.asarray(self.subject, dtype=str).reshape(n)
        self.split = np.asarray(self.split, dtype=str).reshape(n)
        if self.boxes is not None:
            self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(n, 4)
        if self.pixels is not None:
            self.pixels = np.asarray(self.pixels)
            shape = self.pixels.shape
            grey_or_rgb = len(shape) in (3, 4) and shape[0] == n and shape[3:] in ((), (3,))
            if self.pixels.dtype != np.uint8 or not grey_or_rgb:
                raise ReaderError(f"{self.source}: pixels must be uint8 [{n}, H, W] or [{n}, H, W, 3], found {shape}")
        finite = self.va[~np.isnan(self.va)]
        if finite.size and (finite.min() < -1.0 or finite.max() > 1.0):
            raise ReaderError(f"{self.source}: VA must lie in [-1, 1], found [{finite.min()}, {finite.max()}]")
        if not set(np.unique(self.split)) <= set(SPLITS):
            raise ReaderError(f"{self.source}: unknown split names {sorted(set(self.split) - set(SPLITS))}")
        if len(np.unique(self.keys)) != n:
            values, counts = np.unique(self.keys, return_counts=True)
            raise ReaderError(f"{self.source}: keys must be unique, repeated: {values[counts > 1][:5].tolist()}")

    def __len__(self) -> int:
        return len(self.paths)

    def select(self, rows: np.ndarray) -> Records:
        """The records of ``rows`` (a boolean mask or indices), with the same ``skipped`` counts."""
        rows = np.arange(len(self))[rows]
        return Records(
            self.source,
            self.root,
            [self.paths[i] for i in rows],
            self.va[rows],
            self.emotion[rows],
            self.keys[rows],
            self.subject[rows],
            self.split[rows],
            None if self.boxes is None else self.boxes[rows],
            Counter(self.skipped),
            None if self.pixels is None else self.pixels[rows],
        )


class Skips:
    """Bad input found while reading: raised at once (the default) or counted and logged when skipping.

    ``problem(reason, where, detail)`` raises :class:`ReaderError` naming ``where`` (a file, and line) unless
    ``skip``, when it counts ``reason`` (a category; this row's values go in ``detail``, the message only);
    ``exclude(reason)`` counts a row left out by design (for example AffectNet's Non-Face code).
    """

    def __init__(self, source: str, skip: bool) -> None:
        self.source = source
        self.skip = skip
        self.counts: Counter = Counter()

    def problem(self, reason: str, where: str, detail: str = "") -> None:
        """Raise, or count under ``reason`` when skipping; ``detail`` (this row's values) only goes in the message."""
        what = f"{reason} {detail}" if detail else reason
        if not self.skip:
            raise ReaderError(f"{where}: {what} (set data.skip_invalid=true to skip and count such rows)")
        if not self.counts[reason]:
            log.warning("%s: skipping rows: %s (first at %s)", self.source, what, where)
        self.counts[reason] += 1

    def exclude(self, reason: str) -> None:
        self.counts[reason] += 1

    def report(self) -> None:
        for reason, count in sorted(self.counts.items()):
            log.info("%s: left out %d rows: %s", self.source, count, reason)


def path_problem(rel: str) -> str:
    """Why the image path ``rel`` (relative to a dataset root) could name a file outside the root, or ``""``:
    an absolute path, a drive or share (``C:``, ``\\\\host``), or a ``..`` part (also with backslashes, which
    annotation files written on Windows use). Symbolic links under the root are followed as they are."""
    if ".." not in rel and rel[1:2] != ":" and not rel.startswith(("/", "\\")):  # the usual path, quickly
        return ""
    posix = rel.replace("\\", "/")
    if posix.startswith("/"):
        return "an absolute path"
    if len(posix) > 1 and posix[1] == ":" and posix[0].isascii() and posix[0].isalpha():
        return "a path on a drive"
    if ".." in posix.split("/"):
        return "a '..' part"
    return ""


def check_root(root: str | Path, source: str, layout: str) -> Path:
    """``root`` as a :class:`Path`; raises :class:`ReaderError` naming it and the expected ``layout`` when it is
    not an existing folder."""
    root = Path(root)
    if not root.is_dir():
        raise ReaderError(f"data.root {root} not found (or not a folder); {source} expects {layout}")
    return root


class Row(NamedTuple):
    """One face as a reader collects it, before :func:`collect` turns the rows into :class:`Records`."""

    path: str
    """The image file, relative to the root."""
    va: tuple[float, float]
    """(valence, arousal) in ``[-1, 1]``, NaN where unknown."""
    emotion: int
    """Index into :data:`levasa.vocabulary.EMOTIONS`, -1 where unknown."""
    key: str
    subject: str
    split: str
    """One of :data:`SPLITS`."""
    box: tuple[float, float, float, float] | None = None
    """Crop box ``(x, y, w, h)`` in pixels, None where the whole image is the face."""


def collect(source: str, root: Path, rows: list[Row], skips: Skips, pixels: list[np.ndarray] | None = None) -> Records:
    """:class:`Records` of ``rows`` sorted by path (a stable sort: rows of one file keep their order), with
    ``skips``' counts (reported to the log) and, for formats that hold the faces in memory, ``pixels`` (one
    uint8 ``[H, W]`` or ``[H, W, 3]`` array per row, all of one shape).

    ``boxes`` is None when no row has a box, else NaN rows where a row has none. Raises :class:`ReaderError`
    when no row is left, saying what was left out.
    """
    skips.report()
    if not rows:
        left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(skips.counts.items())) or "nothing"
        raise ReaderError(f"{root}: no usable {source} faces found (left out: {left_out})")
    order = sorted(range(len(rows)), key=lambda i: rows[i].path)
    rows = [rows[i] for i in order]
    has_box = any(row.box is not None for row in rows)
    nan_box = (np.nan,) * 4
    return Records(
        source=source,
        root=root,
        paths=[row.path for row in rows],
        va=np.array([row.va for row in rows], dtype=np.float32),
        emotion=np.array([row.emotion for row in rows], dtype=np.int64),
        keys=np.array([row.key for row in rows], dtype=str),
        subject=np.array([row.subject for row in rows], dtype=str),
        split=np.array([row.split for row in rows], dtype=str),
        boxes=np.array([row.box or nan_box for row in rows], dtype=np.float32) if has_box else None,
        skipped=Counter(skips.counts),
        pixels=None if pixels is None else np.stack([pixels[i] for i in order]),
    )


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row of the CSV file ``path``, read as UTF-8 with or without a BOM (bytes
    that are not UTF-8 kept as lone surrogates, for the reader's checks of the fields to report); raises
    :class:`ReaderError` naming the line where the csv module cannot split a row (a field past its size limit)."""
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        reader = csv.reader(f)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise ReaderError(f"{path}:{reader.line_num}: not a readable CSV row ({err})") from None
            yield reader.line_num, fields


class FileIndex:
    """Existence checks of many files, one directory listing per folder instead of one ``stat`` per file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._listings: dict[str, set[str]] = {}

    def __contains__(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        if folder not in self._listings:
            path = self.root / folder
            try:
                self._listings[folder] = {e.name for e in os.scandir(path) if e.is_file()}
            except (OSError, ValueError):  # ValueError: a NUL character in the path
                self._listings[folder] = set()
        return name in self._listings[folder]


FLOAT32_MAX = float(np.finfo(np.float32).max)


def box_problem(box: tuple[float, float, float, float]) -> str:
    """Why the crop box ``(x, y, w, h)`` cannot be used, or ``""``: it must be finite as float32 (how
    :class:`Records` stores it) with a positive width and height there."""
    if not all(math.isfinite(v) and abs(v) <= FLOAT32_MAX for v in box):
        return "face box outside the float32 range"
    if not (np.float32(box[2]) > 0 and np.float32(box[3]) > 0):
        return "face box with a non-positive size"
    return ""
