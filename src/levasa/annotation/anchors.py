"""Anchors: per-class valence-arousal ellipses that tie categorical labels to the circumplex."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from levasa.annotation.labels import AnnotationError
from levasa.vocabulary import EMOTIONS


@dataclass(frozen=True)
class Anchor:
    """Axis-aligned VA ellipses, one per class, in canonical class order.

    Attributes:
        classes: canonical class names, ``[K]``.
        mean: ellipse centres ``[K, 2]`` (valence, arousal) in ``[-1, 1]``.
        std: semi-axes ``[K, 2]`` (one standard deviation per axis).
        prior: class frequencies ``[K]``, summing to 1.
        provenance: where the figures come from.
        va: the labelled VA the anchor was fitted on, ``[M, 2]``, when fitted from data (else None).
        va_class: the class of each of those points, ``[M]`` index into ``classes`` (else None).
    """

    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    prior: np.ndarray
    provenance: str
    va: np.ndarray | None = None
    va_class: np.ndarray | None = None

    @property
    def indices(self) -> np.ndarray:
        """Indices of the anchor's classes in :data:`levasa.data.contract.EMOTIONS`, ``[K]``."""
        return np.array([EMOTIONS.index(c) for c in self.classes], dtype=np.int64)


def load_anchor_file(path: str | Path) -> Anchor:
    """Read an anchor table (the JSON schema of ``tables/affectnet_7class.json``)."""
    path = Path(path)
    try:
        table = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    try:
        rows = table["classes"]
        names = [n for n in EMOTIONS if n in rows]
        unknown = sorted(set(rows) - set(EMOTIONS))
        if unknown:
            raise ValueError(f"{path}: unknown class names {unknown}; expected some of {list(EMOTIONS)}")
        mean = np.array([[rows[n]["valence_mean"], rows[n]["arousal_mean"]] for n in names])
        std = np.array([[rows[n]["valence_std"], rows[n]["arousal_std"]] for n in names])
        counts = np.array([float(rows[n].get("count", 1.0)) for n in names])
    except KeyError as err:
        raise ValueError(f"{path}: anchor table lacks key {err}") from None
    return Anchor(tuple(names), mean, std, counts / counts.sum(), table.get("provenance", ""))


def affectnet_anchor() -> Anchor:
    """The built-in AffectNet 7-class anchor (training split; provenance in the table file)."""
    with resources.as_file(resources.files("levasa.annotation") / "tables" / "affectnet_7class.json") as p:
        return load_anchor_file(p)


def russell_anchor() -> Anchor:
    """Russell's (1980) circumplex as a coarse anchor: classes on its compass directions (table file)."""
    with resources.as_file(resources.files("levasa.annotation") / "tables" / "russell_circumplex.json") as p:
        return load_anchor_file(p)


def fit_anchor(va: np.ndarray, emotion: np.ndarray, provenance: str) -> Anchor:
    """Fit an anchor on labelled data with both kinds: per-class VA mean, std and frequency.

    Args:
        va: float ``[N, 2]`` (valence, arousal) in ``[-1, 1]``; rows with NaN are ignored.
        emotion: int ``[N]`` index into ``EMOTIONS``; rows with -1 are ignored.
        provenance: where the data come from.
    """
    va, emotion = np.asarray(va, dtype=np.float64), np.asarray(emotion, dtype=np.int64)
    ok = (emotion >= 0) & np.isfinite(va).all(axis=1)
    va, emotion = va[ok], emotion[ok]
    counts = np.bincount(emotion, minlength=len(EMOTIONS)).astype(np.float64)
    present = np.flatnonzero(counts >= 2)
    if present.size == 0:
        raise ValueError(f"fit_anchor: no class has two labelled samples ({provenance})")
    keep = np.isin(emotion, present)
    va, cls = va[keep], np.searchsorted(present, emotion[keep])
    n = counts[present][:, None]
    mean = np.stack([np.bincount(cls, va[:, j], present.size) for j in (0, 1)], axis=1) / n
    var = np.stack([np.bincount(cls, (va[:, j] - mean[cls, j]) ** 2, present.size) for j in (0, 1)], axis=1) / n
    classes = tuple(EMOTIONS[i] for i in present)
    return Anchor(classes, mean, np.sqrt(var), n[:, 0] / n.sum(), provenance, va=va, va_class=cls)


BUILTIN_ANCHORS = {"affectnet": affectnet_anchor, "russell": russell_anchor}
"""The anchors known by name."""


def resolve_anchor(name: str) -> Anchor:
    """A built-in anchor by name (``affectnet``, ``russell``) or an anchor table file."""
    if name in BUILTIN_ANCHORS:
        return BUILTIN_ANCHORS[name]()
    if not Path(name).is_file():
        raise AnnotationError(f"anchor {name!r} is neither a built-in {sorted(BUILTIN_ANCHORS)} nor a file")
    try:
        return load_anchor_file(name)
    except ValueError as err:
        raise AnnotationError(str(err)) from None
