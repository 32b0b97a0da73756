"""The emotion vocabulary every part of levasa speaks: the canonical classes and the index of an unknown one.

This module sits at the bottom of the package: it imports nothing of levasa, so that annotation transfer,
the readers, the models and the metrics can all use it without depending on one another.
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
