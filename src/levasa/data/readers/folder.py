"""A folder of one's own: images at any depth under the root plus one label file keyed by relative path.

The label file takes the shapes :func:`levasa.annotation.files.read_annotations` reads: JSON ``{key: label}``
/ ``{key: [v, a]}`` or CSV ``key,label`` / ``key,valence,arousal``, where a key is an image's path relative
to the root (``person1/smile.jpg``). Labels are class names (any case, synonyms such as HAPPINESS) or codes
0-7; VA is divided by ``input_scale``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from levasa.annotation.files import Annotations, read_annotations
from levasa.annotation.labels import AnnotationError, label_indices
from levasa.data.images import IMAGE_SUFFIXES
from levasa.data.readers.records import (
    OUTSIDE_ROOT,
    ReaderError,
    Records,
    Row,
    Skips,
    check_root,
    collect,
    path_problem,
)
from levasa.vocabulary import UNKNOWN_EMOTION

LABEL_FILES = ("labels.csv", "labels.json")
LAYOUT = (
    "images at any depth under the root and a label file (labels.csv or labels.json in the root, or "
    "data.reader.labels) keyed by each image's path relative to the root"
)


def read_folder(
    root: str | Path,
    *,
    labels: str | None = None,
    input_scale: float = 1.0,
    subject_depth: int = 0,
    skip_invalid: bool = False,
) -> Records:
    """Read a folder of images and its label file.

    Args:
        root: the image folder (searched at any depth; hidden files and folders are ignored).
        labels: the label file; None: ``labels.csv`` or ``labels.json`` in ``root`` (exactly one must exist).
            A relative path is relative to ``root``.
        input_scale: VA in the file lies in ``[-input_scale, input_scale]`` and is divided by it.
        subject_depth: 0: every image is its own subject; k: the subject is the first k folders of the key
            (for example 1 for ``<person>/<image>``).
        skip_invalid: count and skip unmatched keys/images and unknown labels instead of raising
            :class:`ReaderError`. Errors of the whole label file (not readable, duplicate keys, VA outside
            the scale) are always raised.

    Returns:
        Records with either emotion indices (VA NaN) or VA (emotion -1), keys the relative paths, split ``""``.
    """
    if isinstance(subject_depth, bool) or not isinstance(subject_depth, int) or subject_depth < 0:
        raise ValueError(f"folder: subject_depth must be an integer >= 0, found {subject_depth!r}")
    root = check_root(root, "folder", LAYOUT)
    path = _label_file(root, labels)
    try:
        annotations = read_annotations(path, input_scale)
    except AnnotationError as err:
        raise ReaderError(str(err)) from None
    skips = Skips("folder", skip_invalid)
    keys = [_normalize(str(key)) for key in annotations.keys]
    va, emotion, known = _labels(annotations, skip_invalid)
    images = _images(root, path)
    rows: list[Row] = []
    matched: set[str] = set()
    for i, key in enumerate(keys):
        where = f"{path}: key {key!r}"
        if not known[i]:
            skips.problem("unknown label", where, repr(str(annotations.labels[i])))
            continue
        problem = path_problem(key)
        if problem:
            skips.problem(OUTSIDE_ROOT, where, f"({problem})")
            continue
        if key in matched:
            skips.problem("duplicate key", where, "(the same image written two ways)")
            continue
        if key not in images:
            skips.problem("annotation without an image", where)
            continue
        matched.add(key)
        folders = key.split("/")[:-1]
        if len(folders) < subject_depth:
            skips.problem(f"image in fewer than subject_depth={subject_depth} folders", where)
            continue
        subject = "/".join(folders[:subject_depth]) if subject_depth else key
        pair = (float(va[i, 0]), float(va[i, 1]))
        rows.append(Row(path=key, va=pair, emotion=int(emotion[i]), key=key, subject=subject, split=""))
    for rel in sorted(images - matched - set(keys)):
        skips.problem("image without an annotation", str(root / rel), f"(no key {rel!r} in {path.name})")
    return collect("folder", root, rows, skips)


def _labels(annotations: Annotations, skip_invalid: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(VA ``[N, 2]``, emotion ``[N]``, known ``[N]``) of a label file's rows: the kind it holds, the other kind
    unknown; ``known`` is False where a label is not a class (only when ``skip_invalid``, else raised)."""
    n = len(annotations.keys)
    emotion = np.full(n, UNKNOWN_EMOTION, dtype=np.int64)
    if annotations.labels is None:
        return np.asarray(annotations.va, dtype=np.float64), emotion, np.ones(n, dtype=bool)
    try:
        codes, known = label_indices(
            annotations.labels, annotations.keys, source=str(annotations.path), skip=skip_invalid
        )
    except AnnotationError as err:
        raise ReaderError(f"{err} (set data.skip_invalid=true to skip and count such rows)") from None
    emotion[known] = codes
    return np.full((n, 2), np.nan), emotion, known


def _label_file(root: Path, labels: str | Path | None) -> Path:
    """The label file: ``labels`` (relative to ``root`` unless absolute), else the one of :data:`LABEL_FILES`."""
    if labels is None:
        found = [root / name for name in LABEL_FILES if (root / name).is_file()]
        if len(found) != 1:
            what = "neither" if not found else "both"
            raise ReaderError(
                f"{root}: {what} of {' and '.join(LABEL_FILES)} found; keep exactly one or set data.reader.labels"
            )
        return found[0]
    path = Path(labels)
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise ReaderError(f"{path}: label file not found")
    return path


def _normalize(key: str) -> str:
    """A key as a relative posix path (backslashes and a leading ``./`` removed)."""
    key = key.strip().replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return key


def _images(root: Path, label_file: Path) -> set[str]:
    """Relative posix paths of the image files under ``root``, hidden files and folders left out."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder)
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            path = base / name
            if path != label_file:
                found.add(path.relative_to(root).as_posix())
    return found
