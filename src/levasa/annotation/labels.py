"""Emotion label names: canonical classes, each dataset's synonyms and AffectNet's integer codes."""

from __future__ import annotations

import logging

import numpy as np

from levasa.errors import InputError
from levasa.vocabulary import EMOTIONS

log = logging.getLogger(__name__)


class AnnotationError(InputError):
    """Bad annotation input: the message names the file (or source), the key and what was wrong."""


SYNONYMS: dict[str, str] = {
    "neutral": "Neutral",
    "happy": "Happy",
    "happiness": "Happy",
    "joy": "Happy",
    "sad": "Sad",
    "sadness": "Sad",
    "surprise": "Surprise",
    "surprised": "Surprise",
    "fear": "Fear",
    "afraid": "Fear",
    "fearful": "Fear",
    "disgust": "Disgust",
    "disgusted": "Disgust",
    "anger": "Anger",
    "angry": "Anger",
    "contempt": "Contempt",
    "contemptuous": "Contempt",
}
"""Lower-cased names (canonical, FER/IMFDB/AffectNet spellings) to canonical class names."""

LOOKUP: dict[str, int] = {
    **{name: EMOTIONS.index(canon) for name, canon in SYNONYMS.items()},
    **{str(code): code for code in range(len(EMOTIONS))},  # AffectNet codes 0-7 follow EMOTIONS' order
}


def label_indices(
    labels: np.ndarray | list, keys: np.ndarray | list, source: str = "input", skip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Map label names or codes ``[N]`` to indices into ``EMOTIONS``.

    Names are case-insensitive, surrounding spaces ignored. Unknown labels raise :class:`AnnotationError`
    naming ``source``, the first such key and its label; with ``skip`` they are dropped and counted in the log.

    Returns:
        int64 indices ``[M]`` and the boolean mask ``[N]`` of the kept rows (all True unless ``skip``).
    """
    names = np.asarray(labels, dtype=str).reshape(-1)
    uniq, inverse = factorize(names)
    codes = np.array([LOOKUP.get(name.strip().lower(), -1) for name in uniq], dtype=np.int64)[inverse]
    keep = codes >= 0
    if not keep.all():
        bad = np.flatnonzero(~keep)
        if not skip:
            first = bad[0]
            raise AnnotationError(
                f"{source}: key {str(np.asarray(keys)[first])!r} has unknown label {str(names[first])!r}; "
                f"expected one of {list(EMOTIONS)} in any case, a synonym such as HAPPINESS or angry, or a code 0-7"
            )
        unknown = np.unique(names[bad]).tolist()
        log.warning("%s: skipped %d of %d rows with unknown labels %s", source, bad.size, names.size, unknown)
    return codes[keep], keep


def factorize(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct strings of ``names`` ``[N]`` and each one's index among them ``[N]``.

    Hashes the code points column by column (a loop over characters, not samples) and sorts the 64-bit
    hashes, several times faster than sorting the strings; verified exactly, so a hash collision only costs time.
    """
    if names.size == 0:
        return names, np.zeros(0, dtype=np.intp)
    width = max(2, names.dtype.itemsize // 4 + names.dtype.itemsize // 4 % 2)  # an even number of code points
    pairs = np.ascontiguousarray(names, dtype=f"<U{width}").view(np.uint64).reshape(names.size, -1)
    h = pairs[:, 0].copy()
    for column in pairs.T[1:]:  # two code points per 64-bit word
        h *= np.uint64(1_000_003)
        h += column
    hashes = np.unique(h)
    inverse = np.searchsorted(hashes, h)
    some = np.empty(hashes.size, dtype=np.int64)
    some[inverse] = np.arange(names.size)  # an occurrence of each hash
    uniq = names[some]
    if not np.array_equal(uniq[inverse], names):
        uniq, inverse = np.unique(names, return_inverse=True)
    return uniq, inverse.reshape(-1)
