"""Reading and writing annotation files: JSON ``{key: label}`` / ``{key: [v, a]}`` or CSV ``key,label`` /
``key,valence,arousal`` (an optional header row starting with ``key``). Errors name the file."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from levasa.annotation.labels import AnnotationError, label_indices
from levasa.io import write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Annotations:
    """One file's annotations: ``keys`` str ``[N]`` and either ``labels`` ``[N]`` or ``va`` float ``[N, 2]``."""

    path: Path
    keys: np.ndarray
    labels: np.ndarray | None = None
    va: np.ndarray | None = None


def read_annotations(path: str | Path, input_scale: float = 1.0) -> Annotations:
    """Read a label or VA file; VA is divided by ``input_scale`` after checking it lies in ``[-scale, scale]``."""
    path = Path(path)
    if not input_scale > 0:
        raise AnnotationError(f"{path}: input_scale must be positive, found {input_scale}")
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file")
    pairs = _read_csv(path) if path.suffix.lower() == ".csv" else _read_json(path)
    if not pairs:
        raise AnnotationError(f"{path}: no annotations (empty input)")
    keys = np.array([k for k, _ in pairs], dtype=str)
    values = [v for _, v in pairs]
    if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        return Annotations(path, keys, labels=np.array(values, dtype=str))
    return Annotations(path, keys, va=_check_va(path, keys, values, input_scale))


def _read_json(path: Path) -> list[tuple[str, object]]:
    """Key-value pairs of a JSON object, in file order; duplicate keys are an error."""

    def pairs(items: list[tuple[str, object]]) -> list[tuple[str, object]]:
        return items

    try:
        data = json.loads(path.read_text(), object_pairs_hook=pairs)
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, list) or (data and not isinstance(data[0], tuple)):
        raise AnnotationError(f"{path}: expected a JSON object {{key: label}} or {{key: [valence, arousal]}}")
    _check_unique(path, [k for k, _ in data])
    return data


def _read_csv(path: Path) -> list[tuple[str, object]]:
    """Rows of ``key,label`` or ``key,valence,arousal`` as (key, label) or (key, [v, a]) pairs."""
    with path.open(newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if rows and rows[0][0].strip().lower() == "key":
        rows = rows[1:]
    widths = {len(row) for row in rows}
    if len(widths) > 1 or widths - {2, 3}:
        line = next(i for i, row in enumerate(rows) if len(row) != len(rows[0]) or len(row) not in (2, 3))
        raise AnnotationError(f"{path}: expected rows 'key,label' or 'key,valence,arousal' throughout (row {line + 1})")
    keys = [row[0].strip() for row in rows]
    _check_unique(path, keys)
    if widths == {2}:
        return [(k, row[1].strip()) for k, row in zip(keys, rows, strict=True)]
    return [(k, row[1:]) for k, row in zip(keys, rows, strict=True)]


def _check_unique(path: Path, keys: list[str]) -> None:
    uniq, counts = np.unique(np.array(keys, dtype=str), return_counts=True)
    if (counts > 1).any():
        raise AnnotationError(f"{path}: duplicate key {str(uniq[np.argmax(counts > 1)])!r}")


def _check_va(path: Path, keys: np.ndarray, values: list, scale: float) -> np.ndarray:
    """VA ``[N, 2]`` divided by ``scale``; NaN, non-numbers, wrong length or out of ``[-scale, scale]`` are errors."""
    try:
        va = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(f"{path}: values must be all labels or all [valence, arousal] number pairs") from None
    if va.ndim != 2 or va.shape[1] != 2:
        raise AnnotationError(f"{path}: values must be all labels or all [valence, arousal] number pairs")
    bad = ~np.isfinite(va).all(axis=1)
    if bad.any():
        raise AnnotationError(
            f"{path}: key {str(keys[np.argmax(bad)])!r} has a non-finite VA {va[np.argmax(bad)].tolist()}"
        )
    out = (np.abs(va) > scale).any(axis=1)
    if out.any():
        i = np.argmax(out)
        raise AnnotationError(
            f"{path}: key {str(keys[i])!r} has VA {va[i].tolist()} outside the declared scale [-{scale:g}, {scale:g}] "
            "(set input_scale= to the input's range)"
        )
    return va / scale


def write_annotations(path: str | Path, keys: np.ndarray, values: np.ndarray) -> None:
    """Write ``{key: value}`` atomically: JSON object, or CSV rows when ``path`` ends in ``.csv``.

    ``values`` is ``[N]`` labels or ``[N, 2]`` VA (floats, or integers when discretized).
    """
    path = Path(path)
    rows = values.tolist()
    if path.suffix.lower() != ".csv":
        write_atomic(path, lambda f: f.write(json.dumps(dict(zip(keys.tolist(), rows, strict=True))) + "\n"))
        return
    header = ["key", "label"] if values.ndim == 1 else ["key", "valence", "arousal"]
    cells = [[k, r] if isinstance(r, str) else [k, *r] for k, r in zip(keys.tolist(), rows, strict=True)]
    write_atomic(path, lambda f: csv.writer(f, lineterminator="\n").writerows([header, *cells]))


def read_labelled_csv(path: str | Path, input_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a CSV with both label kinds (an AffectNet annotation list, or ``key,label,valence,arousal[,subject]``).

    Needs a header naming ``valence``, ``arousal`` and the class column (``expression``, ``label`` or
    ``emotion``); subjects come from a ``subject`` column, else every row is its own subject. Rows whose class
    is not an emotion (AffectNet codes 8-10) or whose VA lies outside the scale (AffectNet's -2 = missing) are
    dropped and counted in the log.

    Returns:
        VA float ``[N, 2]`` in ``[-1, 1]``, class int64 ``[N]`` into ``EMOTIONS``, subject str ``[N]``.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file")
    with path.open(newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if len(rows) < 2:
        raise AnnotationError(f"{path}: no annotations (empty input)")
    header = [name.strip().lower() for name in rows[0]]
    label_col = next((c for c in ("expression", "label", "emotion") if c in header), None)
    if label_col is None or not {"valence", "arousal"} <= set(header):
        raise AnnotationError(f"{path}: header needs valence, arousal and expression|label|emotion; found {header}")
    widths = np.array([len(row) for row in rows])
    if (widths != len(header)).any():
        line = int(np.argmax(widths != len(header))) + 1
        raise AnnotationError(f"{path}: line {line} has {widths[line - 1]} cells, the header {len(header)}")
    table = np.array(rows[1:], dtype=str)
    keys = table[:, 0]
    try:
        va = table[:, [header.index("valence"), header.index("arousal")]].astype(np.float64) / input_scale
    except ValueError:
        raise AnnotationError(f"{path}: valence and arousal must be numbers") from None
    emotion, known = label_indices(table[:, header.index(label_col)], keys, source=str(path), skip=True)
    subject = table[:, header.index("subject")] if "subject" in header else keys
    ok = (np.abs(va[known]) <= 1).all(axis=1)
    if not ok.all():
        log.warning("%s: dropped %d rows with VA outside the scale (AffectNet's -2 = missing)", path, (~ok).sum())
    return va[known][ok], emotion[ok], subject[known][ok]
