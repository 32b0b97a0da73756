"""AffectNet in either official release, told apart by the layout under the root.

2017 release: ``Manually_Annotated_file_lists/{training,validation}.csv`` (columns :data:`HEADER_2017`, the
header row sometimes missing) and the images under ``Manually_Annotated_Images/<subDirectory_filePath>``, with
a face box per row. 2021 release: ``{train_set,val_set}/images/<id>.jpg`` (already cropped) and
``{train_set,val_set}/annotations/<id>_{exp,val,aro,lnd}.npy`` (0-d arrays, values often stored as strings).

Expression codes 0-7 follow :data:`levasa.vocabulary.EMOTIONS`; 8 None, 9 Uncertain and 10 Non-Face are
left out; VA -2 means missing. The official validation set is returned as the ``test`` split.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from levasa.data.images import IMAGE_SUFFIXES
from levasa.data.readers.npy import NOT_A_NUMBER, read_number
from levasa.data.readers.records import (
    OUTSIDE_ROOT,
    BadValueError,
    FileIndex,
    ReaderError,
    Records,
    Row,
    Skips,
    box_problem,
    check_root,
    collect,
    csv_rows,
    path_problem,
)
from levasa.vocabulary import NUM_BASIC_EMOTIONS

LISTS_2017 = "Manually_Annotated_file_lists"
IMAGES_2017 = "Manually_Annotated_Images"
FILES_2017 = {"training.csv": "train", "validation.csv": "test"}
HEADER_2017 = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
SETS_2021 = {"train_set": "train", "val_set": "test"}
LAYOUT_2017 = f"{LISTS_2017}/{{training,validation}}.csv with images under {IMAGES_2017}/<subDirectory_filePath>"
LAYOUT_2021 = "{train_set,val_set}/images/<id>.jpg with {train_set,val_set}/annotations/<id>_{exp,val,aro,lnd}.npy"
LAYOUT = f"the AffectNet 2017 layout ({LAYOUT_2017}) or the 2021 layout ({LAYOUT_2021})"

NOT_EMOTIONS = {8: "None", 9: "Uncertain", 10: "Non-Face"}
"""AffectNet codes after the eight emotions; their rows are left out."""

T = TypeVar("T")

MISSING_VA = -2.0
"""AffectNet's value for a valence or arousal that was not annotated."""

_LANDMARK_CHARS = re.compile(r"[0-9eE+\-.;\s]*")
"""Characters of a landmarks field (the values are not used, so their count and characters are all checked)."""
_ANNOTATION_2021 = re.compile(r"(?P<id>.+)_(?P<kind>exp|val|aro|lnd)\.npy")


BAD_CODE = "expression not an integer code 0-10"
BAD_VA = "valence/arousal outside [-1, 1] (and not -2, missing)"


def read_affectnet(
    root: str | Path, *, classes: int = 7, require_va: bool = True, skip_invalid: bool = False
) -> Records:
    """Read AffectNet (2017 or 2021 release, detected from the layout under ``root``).

    Args:
        root: the dataset root holding either release's layout.
        classes: 7 leaves Contempt rows out, 8 keeps them as class index 7.
        require_va: leave out rows whose valence or arousal is missing (-2 / no file); else their VA is NaN.
        skip_invalid: count and skip bad rows instead of raising :class:`ReaderError` at the first.

    Returns:
        Records with splits ``train`` (training set) and ``test`` (the official validation set); keys are
        ``subDirectory_filePath`` (2017) or ``train_set/<id>`` / ``val_set/<id>`` (2021), each its own subject.
    """
    if classes not in (NUM_BASIC_EMOTIONS, NUM_BASIC_EMOTIONS + 1):
        raise ValueError(f"affectnet: classes must be 7 or 8 (with Contempt), found {classes!r}")
    root = check_root(root, "affectnet", LAYOUT)
    is_2017 = any((root / LISTS_2017 / name).is_file() for name in FILES_2017)
    is_2021 = any((root / name).is_dir() for name in SETS_2021)
    if is_2017 and is_2021:
        raise ReaderError(f"{root}: holds both AffectNet layouts ({LAYOUT_2017}; {LAYOUT_2021}); keep one")
    if not (is_2017 or is_2021):
        raise ReaderError(f"{root}: not an AffectNet root; expected {LAYOUT}")
    skips = Skips("affectnet", skip_invalid)
    read = _read_2017 if is_2017 else _read_2021
    rows = read(root, classes, require_va, skips)
    return collect("affectnet", root, rows, skips)


