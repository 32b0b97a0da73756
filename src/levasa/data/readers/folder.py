"""A folder of one's own: images at any depth under the root, labelled in one of three ways.

- **One folder per class** (``<root>/<class>/<image>``, torchvision's ImageFolder convention), when the root
  holds no label file: the class folder's name is a class (any case, a synonym such as ``happiness``, a code 0-7
  or a name of ``label_map``); images may lie at any depth below it.
- **A label file** in the shapes :func:`levasa.annotation.files.read_annotations` reads: JSON ``{key: label}`` /
  ``{key: [v, a]}`` or CSV ``key,label`` / ``key,valence,arousal``. A key is an image's path relative to the
  root (``person1/smile.jpg``) or a bare file name (``smile.jpg``) that names one image under the root. VA is
  divided by ``input_scale``.
- **A label pattern**: a regular expression over each image's relative path whose group is the class (JAFFE's
  ``KA.HA1.29.tiff``).

When every image lies under a top-level folder named train / val / test (also training, valid, validation,
testing), those folders give the official split. The subject of an image (what the seeded splits keep on one
side) is the image itself, its first ``subject_depth`` folders, or the group of ``subject_pattern`` over its path.

Uncropped photos: with ``detect_faces`` each image is searched for faces upright (its EXIF orientation applied,
:class:`~levasa.data.detect.FaceDetector`, as ``predict.py`` finds them) and the largest face becomes its crop
box, in the stored pixel grid the cache crops in; the labels belong to the image, so one face is taken from each.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from levasa.annotation.files import Annotations, read_annotations
from levasa.annotation.labels import LOOKUP, AnnotationError, label_indices
from levasa.data.detect import FaceDetector, upright_box_to_stored
from levasa.data.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, ImageError, load_photo
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
from levasa.vocabulary import EMOTIONS, UNKNOWN_EMOTION

log = logging.getLogger(__name__)

LABEL_FILES = ("labels.csv", "labels.json")
LAYOUT = (
    "one folder per class (<root>/<class>/<image>, optionally below train/val/test folders), or images at any "
    "depth with a label file (labels.csv or labels.json in the root, or data.reader.labels) keyed by each image's "
    "path relative to the root or by its file name, or with data.reader.label_pattern"
)
SPLIT_FOLDERS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
"""Top-level folder names (any case) that give the official split."""
CLASS_WORDS = f"one of {list(EMOTIONS)} in any case, a synonym such as HAPPINESS or angry, or a code 0-7"
CLASS_NAMES = f"{CLASS_WORDS}, or a name of data.reader.label_map"
NAN_VA = (float("nan"), float("nan"))
NO_FACE = "no face found"
"""The reason counted for an image in which ``detect_faces`` finds no face."""
UNREADABLE = "unreadable image"
"""The reason counted for an image ``detect_faces`` cannot read (the cache's own count has the same name)."""
TURNED = (5, 6, 7, 8)
"""EXIF orientations whose upright view swaps the stored width and height."""


class Face(NamedTuple):
    """An image and its labels, before the subject and the split are added."""

    path: str
    """The image, relative to the root."""
    key: str
    va: tuple[float, float]
    emotion: int
    where: str
    """What an error about this image names (the image file, or the label file and key)."""
    folders: tuple[str, ...]
    """The image's folders below a split folder (and below its class folder), which ``subject_depth`` counts."""


def read_folder(
    root: str | Path,
    *,
    labels: str | None = None,
    input_scale: float = 1.0,
    subject_depth: int = 0,
    subject_pattern: str | None = None,
    label_pattern: str | None = None,
    label_map: Mapping[str, str] | None = None,
    split_folders: bool = True,
    detect_faces: bool = False,
    detector: Mapping[str, Any] | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    skip_invalid: bool = False,
) -> Records:
    """Read a folder of images labelled by class folders, a label file or a label pattern.

    Args:
        root: the image folder (searched at any depth; hidden files and folders are ignored).
        labels: the label file; None: ``labels.csv`` or ``labels.json`` in ``root`` (never both), else one folder
            per class (or ``label_pattern``). A relative path is relative to ``root``.
        input_scale: VA in the file lies in ``[-input_scale, input_scale]`` and is divided by it.
        subject_depth: 0: every image is its own subject; k: the subject is the first k folders of its path below
            a split folder and a class folder (for example 1 for ``<person>/<image>``).
        subject_pattern: a regular expression searched in each image's path relative to the root (``/``
            separated); its group named ``subject``, else its first group, else the whole match is the subject
            (``(S\\d+)_`` gives ``S005`` for ``S005_001_00000011.png``). A path it does not match is a bad row.
        label_pattern: the same for the class, instead of a label file or class folders (group ``label``).
        label_map: names (any case) to classes, looked up before the synonyms in class folder names, label
            patterns and label files, for datasets' own codes (JAFFE's ``HA`` -> ``Happy``).
        split_folders: top-level folders train / val / test give the official split when every image lies under
            one and there is a train folder and a held-out one (with train and val only, val is the test split);
            False: a seeded split over all images (the split folders are still not taken for class folders).
        detect_faces: find the faces in each image (uncropped photos), searched upright, and crop the largest
            (the labels are the image's, so one face per image); an image without a face is a bad row (``no face
            found``), an unreadable one raises :class:`~levasa.data.images.ImageError` (counted as ``unreadable
            image`` when skipping). False: each image is one face (its centred square).
        detector: the :class:`~levasa.data.detect.FaceDetector` settings (``cascade``, ``scale_factor``,
            ``min_neighbors``, ``min_face``); None: its defaults. Read only with ``detect_faces``.
        max_pixels: ``detect_faces`` refuses images declaring more pixels before decoding them, as the cache
            does (``data.max_pixels``); None: only Pillow's own limit.
        skip_invalid: count and skip bad rows and images (unmatched, unknown or ambiguous names, paths a pattern
            does not match, images without a face) instead of raising :class:`ReaderError`. Errors of the whole
            label file (not readable, duplicate keys, VA outside the scale) are always raised.

    Returns:
        Records with either emotion indices (VA NaN) or VA (emotion -1); keys the label file's keys, or the
        relative paths; split from the split folders, else ``""``; with ``detect_faces`` the face box of each
        image (``x, y, w, h`` in its stored pixels).
    """
    if isinstance(subject_depth, bool) or not isinstance(subject_depth, int) or subject_depth < 0:
        raise ValueError(f"folder: subject_depth must be an integer >= 0, found {subject_depth!r}")
    subject_re = _compile(subject_pattern, "subject_pattern")
    label_re = _compile(label_pattern, "label_pattern")
    if subject_re is not None and subject_depth:
        raise ValueError("folder: set one of data.reader.subject_depth and data.reader.subject_pattern, not both")
    if label_re is not None and labels is not None:
        raise ValueError("folder: set one of data.reader.labels and data.reader.label_pattern, not both")
    classes = _class_map(label_map)
    finder = _detector(detect_faces, detector)
    root = check_root(root, "folder", LAYOUT)
    path = _label_file(root, labels, label_re is not None)
    images = _images(root, path)
    if not images:
        raise ReaderError(f"{root}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}); folder expects {LAYOUT}")
    splits = _split_folders(root, images)
    if not split_folders:
        splits = dict.fromkeys(splits, "")
    skips = Skips("folder", skip_invalid)
    if path is not None:
        faces = _from_label_file(root, path, images, splits, input_scale, classes, skips)
    elif label_re is not None:
        faces = _from_pattern(root, images, splits, label_re, classes, skips)
    else:
        faces = _from_class_folders(root, images, splits, classes, skips)
    rows: list[Row] = []
    for face in faces:
        subject = _subject(root, face, subject_depth, subject_re, skips)
        if subject is not None:
            split = splits.get(face.path.partition("/")[0], "")
            rows.append(
                Row(path=face.path, va=face.va, emotion=face.emotion, key=face.key, subject=subject, split=split)
            )
    if finder is not None:
        rows = _find_faces(root, rows, finder, max_pixels, skips)
    return collect("folder", root, rows, skips)


def _detector(detect_faces: object, settings: Mapping[str, Any] | None) -> FaceDetector | None:
    """The face detector of ``settings`` when ``detect_faces``, else None; a clear :class:`ValueError` for an
    option that is not a boolean, or settings the detector does not have or refuses."""
    if not isinstance(detect_faces, bool):
        raise ValueError(f"folder: data.reader.detect_faces must be true or false, found {detect_faces!r}")
    if not detect_faces:
        return None
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise ValueError(f"folder: data.reader.detector must be a mapping of detector settings, found {settings!r}")
    known = set(FaceDetector.__dataclass_fields__)
    unknown = sorted(str(name) for name in settings if name not in known)
    if unknown:
        raise ValueError(f"folder: data.reader.detector has no setting {unknown}; its settings: {sorted(known)}")
    try:
        return FaceDetector(**settings)
    except (TypeError, ValueError) as err:
        raise ValueError(f"folder: data.reader.detector: {err}") from None


def _find_faces(root: Path, rows: list[Row], detector: FaceDetector, max_pixels: int | None, skips: Skips) -> list[Row]:
    """``rows`` with the box of the largest face found in each image (stored pixels); images without a face are
    bad rows, unreadable ones raise :class:`ImageError` or are counted when skipping."""
    found: list[Row] = []
    for row in tqdm(rows, desc="folder: finding faces", unit="img", leave=False, mininterval=1.0):
        path = root / row.path
        try:
            photo, orientation = load_photo(path, max_pixels)
        except ImageError as err:
            if not skips.skip:
                raise
            skips.problem(UNREADABLE, str(path), str(err).removeprefix(f"{path}: "))
            continue
        boxes = detector.detect(photo)
        if not len(boxes):
            skips.problem(NO_FACE, str(path), "(try a lower data.reader.detector.min_neighbors or min_face)")
            continue
        height, width = photo.shape[:2]
        if orientation in TURNED:
            width, height = height, width
        box = upright_box_to_stored(boxes[0], orientation, width, height)
        found.append(row._replace(box=tuple(float(v) for v in box)))
    return found


def _compile(pattern: object, option: str) -> re.Pattern | None:
    """``pattern`` compiled (None stays None); a clear :class:`ValueError` naming ``option`` when it is not one."""
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"folder: data.reader.{option} must be a non-empty regular expression, found {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ValueError(
            f"folder: data.reader.{option} {pattern!r} is not a valid regular expression ({err})"
        ) from None


