"""IMFDB (Indian Movie Face Database): ``<Actor>/<Movie>/<Movie>.txt`` and ``<Actor>/<Movie>/images/<name>.jpg``.

The annotation file is tab-separated, one face per line, usually 17 fields (image name at index 2, expression
at 11), in some files 16 (one less), sometimes with a header line and sometimes encoded ISO-8859-1. The image
name is found by its image suffix and the expression by :data:`EXPRESSIONS` (case-insensitive), the positions
only breaking ties. Identical repeated lines are kept once; movie folders without an annotation file are left
out as a whole. IMFDB has categories only: VA is NaN.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np

from levasa.data.images import IMAGE_SUFFIXES
from levasa.data.readers.records import BadValueError, ReaderError, Records, Row, Skips, check_root, collect

log = logging.getLogger(__name__)

LAYOUT = "<Actor>/<Movie>/<Movie>.txt (tab-separated annotations) with <Actor>/<Movie>/images/<name>.jpg"
EXPRESSIONS = {
    "NEUTRAL": 0,
    "HAPPINESS": 1,
    "SADNESS": 2,
    "SURPRISE": 3,
    "FEAR": 4,
    "DISGUST": 5,
    "ANGER": 6,
}
"""IMFDB's expression words (upper case) to indices into :data:`levasa.vocabulary.EMOTIONS`."""

POSITIONS = {17: (2, 11), 16: (1, 10)}
"""(image name, expression) field index by the number of fields of a line."""

NO_ANNOTATION_FILE = "movie folder without annotation file"


def read_imfdb(root: str | Path, *, skip_invalid: bool = False) -> Records:
    """Read IMFDB actor folders under ``root``.

    Args:
        root: the folder holding one folder per actor.
        skip_invalid: count and skip bad lines and unmatched images instead of raising :class:`ReaderError`.

    Returns:
        Records with emotion indices (VA NaN), subject the actor, split ``""``; keys are the image file names,
        or ``<Actor>/<Movie>/<name>`` for names that occur in more than one folder. Images of movie folders
        without an annotation file are counted under ``"movie folder without annotation file"``.
    """
    root = check_root(root, "imfdb", LAYOUT)
    movies = [(actor, movie) for actor in _folders(root) for movie in _folders(root / actor)]
    if not movies:
        raise ReaderError(f"{root}: no <Actor>/<Movie> folders; expected {LAYOUT}")
    skips = Skips("imfdb", skip_invalid)
    faces: list[tuple[str, str, str, int]] = []
    for actor, movie in movies:
        faces.extend((actor, movie, name, emotion) for name, emotion in _read_movie(root / actor / movie, skips))
    counts = Counter(name for _, _, name, _ in faces)
    rows: list[Row] = []
    for actor, movie, name, emotion in faces:
        key = name if counts[name] == 1 else f"{actor}/{movie}/{name}"
        path = f"{actor}/{movie}/images/{name}"
        rows.append(Row(path=path, va=(np.nan, np.nan), emotion=emotion, key=key, subject=actor, split=""))
    return collect("imfdb", root, rows, skips)


def _folders(path: Path) -> list[str]:
    """Names of the non-hidden sub-folders of ``path``, sorted."""
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


def _read_movie(folder: Path, skips: Skips) -> list[tuple[str, int]]:
    """(image file name, emotion) of each annotated image of one movie folder."""
    images_dir = folder / "images"
    images = (
        sorted(
            e.name
            for e in os.scandir(images_dir)
            if e.is_file() and not e.name.startswith(".") and Path(e.name).suffix.lower() in IMAGE_SUFFIXES
        )
        if images_dir.is_dir()
        else []
    )
    txt = _annotation_file(folder, skips)
    if txt is None:
        log.info("imfdb: %s has no annotation file (%s.txt); left out its %d images", folder, folder.name, len(images))
        for _ in images:
            skips.exclude(NO_ANNOTATION_FILE)
        return []
    labels = _read_lines(txt, skips)
    on_disk = set(images)
    folded: dict[str, list[str]] = {}
    for name in images:
        folded.setdefault(name.lower(), []).append(name)
    faces: list[tuple[str, int]] = []
    matched: set[str] = set()
    for name, (emotion, line) in labels.items():
        if name not in on_disk and len(folded.get(name.lower(), [])) == 1:
            name = folded[name.lower()][0]  # the same name in another case (.JPG for .jpg)
        if name not in on_disk:
            skips.problem("annotation without an image", f"{txt}:{line}", f"(no images/{name})")
            continue
        if name in matched:
            skips.problem("two lines name one image", f"{txt}:{line}", f"(images/{name}, in another case)")
            continue
        matched.add(name)
        faces.append((name, emotion))
    for name in images:
        if name not in matched and name.lower() not in labels.unusable:
            skips.problem("image without an annotation", str(images_dir / name), f"(no line in {txt.name})")
    return faces


