"""Reading and writing annotation files: JSON ``{key: label}`` / ``{key: [v, a]}`` or CSV ``key,label`` /
``key,valence,arousal`` (an optional header row: starting with ``key``, or naming label or VA columns such as
``image,label`` or ``file,valence,arousal``). Errors name the file."""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from levasa.annotation.labels import AnnotationError, label_indices
from levasa.io import write_atomic

log = logging.getLogger(__name__)

HEADER_COLUMNS = frozenset({"label", "emotion", "expression", "class", "valence", "arousal"})
"""Names of the value columns in a header row; no data row has them there (they are no class name nor number)."""


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
    _check_scale(path, input_scale)
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


def _check_scale(path: Path, scale: object) -> None:
    if isinstance(scale, bool) or not isinstance(scale, Real) or not (math.isfinite(scale) and scale > 0):
        raise AnnotationError(f"{path}: input_scale must be positive, found {scale!r} (a finite number > 0)")


def _read_text(path: Path) -> str:
    """The text of ``path``, UTF-8 with or without a BOM; other bytes are an error naming their line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, data[: err.start].count(b"\n") + 1, err) from None


def _not_utf8(path: Path, line: int, err: UnicodeDecodeError) -> AnnotationError:
    return AnnotationError(f"{path}: line {line} is not UTF-8 text ({err.reason})")


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The non-empty rows of the CSV file ``path`` (UTF-8, with or without a BOM) with the line each ends on;
    bytes that are not UTF-8 and rows the csv module cannot split (a field past its size limit) are errors."""
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                if row:
                    rows.append((reader.line_num, row))
        except csv.Error as err:
            raise AnnotationError(f"{path}: line {reader.line_num} is not a readable CSV row ({err})") from None
        except UnicodeDecodeError as err:  # raised for a block read ahead: find the line in a second pass
            raise _not_utf8(path, _undecodable_line(path), err) from None
    return rows


def _undecodable_line(path: Path) -> int:
    """The number of the first line of ``path`` that is not UTF-8."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _read_json(path: Path) -> list[tuple[str, object]]:
    """Key-value pairs of a JSON object, in file order; duplicate keys are an error."""

    def pairs(items: list[tuple[str, object]]) -> list[tuple[str, object]]:
        return items

    text = _read_text(path)
    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    except ValueError as err:  # an integer literal too long to convert
        raise AnnotationError(f"{path}: not valid JSON ({str(err)[:120]})") from None
    except RecursionError:
        raise AnnotationError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, list) or (data and not isinstance(data[0], tuple)):
        raise AnnotationError(f"{path}: expected a JSON object {{key: label}} or {{key: [valence, arousal]}}")
    _check_unique(path, [k for k, _ in data])
    return data


def _read_csv(path: Path) -> list[tuple[str, object]]:
    """Rows of ``key,label`` or ``key,valence,arousal`` as (key, label) or (key, [v, a]) pairs."""
    numbered = _csv_rows(path)
    if numbered and _is_header(numbered[0][1]):
        numbered = numbered[1:]
    rows = [row for _, row in numbered]
    widths = {len(row) for row in rows}
    if len(widths) > 1 or widths - {2, 3}:
        line = next(n for n, row in numbered if len(row) != len(rows[0]) or len(row) not in (2, 3))
        raise AnnotationError(f"{path}: expected rows 'key,label' or 'key,valence,arousal' throughout (line {line})")
    keys = [row[0].strip() for row in rows]
    _check_unique(path, keys)
    if widths == {2}:
        return [(k, row[1].strip()) for k, row in zip(keys, rows, strict=True)]
    return [(k, row[1:]) for k, row in zip(keys, rows, strict=True)]


def _is_header(row: list[str]) -> bool:
    """Whether a CSV's first row names its columns: its first cell is ``key``, or its other cells are value columns."""
    cells = [cell.strip().lower() for cell in row]
    return cells[0] == "key" or (len(cells) > 1 and all(cell in HEADER_COLUMNS for cell in cells[1:]))


def _check_unique(path: Path, keys: list[str]) -> None:
    uniq, counts = np.unique(np.array(keys, dtype=str), return_counts=True)
    if (counts > 1).any():
        raise AnnotationError(f"{path}: duplicate key {str(uniq[np.argmax(counts > 1)])!r}")


def _check_va(path: Path, keys: np.ndarray, values: list, scale: float) -> np.ndarray:
    """VA ``[N, 2]`` divided by ``scale``; NaN, non-numbers, wrong length or out of ``[-scale, scale]`` are errors."""
    try:
        va = np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer too large for a float
        va = None
    if va is None or va.ndim != 2 or va.shape[1] != 2 or any(_has_bool(v) for v in values):
        first = next((i for i, v in enumerate(values) if not _is_pair(v)), None)
        which = "" if first is None else f" (key {str(keys[first])!r} has {_short(values[first])})"
        raise AnnotationError(f"{path}: values must be all labels or all [valence, arousal] number pairs{which}")
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


def _has_bool(value: object) -> bool:
    return isinstance(value, list) and any(isinstance(v, bool) for v in value)


def _is_pair(value: object) -> bool:
    """Whether ``value`` is a [valence, arousal] pair of numbers (or of strings of numbers, from CSV)."""
    if not isinstance(value, list) or len(value) != 2 or _has_bool(value):
        return False
    try:
        return np.array(value, dtype=np.float64).shape == (2,)
    except (TypeError, ValueError, OverflowError):
        return False


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    _check_scale(path, input_scale)
    if not path.is_file():
        raise AnnotationError(f"{path}: no such file")
    numbered = _csv_rows(path)
    rows = [row for _, row in numbered]
    if len(rows) < 2:
        raise AnnotationError(f"{path}: no annotations (empty input)")
    header = [name.strip().lower() for name in rows[0]]
    label_col = next((c for c in ("expression", "label", "emotion") if c in header), None)
    if label_col is None or not {"valence", "arousal"} <= set(header):
        raise AnnotationError(f"{path}: header needs valence, arousal and expression|label|emotion; found {header}")
    widths = np.array([len(row) for row in rows])
    if (widths != len(header)).any():
        row = int(np.argmax(widths != len(header)))
        raise AnnotationError(f"{path}: line {numbered[row][0]} has {widths[row]} cells, the header {len(header)}")
    table = np.array(rows[1:], dtype=str)
    keys = table[:, 0]
    try:
        va = table[:, [header.index("valence"), header.index("arousal")]].astype(np.float64)
    except ValueError:
        raise AnnotationError(f"{path}: valence and arousal must be numbers") from None
    emotion, known = label_indices(table[:, header.index(label_col)], keys, source=str(path), skip=True)
    subject = table[:, header.index("subject")] if "subject" in header else keys
    ok = (np.abs(va[known]) <= input_scale).all(axis=1)  # checked before dividing, which may overflow; NaN fails
    if not ok.all():
        log.warning("%s: dropped %d rows with VA outside the scale (AffectNet's -2 = missing)", path, (~ok).sum())
    return va[known][ok] / input_scale, emotion[ok], subject[known][ok]