def _class_map(label_map: Mapping[str, str] | None) -> dict[str, int]:
    """``label_map`` as lower-cased name -> class index; raises :class:`ValueError` for a value that is no class."""
    if label_map is None:
        return {}
    if not isinstance(label_map, Mapping):
        raise ValueError(f"folder: data.reader.label_map must be a mapping {{name: class}}, found {label_map!r}")
    classes = {}
    for name, target in label_map.items():
        index = LOOKUP.get(str(target).strip().lower(), UNKNOWN_EMOTION)
        if index == UNKNOWN_EMOTION:
            raise ValueError(f"folder: data.reader.label_map maps {name!r} to {target!r}; expected {CLASS_WORDS}")
        classes[str(name).strip().lower()] = index
    return classes


def _class_index(name: str, classes: dict[str, int]) -> int:
    """The class index of a folder name or pattern group: ``label_map`` first, then the synonyms; -1 if neither."""
    name = name.strip().lower()
    return classes[name] if name in classes else LOOKUP.get(name, UNKNOWN_EMOTION)


def _group(match: re.Match | None, name: str) -> str | None:
    """The group ``name`` of ``match``, else its first group, else the whole match; None where it matched nothing."""
    if match is None:
        return None
    if name in match.re.groupindex:
        return match.group(name) or None
    return (match.group(1) if match.re.groups else match.group(0)) or None