def _keep(code: int, va: tuple[float, float], classes: int, require_va: bool, skips: Skips) -> bool:
    """Whether a valid row is kept; rows left out by design are counted."""
    if code in NOT_EMOTIONS:
        skips.exclude(f"expression {code} ({NOT_EMOTIONS[code]})")
        return False
    if code >= classes:
        skips.exclude(f"Contempt (classes={classes})")
        return False
    if require_va and any(math.isnan(v) for v in va):
        skips.exclude("valence/arousal missing")
        return False
    return True


def _unknown_together(va: tuple[float, float]) -> tuple[float, float]:
    """VA with both values NaN when either is missing: a half-known point is not used."""
    return (math.nan, math.nan) if math.isnan(va[0]) or math.isnan(va[1]) else va


def _check_code(code: int) -> int:
    if not 0 <= code <= max(NOT_EMOTIONS):
        raise BadValueError(BAD_CODE, f"(found {code})")
    return code


def _check_va(name: str, value: float) -> float:
    """``value`` in ``[-1, 1]``, or NaN for AffectNet's missing marker -2."""
    if value == MISSING_VA:
        return math.nan
    if not -1.0 <= value <= 1.0:
        raise BadValueError(BAD_VA, f"({name} {value:g})")
    return value


# ---------------------------------------------------------------------------------------------- 2017 release


def _read_2017(root: Path, classes: int, require_va: bool, skips: Skips) -> list[Row]:
    if not (root / IMAGES_2017).is_dir():
        raise ReaderError(f"{root / IMAGES_2017}: image folder not found; expected {LAYOUT_2017}")
    files = FileIndex(root / IMAGES_2017)
    seen: dict[str, str] = {}
    rows: list[Row] = []
    for name, split in FILES_2017.items():
        path = root / LISTS_2017 / name
        if not path.is_file():
            continue
        first = True
        for line, fields in csv_rows(path):
            if not any(field.strip() for field in fields):
                continue
            if first and fields[0].strip() == HEADER_2017[0]:
                first = False
                continue
            first = False
            where = f"{path}:{line}"
            try:
                key, box, code, va = _parse_2017(fields)
            except BadValueError as err:
                skips.problem(err.reason, where, err.detail)
                continue
            if key in seen:
                skips.problem("duplicate row for an image", where, f"({key}, first at {seen[key]})")
                continue
            seen[key] = where
            if not _keep(code, va, classes, require_va, skips):
                continue
            if key not in files:
                skips.problem("annotation without an image", where, f"({IMAGES_2017}/{key} not found)")
                continue
            rows.append(
                Row(path=f"{IMAGES_2017}/{key}", va=va, emotion=code, key=key, subject=key, split=split, box=box)
            )
    return rows


