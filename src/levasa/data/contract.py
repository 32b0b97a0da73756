"""The sample contract every dataset in levasa follows.

A sample is a dict with:
- ``image``: float32 tensor ``[3, H, W]`` in ``[0, 1]``;
- ``va``: float32 tensor ``[2]`` (valence, arousal) in ``[-1, 1]``, NaN where unknown;
- ``emotion``: int64 index into :data:`EMOTIONS`, ``-1`` where unknown;
- ``key``: a stable string id of the sample;
- ``subject``: the identity / actor / clip the sample belongs to (for subject-disjoint splits).
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "Neutral",
    "Happy",
    "Sad",
    "Surprise",
    "Fear",
    "Disgust",
    "Anger",
    "Contempt",
)
"""Canonical emotion classes; the first seven are the 7-class set, Contempt is the optional 8th."""

NUM_BASIC_EMOTIONS = 7
UNKNOWN_EMOTION = -1
SAMPLE_KEYS = ("image", "va", "emotion", "key", "subject")