def _split_folders(root: Path, images: set[str]) -> dict[str, str]:
    """Top-level folder -> official split, when every image lies under a split folder (else ``{}``).

    The split is ``""`` for every folder (the folders are still set apart from the class and subject folders)
    when there is no train folder or no held-out one; with train and val only, val becomes the test split (as
    AffectNet's validation set) and the validation split is carved from train.
    """
    tops: set[str] = set()
    for rel in images:
        top, sep, _ = rel.partition("/")
        if not sep or top.lower() not in SPLIT_FOLDERS:
            return {}
        tops.add(top)
    named = {top: SPLIT_FOLDERS[top.lower()] for top in tops}
    kinds = set(named.values())
    if "train" not in kinds or kinds == {"train"}:
        log.info("folder: %s holds only %s folders: a seeded split is made", root, " and ".join(sorted(tops)))
        return dict.fromkeys(tops, "")
    if "test" not in kinds:
        named = {top: "test" if kind == "val" else kind for top, kind in named.items()}
    return named


def _below_split(rel: str, splits: dict[str, str]) -> list[str]:
    """The parts of ``rel`` below its split folder (all of them when there are no split folders)."""
    parts = rel.split("/")
    return parts[1:] if splits else parts


def _from_class_folders(
    root: Path, images: set[str], splits: dict[str, str], classes: dict[str, int], skips: Skips
) -> list[Face]:
    """One face per image, labelled by the folder below the root (or below its split folder)."""
    why = f"neither of {' and '.join(LABEL_FILES)} found in {root}, so each folder under it names a class"
    faces = []
    for rel in sorted(images):
        parts = _below_split(rel, splits)
        if len(parts) < 2:
            skips.problem("image outside a class folder", str(root / rel), f"({why}: <root>/<class>/<image>)")
            continue
        index = _class_index(parts[0], classes)
        if index == UNKNOWN_EMOTION:
            folder = root / rel.rsplit("/", len(parts) - 1)[0]
            skips.problem("unknown class folder", str(folder), f"{parts[0]!r} ({why}: expected {CLASS_NAMES})")
            continue
        faces.append(Face(rel, rel, NAN_VA, index, str(root / rel), tuple(parts[1:-1])))
    return faces