def _parse_2017(fields: list[str]) -> tuple[str, tuple[float, float, float, float], int, tuple[float, float]]:
    """(key, box, expression code, (valence, arousal) with NaN for missing) of one CSV row."""
    if not all(field.isascii() for field in fields) and not _is_utf8(fields):
        raise BadValueError("row not UTF-8 text", f"({','.join(fields)[:80]!r})")
    if len(fields) != len(HEADER_2017):
        raise BadValueError(
            "wrong number of fields", f"(found {len(fields)}, expected {len(HEADER_2017)}: {','.join(HEADER_2017)})"
        )
    key = fields[0].strip().replace("\\", "/")
    if not key:
        raise BadValueError("empty subDirectory_filePath")
    problem = path_problem(key)
    if problem:
        raise BadValueError(OUTSIDE_ROOT, f"({fields[0].strip()!r}: {problem})")
    numbers = {}
    for column in (1, 2, 3, 4, 7, 8):
        try:
            numbers[column] = float(fields[column])
        except ValueError:
            numbers[column] = math.nan
        if not math.isfinite(numbers[column]):
            raise BadValueError(NOT_A_NUMBER, f"({HEADER_2017[column]} {fields[column].strip()!r})")
    try:
        code = _check_code(int(fields[6]))
    except ValueError:
        raise BadValueError(BAD_CODE, f"(found {fields[6].strip()!r})") from None
    landmarks = fields[5].strip().removesuffix(";").split(";")
    if len(landmarks) != 136 or not all(landmarks) or not _LANDMARK_CHARS.fullmatch(fields[5]):
        detail = f"(found {len(landmarks)} values)" if len(landmarks) != 136 else "(a value is not a number)"
        raise BadValueError("facial_landmarks not 136 numbers (68 points) joined by ';'", detail)
    box = (numbers[1], numbers[2], numbers[3], numbers[4])
    problem = box_problem(box)
    if problem:
        raise BadValueError(problem, f"({box[0]:g}, {box[1]:g}, {box[2]:g}x{box[3]:g})")
    return key, box, code, _unknown_together((_check_va("valence", numbers[7]), _check_va("arousal", numbers[8])))


def _is_utf8(fields: list[str]) -> bool:
    """Whether ``fields`` hold no byte that was not UTF-8 (kept as a lone surrogate when read)."""
    try:
        "".join(fields).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- 2021 release


def _read_2021(root: Path, classes: int, require_va: bool, skips: Skips) -> list[Row]:
    rows: list[Row] = []
    for set_name, split in SETS_2021.items():
        folder = root / set_name
        if not folder.is_dir():
            continue
        images = _images_2021(folder / "images", skips)
        annotations: dict[str, dict[str, Path]] = defaultdict(dict)
        if (folder / "annotations").is_dir():
            for entry in sorted(os.scandir(folder / "annotations"), key=lambda e: e.name):
                match = _ANNOTATION_2021.fullmatch(entry.name)
                if match and entry.is_file():
                    annotations[match["id"]][match["kind"]] = Path(entry.path)
        for face_id in sorted(annotations.keys() - images.keys()):
            first = next(iter(annotations[face_id].values()))
            skips.problem("annotation without an image", str(first), f"(no {set_name}/images/{face_id}.jpg)")
        for face_id, image in sorted(images.items()):
            files = annotations.get(face_id, {})
            if "exp" not in files:
                skips.problem("image without an annotation", str(image), f"(no annotations/{face_id}_exp.npy)")
                continue
            try:
                code = _value(files["exp"], lambda v: _check_code(_integer(v)))
                va = (
                    _value(files["val"], lambda v: _check_va("valence", v)) if "val" in files else math.nan,
                    _value(files["aro"], lambda v: _check_va("arousal", v)) if "aro" in files else math.nan,
                )
            except BadValueError as err:
                skips.problem(err.reason, str(err.path), err.detail)
                continue
            va = _unknown_together(va)
            if not _keep(code, va, classes, require_va, skips):
                continue
            key = f"{set_name}/{face_id}"
            path = f"{set_name}/images/{image.name}"
            rows.append(Row(path=path, va=va, emotion=code, key=key, subject=key, split=split))
    return rows


def _images_2021(folder: Path, skips: Skips) -> dict[str, Path]:
    """Images of one set by id; two images with one id are bad input."""
    images: dict[str, Path] = {}
    if not folder.is_dir():
        return images
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if path.suffix.lower() not in IMAGE_SUFFIXES or not entry.is_file():
            continue
        if path.stem in images:
            skips.problem("two images with one id", str(path), f"({images[path.stem].name}, {path.name})")
            continue
        images[path.stem] = path
    return images


def _value(path: Path, check: Callable[[float], T]) -> T:
    """``check`` applied to the single number in the ``.npy`` file ``path``; errors carry the path."""
    try:
        return check(read_number(path))
    except BadValueError as err:
        raise BadValueError(err.reason, err.detail, path) from None


def _integer(value: float) -> int:
    if value != int(value):
        raise BadValueError(BAD_CODE, f"(found {value:g})")
    return int(value)
