"""FER2013 (``fer2013.csv``, the Kaggle challenge's release) with its original labels or the FER+ relabelling.

``fer2013.csv`` has the header ``emotion,pixels,Usage`` and one face per row: its FER code 0-6
(:data:`FER_CODES`), its 48x48 grey pixels as 2304 space-separated integers 0-255 (row after row), and its set,
``Training``, ``PublicTest`` or ``PrivateTest`` (:data:`USAGES`). The faces are already cropped; their pixels are
returned in memory (:attr:`Records.pixels`), since no image files exist. FER+ (``fer2013new.csv`` beside it) has
the header ``Usage,Image name,<ten vote columns>`` and one row per ``fer2013.csv`` row, in the same order: ten
crowd votes over :data:`FERPLUS_COLUMNS`, of which :func:`ferplus_majority` makes one label. Columns are found
by their header names, so the column order of a re-saved file does not matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from levasa.data.readers.records import (
    BadValueError,
    ReaderError,
    Records,
    Row,
    Skips,
    check_root,
    collect,
    csv_rows,
)
from levasa.vocabulary import EMOTIONS, NUM_BASIC_EMOTIONS

FER_FILE = "fer2013.csv"
FERPLUS_FILE = "fer2013new.csv"
LAYOUT = f"{FER_FILE} (columns emotion,pixels,Usage), and {FERPLUS_FILE} beside it for FER+ labels"
LABELS = ("fer", "ferplus")

SIDE = 48
PIXELS = SIDE * SIDE
FER_CODES = {0: "Anger", 1: "Disgust", 2: "Fear", 3: "Happy", 4: "Sad", 5: "Surprise", 6: "Neutral"}
"""FER2013's emotion codes (Goodfellow et al. 2013; the Kaggle challenge's data page: 0=Angry, 1=Disgust, 2=Fear,
3=Happy, 4=Sad, 5=Surprise, 6=Neutral) to canonical class names (:data:`levasa.vocabulary.EMOTIONS`)."""
USAGES = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
"""FER2013's ``Usage`` to the split: the public test set (the challenge's leaderboard set) is the validation split."""
FERPLUS_EMOTIONS = {
    "neutral": "Neutral",
    "happiness": "Happy",
    "surprise": "Surprise",
    "sadness": "Sad",
    "anger": "Anger",
    "disgust": "Disgust",
    "fear": "Fear",
    "contempt": "Contempt",
}
"""FER+'s emotion vote columns (Barsoum et al. 2016; Microsoft's FERPlus README, in the file's order) to canonical
class names."""
UNKNOWN, NOT_A_FACE = "unknown", "NF"
FERPLUS_COLUMNS = (*FERPLUS_EMOTIONS, UNKNOWN, NOT_A_FACE)
"""FER+'s ten vote columns, in the file's order."""

FER_COLUMNS = ("emotion", "pixels", "usage")
FERPLUS_NAME = "image name"
MAX_VOTE_DIGITS = 3

BAD_CODE = "emotion not a FER code 0-6"
BAD_USAGE = "unknown Usage"
PIXEL_COUNT = f"not {SIDE}x{SIDE} = {PIXELS} pixels"
BAD_PIXEL = "pixel not an integer 0-255"
BAD_VOTE = "FER+ vote not a non-negative integer"
FIELD_COUNT = "wrong number of fields"
USAGE_DIFFERS = "FER+ Usage differs from fer2013.csv's"
NO_NAME = "FER+ gives no image name (left out by FER+)"
NO_VOTES = "FER+ row without votes"
TIED = "FER+ votes tied"
MAJORITY_UNKNOWN = "FER+ majority unknown"
MAJORITY_NF = "FER+ majority NF (not a face)"

_PIXEL_TEXT = re.compile(r"[0-9 ]*")
_DIGITS = re.compile(r"[0-9]+")
_SPACE = ord(" ")
_ZERO = ord("0")


class _Face(NamedTuple):
    """One ``fer2013.csv`` data row: its line, and its code, usage and pixels (None when it was skipped)."""

    line: int
    code: int | None = None
    usage: str = ""
    pixels: np.ndarray | None = None


def read_fer2013(root: str | Path, *, labels: str = "fer", classes: int = 7, skip_invalid: bool = False) -> Records:
    """Read FER2013 under ``root``.

    Args:
        root: the folder holding ``fer2013.csv`` (and ``fer2013new.csv`` for FER+ labels).
        labels: ``fer`` the original codes; ``ferplus`` the FER+ majority vote (see :func:`ferplus_majority`),
            rows without one left out and counted.
        classes: with ``ferplus``, 7 leaves the rows whose majority is contempt out, 8 keeps them as class 7.
        skip_invalid: count and skip malformed rows instead of raising :class:`ReaderError` at the first.

    Returns:
        Records with the pixels in memory (uint8 ``[N, 48, 48]``; every path is ``fer2013.csv``), emotion indices
        (VA NaN), keys ``fer2013_<row>`` (the 0-based data row of ``fer2013.csv``, the same under both label
        sets), each its own subject, splits from ``Usage``.
    """
    if labels not in LABELS:
        raise ValueError(f"fer2013: labels must be one of {LABELS}, found {labels!r}")
    if classes not in (NUM_BASIC_EMOTIONS, NUM_BASIC_EMOTIONS + 1):
        raise ValueError(f"fer2013: classes must be 7 or 8 (with FER+'s contempt), found {classes!r}")
    root = check_root(root, "fer2013", LAYOUT)
    path = root / FER_FILE
    if not path.is_file():
        raise ReaderError(f"{root}: no {FER_FILE} here; fer2013 expects {LAYOUT}")
    skips = Skips("fer2013", skip_invalid)
    faces = _read_fer(path, skips)
    emotions = [None if face.code is None else EMOTIONS.index(FER_CODES[face.code]) for face in faces]
    if labels == "ferplus":
        emotions = _read_ferplus(root / FERPLUS_FILE, path, faces, classes, skips)
    rows: list[Row] = []
    pixels: list[np.ndarray] = []
    for index, (face, emotion) in enumerate(zip(faces, emotions, strict=True)):
        if emotion is None:
            continue
        key = f"fer2013_{index:05d}"
        rows.append(Row(FER_FILE, (np.nan, np.nan), emotion, key, key, USAGES[face.usage]))
        pixels.append(face.pixels)
    return collect("fer2013", root, rows, skips, pixels)


def _header(fields: list[str], names: Sequence[str], path: Path, line: int, expected: str) -> dict[str, int]:
    """Column index of each of ``names`` in the header ``fields`` (matched stripped and case-insensitively)."""
    found = {field.strip().lower(): i for i, field in enumerate(fields)}
    missing = [name for name in names if name.lower() not in found]
    if missing:
        shown = ",".join(fields)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        raise ReaderError(f"{path}:{line}: expected the header {expected}, found {shown!r} (no {missing})")
    return {name: found[name.lower()] for name in names}


def _data_rows(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line and fields and the (line, fields) of the data rows of a CSV file; blank rows are ignored."""
    rows = [(line, fields) for line, fields in csv_rows(path) if any(field.strip() for field in fields)]
    if not rows:
        raise ReaderError(f"{path}: empty (expected a header line and one row per face)")
    (line, header), *data = rows
    return line, header, data


