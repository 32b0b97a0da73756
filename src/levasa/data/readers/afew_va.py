"""AFEW-VA: 600 clips ``001``..``600``, each a folder of frames ``NNNNN.png`` and ``<clip>/<clip>.json``.

The JSON is ``{"actor": ..., "video_id": "001", "frames": {"00000": {"valence": v, "arousal": a,
"landmarks": [[x, y], ...]}}}`` with VA integers in ``[-10, 10]`` (sometimes written as floats such as 3.0).
The face box of a frame is the bounding square of its landmarks enlarged by a margin; the ``actor`` is the
subject of the clip's frames (the clip itself where the JSON has no ``actor``). A root ``README.md``,
``*_cropped`` folders and anything else that is not a folder named by digits are ignored.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from levasa.data.images import IMAGE_SUFFIXES
from levasa.data.readers.records import (
    BadValueError,
    ReaderError,
    Records,
    Row,
    Skips,
    box_problem,
    check_root,
    collect,
)
from levasa.vocabulary import UNKNOWN_EMOTION

LAYOUT = "clip folders 001..600, each with frames NNNNN.png and <clip>/<clip>.json"
OFFICIAL_CLIPS = frozenset(f"{i:03d}" for i in range(1, 601))
"""The official release's clip folders; only when exactly these are present is the official split used."""
TRAIN_CLIPS = 540
"""Clips 1-540 form the official train split, 541-600 the test split."""
VA_SCALE = 10.0
BAD_LANDMARKS = "landmarks not a non-empty list of [x, y] number pairs"


def read_afew_va(root: str | Path, *, margin: float = 0.25, skip_invalid: bool = False) -> Records:
    """Read AFEW-VA clip folders under ``root``.

    Args:
        root: the folder holding the clip folders ``001``..``600``.
        margin: the face box is the landmarks' bounding square with ``margin`` of its side added on each side
            (side ``max(w, h) * (1 + 2 * margin)``, centred on the landmarks' box); it may reach past the image.
        skip_invalid: count and skip bad frames instead of raising :class:`ReaderError` at the first.

    Returns:
        Records with VA divided by 10, emotion -1, keys ``<clip>_<frame>``, subject the clip's ``actor`` (the
        clip where its JSON names none), so that a seeded split keeps an actor's clips on one side; split
        ``train`` (clips 1-540) / ``test`` (541-600) when exactly the 600 official clips are present, else ``""``.
    """
    if not (margin >= 0 and math.isfinite(margin)):
        raise ValueError(f"afew_va: margin must be a finite number >= 0, found {margin!r}")
    root = check_root(root, "afew_va", LAYOUT)
    clips = sorted(e.name for e in os.scandir(root) if e.is_dir() and e.name.isascii() and e.name.isdigit())
    if not clips:
        raise ReaderError(f"{root}: no AFEW-VA clip folders (folders named by digits); expected {LAYOUT}")
    official = set(clips) == OFFICIAL_CLIPS
    skips = Skips("afew_va", skip_invalid)
    rows: list[Row] = []
    for clip in clips:
        split = ("train" if int(clip) <= TRAIN_CLIPS else "test") if official else ""
        rows.extend(_read_clip(root, clip, split, margin, skips))
    return collect("afew_va", root, rows, skips)


def _read_clip(root: Path, clip: str, split: str, margin: float, skips: Skips) -> list[Row]:
    """The frames of one clip folder that have both an image and a valid JSON entry."""
    folder = root / clip
    frames_on_disk = {
        Path(e.name).stem: e.name
        for e in os.scandir(folder)
        if e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES
    }
    json_path = folder / f"{clip}.json"
    if not json_path.is_file():
        skips.problem("clip folder without its JSON", str(json_path))
        return []
    try:
        data = json.loads(json_path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        skips.problem("malformed JSON", str(json_path), f"(not UTF-8 text: {err})")
        return []
    except (ValueError, RecursionError) as err:  # JSONDecodeError, an integer too long, nesting too deep
        skips.problem("malformed JSON", str(json_path), f"({str(err)[:200]})")
        return []
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, dict):
        skips.problem("malformed JSON", str(json_path), "(expected an object with a 'frames' object)")
        return []
    actor = data.get("actor")
    if isinstance(actor, bool) or not isinstance(actor, str | int | None):
        skips.problem("malformed JSON", str(json_path), f"(expected 'actor' to be a name, found {_short(actor)})")
        return []
    subject = str(actor).strip() if actor is not None and str(actor).strip() else clip
    rows: list[Row] = []
    for frame in sorted(frames):
        where = f"{json_path}: frame {frame}"
        try:
            va, box = _parse_frame(frames[frame], margin)
        except BadValueError as err:
            skips.problem(err.reason, where, err.detail)
            continue
        if frame not in frames_on_disk:
            skips.problem("annotation without an image", where, f"(no {clip}/{frame}.png)")
            continue
        path, key = f"{clip}/{frames_on_disk[frame]}", f"{clip}_{frame}"
        rows.append(Row(path=path, va=va, emotion=UNKNOWN_EMOTION, key=key, subject=subject, split=split, box=box))
    for frame in sorted(frames_on_disk.keys() - frames.keys()):
        where = str(folder / frames_on_disk[frame])
        skips.problem("image without an annotation", where, f"(no frame {frame!r} in {clip}.json)")
    return rows


def _parse_frame(entry: object, margin: float) -> tuple[tuple[float, float], tuple[float, float, float, float]]:
    """((valence, arousal) in ``[-1, 1]``, box ``(x, y, w, h)``) of one frame entry."""
    if not isinstance(entry, dict):
        raise BadValueError("frame entry not an object", f"(found {type(entry).__name__})")
    va = []
    for name in ("valence", "arousal"):
        if name not in entry:
            raise BadValueError("missing key", repr(name))
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            raise BadValueError("valence/arousal not a number", f"({name} {_short(value)})")
        if not -VA_SCALE <= value <= VA_SCALE:  # compared before any conversion: an int may be too large for a float
            raise BadValueError("valence/arousal outside [-10, 10]", f"({name} {_short(value)})")
        va.append(value / VA_SCALE)
    if "landmarks" not in entry:
        raise BadValueError("missing key", "'landmarks'")
    try:
        points = np.asarray(entry["landmarks"], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise BadValueError(BAD_LANDMARKS) from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0 or not np.isfinite(points).all():
        raise BadValueError(BAD_LANDMARKS)
    low, high = points.min(axis=0), points.max(axis=0)
    with np.errstate(over="ignore"):  # landmarks near the float64 limit give an infinite box, rejected below
        side = float((high - low).max()) * (1 + 2 * margin)
        cx, cy = low / 2 + high / 2
    if side <= 0:
        raise BadValueError(BAD_LANDMARKS, "(they span no area)")
    box = (float(cx) - side / 2, float(cy) - side / 2, side, side)
    problem = box_problem(box)
    if problem:
        raise BadValueError(BAD_LANDMARKS, f"({problem}: {box})")
    return (va[0], va[1]), box


def _finite(value: float) -> bool:
    """Whether a JSON number is finite (an int always is, even one too large for a float)."""
    return isinstance(value, int) or math.isfinite(value)


def _short(value: object) -> str:
    """``repr(value)`` cut to 60 characters (a JSON number may have thousands of digits)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