def _annotation_file(folder: Path, skips: Skips) -> Path | None:
    """``<Movie>.txt``, else the folder's only ``.txt``; None when there is none."""
    exact = folder / f"{folder.name}.txt"
    if exact.is_file():
        return exact
    txts = sorted(e.name for e in os.scandir(folder) if e.is_file() and e.name.lower().endswith(".txt"))
    if len(txts) == 1:
        return folder / txts[0]
    if txts:
        skips.problem("several annotation files", str(folder), f"(none named {exact.name}: {txts})")
    return None


class _Labels(dict):
    """Image name -> (emotion, line number); ``unusable`` holds the (lower-cased) names of images named by bad
    or conflicting lines, which are not reported again as images without an annotation."""

    def __init__(self) -> None:
        super().__init__()
        self.unusable: set[str] = set()


def _decode(path: Path) -> str:
    """The text of ``path``: UTF-8 (with or without BOM), else ISO-8859-1."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_lines(path: Path, skips: Skips) -> _Labels:
    """The labelled image names of one annotation file; duplicates counted, conflicts and bad lines reported."""
    labels = _Labels()
    seen_lines: set[tuple[str, ...]] = set()
    first = True
    for number, text in enumerate(_decode(path).splitlines(), start=1):
        if not text.strip():
            continue
        fields = tuple(field.strip() for field in text.split("\t"))
        where = f"{path}:{number}"
        try:
            name, emotion = _parse_line(fields)
        except BadValueError as err:
            if not (first and _is_header(fields)):
                skips.problem(err.reason, where, err.detail)
                labels.unusable.update(_basename(f).lower() for f in fields if _is_image(f))
            first = False
            continue
        first = False
        if fields in seen_lines:
            skips.exclude("duplicate line")
            continue
        seen_lines.add(fields)
        if name.lower() in labels.unusable:
            continue
        if name in labels:
            earlier, line = labels[name]
            if earlier == emotion:
                skips.exclude("image named again with the same label")
                continue
            del labels[name]
            labels.unusable.add(name.lower())
            skips.problem("conflicting labels for an image", where, f"({name!r}, also at line {line})")
            continue
        labels[name] = (emotion, number)
    return labels


def _is_header(fields: tuple[str, ...]) -> bool:
    """A line with no image name and no expression word (a header line when it comes first)."""
    return not any(_is_image(f) for f in fields) and not any(f.upper() in EXPRESSIONS for f in fields)


def _is_image(field: str) -> bool:
    lower = field.lower()
    return any(lower.endswith(suffix) and len(lower) > len(suffix) for suffix in IMAGE_SUFFIXES)


def _one(at_position: str | None, found: list[str], several: str, detail: str) -> str | None:
    """The field at its expected position when it qualifies, else the only qualifying field (None when there is
    none; an error naming ``several`` when there are more)."""
    if at_position is not None:
        return at_position
    if len(found) > 1:
        raise BadValueError(several, detail)
    return found[0] if found else None


def _parse_line(fields: tuple[str, ...]) -> tuple[str, int]:
    """(image name, emotion index) of one line, found by suffix and vocabulary; the positions break ties."""
    image_at, expression_at = POSITIONS.get(len(fields), (None, None))
    names = sorted({f for f in fields if _is_image(f)})
    words = sorted({f.upper() for f in fields if f.upper() in EXPRESSIONS})
    if not names and not words:
        raise BadValueError("line has neither an image name nor an expression")
    at_image = fields[image_at] if image_at is not None and _is_image(fields[image_at]) else None
    name = _one(at_image, names, "several image names", f"({names}, none at field {image_at})")
    if name is None:
        raise BadValueError("no image name", f"(a field ending in one of {', '.join(IMAGE_SUFFIXES)})")
    at_word = fields[expression_at].upper() if expression_at is not None else None
    if at_word is not None and at_word not in EXPRESSIONS and not words:
        raise BadValueError("unknown label", f"{fields[expression_at]!r} (expected one of {list(EXPRESSIONS)})")
    word = _one(at_word if at_word in EXPRESSIONS else None, words, "several expression words", f"({words})")
    if word is None:
        raise BadValueError("unknown label", f"(no expression word; expected one of {list(EXPRESSIONS)})")
    return _basename(name), EXPRESSIONS[word]


def _basename(name: str) -> str:
    """The file name of an image name that may be written with folders."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]