def _read_fer(path: Path, skips: Skips) -> list[_Face]:
    """Every data row of ``fer2013.csv`` in order (a malformed row that is skipped without its code)."""
    line, header, data = _data_rows(path)
    columns = _header(header, FER_COLUMNS, path, line, "emotion,pixels,Usage")
    faces: list[_Face] = []
    for line, fields in data:
        try:
            faces.append(_parse_fer(fields, columns, len(header), line))
        except BadValueError as err:
            skips.problem(err.reason, f"{path}:{line}", err.detail)
            faces.append(_Face(line))
    return faces


def _parse_fer(fields: list[str], columns: dict[str, int], width: int, line: int) -> _Face:
    if len(fields) != width:
        raise BadValueError(FIELD_COUNT, f"({len(fields)}, the header has {width})")
    code = fields[columns["emotion"]].strip()
    if not _DIGITS.fullmatch(code) or len(code) > 2 or int(code) not in FER_CODES:
        raise BadValueError(BAD_CODE, f"({_short(code)!r})")
    pixels = parse_pixels(fields[columns["pixels"]])
    usage = fields[columns["usage"]].strip()
    if usage not in USAGES:
        raise BadValueError(BAD_USAGE, f"({_short(usage)!r}; expected one of {list(USAGES)})")
    return _Face(line, int(code), usage, pixels)