def _from_pattern(
    root: Path, images: set[str], splits: dict[str, str], label_re: re.Pattern, classes: dict[str, int], skips: Skips
) -> list[Face]:
    """One face per image, labelled by the group of ``label_re`` in its relative path."""
    faces = []
    for rel in sorted(images):
        where = str(root / rel)
        name = _group(label_re.search(rel), "label")
        if name is None:
            skips.problem("path not matched by data.reader.label_pattern", where, repr(label_re.pattern))
            continue
        index = _class_index(name, classes)
        if index == UNKNOWN_EMOTION:
            detail = f"{name!r} (from data.reader.label_pattern; expected {CLASS_NAMES})"
            skips.problem("unknown label", where, detail)
            continue
        faces.append(Face(rel, rel, NAN_VA, index, where, tuple(_below_split(rel, splits)[:-1])))
    return faces


def _from_label_file(
    root: Path,
    path: Path,
    images: set[str],
    splits: dict[str, str],
    input_scale: float,
    classes: dict[str, int],
    skips: Skips,
) -> list[Face]:
    """One face per key of the label file ``path`` that names an image (by relative path or unique file name)."""
    try:
        annotations = read_annotations(path, input_scale)
    except AnnotationError as err:
        raise ReaderError(str(err)) from None
    keys = [_normalize(str(key)) for key in annotations.keys]
    va, emotion, known = _labels(annotations, classes, skips.skip)
    by_name: dict[str, list[str]] | None = None
    faces: list[Face] = []
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
        rel = key
        if key not in images and "/" not in key:
            by_name = _by_name(images) if by_name is None else by_name
            found = by_name.get(key, [])
            if len(found) > 1:
                listed = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
                detail = f"(a bare file name matching {len(found)} images: {listed}; key it by its path from the root)"
                skips.problem("ambiguous image name", where, detail)
                continue
            rel = found[0] if found else key
        if rel in matched:
            skips.problem("duplicate key", where, "(the same image written two ways)")
            continue
        if rel not in images:
            skips.problem("annotation without an image", where)
            continue
        matched.add(rel)
        pair = (float(va[i, 0]), float(va[i, 1]))
        faces.append(Face(rel, key, pair, int(emotion[i]), where, tuple(_below_split(rel, splits)[:-1])))
    named = set(keys)
    bare = {key for key in named if "/" not in key and key not in images}  # keys looked up by file name
    for rel in sorted(images - matched):
        if rel not in named and rel.rsplit("/", 1)[-1] not in bare:
            skips.problem("image without an annotation", str(root / rel), f"(no key {rel!r} in {path.name})")
    return faces


