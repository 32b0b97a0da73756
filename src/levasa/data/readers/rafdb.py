"""RAF-DB, its basic set: ``basic/EmoLabel/list_patition_label.txt`` and the images under ``basic/Image/``.

The label file (the name is RAF-DB's own spelling) has one line per image, ``train_00001.jpg 5``: the image name
and its code 1-7 (:data:`RAF_CODES`). The images are ``basic/Image/aligned/train_00001_aligned.jpg`` (100x100
aligned faces, the default) or ``basic/Image/original/train_00001.jpg`` (the whole photos, read as their centred
square). The split is the name's prefix, ``train_`` or ``test_``; RAF-DB gives no identities.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from levasa.data.images import IMAGE_SUFFIXES
from levasa.data.readers.records import BadValueError, FileIndex, ReaderError, Records, Row, Skips, check_root, collect
from levasa.vocabulary import EMOTIONS

LABEL_FILE = "basic/EmoLabel/list_patition_label.txt"
IMAGE_FOLDERS = {"aligned": "basic/Image/aligned", "original": "basic/Image/original"}
LAYOUT = f"{LABEL_FILE} (lines '<name>.jpg <code 1-7>') with {IMAGE_FOLDERS['aligned']}/<name>_aligned.jpg"
RAF_CODES = {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happy", 5: "Sad", 6: "Anger", 7: "Neutral"}
"""RAF-DB's basic emotion codes (Li et al. 2017; the RAF-DB readme: 1=Surprise, 2=Fear, 3=Disgust, 4=Happiness,
5=Sadness, 6=Anger, 7=Neutral) to canonical class names (:data:`levasa.vocabulary.EMOTIONS`)."""
PREFIXES = {"train_": "train", "test_": "test"}

MALFORMED = "line not '<image name> <code>'"
BAD_NAME = "image name not train_<id> or test_<id> with an image suffix"
BAD_CODE = "emotion not a RAF-DB code 1-7"


def read_rafdb(root: str | Path, *, images: str = "aligned", skip_invalid: bool = False) -> Records:
    """Read the RAF-DB basic set under ``root``.

    Args:
        root: the folder holding ``basic/``.
        images: ``aligned`` (``basic/Image/aligned/<name>_aligned.jpg``) or ``original``
            (``basic/Image/original/<name>``).
        skip_invalid: count and skip bad lines and unmatched images instead of raising :class:`ReaderError`.

    Returns:
        Records with emotion indices (VA NaN), keys the label file's image names (``train_00001.jpg``, the same
        for both image sets), each its own subject, splits ``train`` and ``test`` from the name.
    """
    if images not in IMAGE_FOLDERS:
        raise ValueError(f"rafdb: images must be one of {list(IMAGE_FOLDERS)}, found {images!r}")
    root = check_root(root, "rafdb", LAYOUT)
    labels = root / LABEL_FILE
    if not labels.is_file():
        inside = (root / "EmoLabel").is_dir()
        hint = " (it looks like the basic/ folder itself: set data.root to its parent)" if inside else ""
        raise ReaderError(f"{root}: no {LABEL_FILE}{hint}; rafdb expects {LAYOUT}")
    folder = IMAGE_FOLDERS[images]
    if not (root / folder).is_dir():
        raise ReaderError(f"{root / folder}: image folder not found; data.reader.images={images} expects it")
    skips = Skips("rafdb", skip_invalid)
    files = FileIndex(root / folder)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    unusable: set[str] = set()
    for line, text in enumerate(io.StringIO(_decode(labels), newline=None), start=1):
        if not text.strip():
            continue
        where = f"{labels}:{line}"
        try:
            name, emotion = _parse_line(text)
        except BadValueError as err:
            skips.problem(err.reason, where, err.detail)
            unusable.add(text.split()[0])  # its image is not reported again as one without an annotation
            continue
        if name in seen:
            skips.problem("image named twice", where, f"({name!r}, first at line {seen[name]})")
            continue
        seen[name] = line
        image = image_name(name, images)
        if image not in files:
            skips.problem("annotation without an image", where, f"({folder}/{image} not found)")
            continue
        split = next(split for prefix, split in PREFIXES.items() if name.startswith(prefix))
        rows.append(Row(f"{folder}/{image}", (np.nan, np.nan), emotion, name, name, split))
    labelled = {image_name(name, images) for name in seen.keys() | unusable}
    for entry in sorted(os.scandir(root / folder), key=lambda e: e.name):
        if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and entry.name not in labelled:
            skips.problem("image without an annotation", entry.path, f"(no line in {LABEL_FILE})")
    return collect("rafdb", root, rows, skips)


def image_name(name: str, images: str) -> str:
    """The file in ``IMAGE_FOLDERS[images]`` of the label file's image ``name`` (``train_00001.jpg`` is
    ``train_00001_aligned.jpg`` among the aligned faces)."""
    if images == "original":
        return name
    stem, suffix = os.path.splitext(name)
    return f"{stem}_aligned{suffix}"


def _parse_line(text: str) -> tuple[str, int]:
    """(image name, emotion index) of one label line."""
    fields = text.split()
    if len(fields) != 2:
        raise BadValueError(MALFORMED, f"({len(fields)} fields: {_short(text.strip())!r})")
    name, code = fields
    stem, suffix = os.path.splitext(name)
    prefixed = any(stem.startswith(prefix) and len(stem) > len(prefix) for prefix in PREFIXES)
    if not prefixed or suffix.lower() not in IMAGE_SUFFIXES or "/" in name or "\\" in name:
        raise BadValueError(BAD_NAME, f"({_short(name)!r})")
    if not (code.isascii() and code.isdigit()) or len(code) > 2 or int(code) not in RAF_CODES:
        raise BadValueError(BAD_CODE, f"({_short(code)!r})")
    return name, EMOTIONS.index(RAF_CODES[int(code)])


def _decode(path: Path) -> str:
    """The text of ``path``: UTF-8 with or without a BOM, other bytes kept as lone surrogates (refused names)."""
    return path.read_bytes().decode("utf-8-sig", errors="surrogateescape")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
