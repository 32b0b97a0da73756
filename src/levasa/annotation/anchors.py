"""Anchors: per-class valence-arousal ellipses that tie categorical labels to the circumplex."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from levasa.data.contract import EMOTIONS


@dataclass(frozen=True)
class Anchor:
    """Axis-aligned VA ellipses, one per class, in canonical class order.

    Attributes:
        classes: canonical class names, ``[K]``.
        mean: ellipse centres ``[K, 2]`` (valence, arousal) in ``[-1, 1]``.
        std: semi-axes ``[K, 2]`` (one standard deviation per axis).
        prior: class frequencies ``[K]``, summing to 1.
        provenance: where the figures come from.
    """

    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    prior: np.ndarray
    provenance: str

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