def parse_pixels(text: str) -> np.ndarray:
    """FER2013's pixel field (2304 space-separated integers 0-255, row after row) as uint8 ``[48, 48]``; spaces
    around the field are ignored.

    Parsed with array operations on the field's bytes (the file has 80 million values). Raises
    :class:`BadValueError` on a value that is not a decimal integer 0-255 or a count other than 2304.
    """
    text = text.strip()
    if not _PIXEL_TEXT.fullmatch(text):
        token = next(t for t in text.split(" ") if not _DIGITS.fullmatch(t) and t)
        raise BadValueError(BAD_PIXEL, f"({_short(token)!r})")
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    edges = np.diff(np.concatenate([[0], (codes != _SPACE).astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) != PIXELS:
        raise BadValueError(PIXEL_COUNT, f"(found {len(starts)} values)")
    lengths = ends - starts
    if lengths.max() > 3:
        where = int(np.argmax(lengths > 3))
        raise BadValueError(BAD_PIXEL, f"({_short(text[starts[where] : ends[where]])!r})")
    digits = codes.astype(np.int64) - _ZERO
    values = np.zeros(PIXELS, dtype=np.int64)
    for place in range(3):  # the units, tens and hundreds of each value
        has = lengths > place
        values[has] += digits[ends[has] - 1 - place] * 10**place
    if values.max() > 255:
        where = int(np.argmax(values > 255))
        raise BadValueError(BAD_PIXEL, f"({values[where]})")
    return values.astype(np.uint8).reshape(SIDE, SIDE)


def _read_ferplus(path: Path, fer_path: Path, faces: list[_Face], classes: int, skips: Skips) -> list[int | None]:
    """The FER+ label of each ``fer2013.csv`` row (None where the row is left out)."""
    if not path.is_file():
        raise ReaderError(
            f"{path.parent}: no {FERPLUS_FILE} beside {FER_FILE}; data.reader.labels=ferplus needs FER+'s "
            f"{FERPLUS_FILE} (one row of votes per {FER_FILE} row) in the same folder"
        )
    line, header, data = _data_rows(path)
    names = ("usage", FERPLUS_NAME, *FERPLUS_COLUMNS)
    columns = _header(header, names, path, line, "Usage,Image name," + ",".join(FERPLUS_COLUMNS))
    if len(data) != len(faces):
        unpaired = f"{path}:{data[len(faces)][0]}" if len(data) > len(faces) else f"{fer_path}:{faces[len(data)].line}"
        raise ReaderError(
            f"{path}: {len(data)} rows, but {fer_path} has {len(faces)}: FER+ rows pair with {FER_FILE}'s by "
            f"their order, so both must have as many (first unpaired row: {unpaired})"
        )
    labels: list[int | None] = []
    for (line, fields), face in zip(data, faces, strict=True):
        where = f"{path}:{line}"
        try:
            label = None if face.code is None else _ferplus_label(fields, columns, len(header), face, classes, skips)
        except BadValueError as err:
            skips.problem(err.reason, where, err.detail)
            label = None
        labels.append(label)
    return labels


def _ferplus_label(
    fields: list[str], columns: dict[str, int], width: int, face: _Face, classes: int, skips: Skips
) -> int | None:
    """The class of one FER+ row, or None (counted) when it gives none."""
    if len(fields) != width:
        raise BadValueError(FIELD_COUNT, f"({len(fields)}, the header has {width})")
    usage = fields[columns["usage"]].strip()
    if usage != face.usage:
        raise BadValueError(USAGE_DIFFERS, f"({_short(usage)!r}, line {face.line} of {FER_FILE} says {face.usage!r})")
    votes = []
    for name in FERPLUS_COLUMNS:
        vote = fields[columns[name]].strip()
        if not _DIGITS.fullmatch(vote) or len(vote) > MAX_VOTE_DIGITS:
            raise BadValueError(BAD_VOTE, f"({name} {_short(vote)!r})")
        votes.append(int(vote))
    if not fields[columns[FERPLUS_NAME]].strip():
        skips.exclude(NO_NAME)
        return None
    column = ferplus_majority(votes)
    if column in FERPLUS_EMOTIONS:
        emotion = EMOTIONS.index(FERPLUS_EMOTIONS[column])
        if emotion < classes:
            return emotion
        reason = f"Contempt (classes={classes})"
    elif column is None:
        reason = TIED if sum(votes) else NO_VOTES
    else:
        reason = MAJORITY_UNKNOWN if column == UNKNOWN else MAJORITY_NF
    skips.exclude(reason)
    return None


def ferplus_majority(votes: Sequence[int]) -> str | None:
    """The column of :data:`FERPLUS_COLUMNS` with the most of a row's ten ``votes`` (in that order), ``unknown``
    and ``NF`` included; None when two or more columns share the most votes, or there are none."""
    most = max(votes)
    winners = [name for name, vote in zip(FERPLUS_COLUMNS, votes, strict=True) if vote == most]
    return winners[0] if most > 0 and len(winners) == 1 else None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