def _by_name(images: set[str]) -> dict[str, list[str]]:
    """File name -> the relative paths of the images of that name, sorted."""
    found: dict[str, list[str]] = defaultdict(list)
    for rel in sorted(images):
        found[rel.rsplit("/", 1)[-1]].append(rel)
    return found


def _subject(root: Path, face: Face, depth: int, pattern: re.Pattern | None, skips: Skips) -> str | None:
    """The subject of ``face`` (its key, its first ``depth`` folders or the pattern's group); None when skipped."""
    if pattern is not None:
        subject = _group(pattern.search(face.path), "subject")
        if subject is None:
            skips.problem(
                "path not matched by data.reader.subject_pattern", str(root / face.path), repr(pattern.pattern)
            )
        return subject
    if depth:
        if len(face.folders) < depth:
            skips.problem(f"image in fewer than subject_depth={depth} folders", face.where)
            return None
        return "/".join(face.folders[:depth])
    return face.key


def _labels(
    annotations: Annotations, classes: dict[str, int], skip_invalid: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(VA ``[N, 2]``, emotion ``[N]``, known ``[N]``) of a label file's rows: the kind it holds, the other kind
    unknown; ``known`` is False where a label is not a class (only when ``skip_invalid``, else raised). Names of
    ``classes`` (``label_map``) are mapped first."""
    n = len(annotations.keys)
    emotion = np.full(n, UNKNOWN_EMOTION, dtype=np.int64)
    if annotations.labels is None:
        return np.asarray(annotations.va, dtype=np.float64), emotion, np.ones(n, dtype=bool)
    names = annotations.labels
    if classes:
        names = np.array([str(classes.get(str(name).strip().lower(), name)) for name in names.tolist()], dtype=str)
    try:
        codes, known = label_indices(names, annotations.keys, source=str(annotations.path), skip=skip_invalid)
    except AnnotationError as err:
        raise ReaderError(f"{err} (set data.skip_invalid=true to skip and count such rows)") from None
    emotion[known] = codes
    return np.full((n, 2), np.nan), emotion, known


def _label_file(root: Path, labels: str | Path | None, pattern: bool) -> Path | None:
    """The label file: ``labels`` (relative to ``root`` unless absolute), else the one of :data:`LABEL_FILES` in
    ``root``, else None (class folders, or the label ``pattern``)."""
    if labels is None:
        found = [root / name for name in LABEL_FILES if (root / name).is_file()]
        if len(found) > 1:
            raise ReaderError(
                f"{root}: both of {' and '.join(LABEL_FILES)} found; keep exactly one or set data.reader.labels"
            )
        if found and pattern:
            raise ReaderError(
                f"{found[0]}: a label file beside data.reader.label_pattern; keep one source of labels (move the "
                "file away, or drop the pattern)"
            )
        return found[0] if found else None
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


def _images(root: Path, label_file: Path | None) -> set[str]:
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
