"""Fill a dataset's missing label kind by annotation transfer (from a transferred file, or on the fly).

A sample whose VA is unknown but whose class is known gets VA, and one whose class is unknown but whose VA
is known gets a class: first from a transferred annotation file (``python transfer.py``; its keys are the
samples' keys), then, for samples the file does not cover, by transferring on the fly from the anchor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.files import read_annotations
from levasa.annotation.labels import AnnotationError, label_indices
from levasa.annotation.strategies import CAT_TO_VA, VA_TO_CAT, categorical_to_va, va_to_categorical

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelFill:
    """How to fill missing labels.

    Attributes:
        anchor: ``affectnet``, ``russell`` or an anchor table file.
        va_strategy: labels -> VA strategy (one of ``CAT_TO_VA``).
        label_strategy: VA -> labels strategy (one of ``VA_TO_CAT``).
        file: a transferred annotation file (``{key: [v, a]}`` or ``{key: label}``, JSON or CSV), or None.
        seed: seeds the sampling strategies.
    """

    anchor: str = "affectnet"
    va_strategy: str = "ellipse"
    label_strategy: str = "nearest"
    file: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.va_strategy not in CAT_TO_VA:
            raise ValueError(f"va_strategy must be one of {list(CAT_TO_VA)}, found {self.va_strategy!r}")
        if self.label_strategy not in VA_TO_CAT:
            raise ValueError(f"label_strategy must be one of {list(VA_TO_CAT)}, found {self.label_strategy!r}")


def _from_file(fill: LabelFill, keys: np.ndarray, va: np.ndarray, emotion: np.ndarray) -> None:
    """Fill ``va`` / ``emotion`` in place from ``fill.file`` for the rows whose keys it names."""
    annotations = read_annotations(Path(fill.file))
    position = {key: i for i, key in enumerate(keys.tolist())}
    rows = np.array([position.get(k, -1) for k in annotations.keys.tolist()], dtype=np.int64)
    found = rows >= 0
    if not found.any():
        raise AnnotationError(f"{fill.file}: none of its {rows.size} keys is a key of this dataset")
    if (~found).any():
        log.warning("%s: %d of %d keys are not in this dataset; ignored", fill.file, (~found).sum(), rows.size)
    matched = rows[found]
    if annotations.va is not None:
        unknown = np.isnan(va[matched]).all(axis=1)
        va[matched[unknown]] = annotations.va[found][unknown]
    else:
        classes, _ = label_indices(annotations.labels[found], annotations.keys[found], source=str(fill.file))
        unknown = emotion[matched] < 0
        emotion[matched[unknown]] = classes[unknown]


def fill_missing_labels(
    fill: LabelFill, keys: np.ndarray, va: np.ndarray, emotion: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``va [N, 2]`` and ``emotion [N]`` with the missing kind filled where the other kind is known."""
    va, emotion = np.array(va, dtype=np.float32), np.array(emotion, dtype=np.int64)
    if fill.file is not None:
        _from_file(fill, np.asarray(keys, dtype=str), va, emotion)
    anchor = resolve_anchor(fill.anchor)
    need_va = np.isnan(va).all(axis=1) & (emotion >= 0)
    if need_va.any():
        rng = np.random.default_rng(fill.seed)
        va[need_va] = np.clip(categorical_to_va(emotion[need_va], anchor, fill.va_strategy, rng), -1, 1)
    need_label = (emotion < 0) & ~np.isnan(va).any(axis=1)
    if need_label.any():
        emotion[need_label] = va_to_categorical(va[need_label], anchor, fill.label_strategy, fill.seed)
    log.info("filled VA for %d and classes for %d of %d samples", need_va.sum(), need_label.sum(), len(emotion))
    return va, emotion
