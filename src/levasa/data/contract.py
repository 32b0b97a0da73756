"""The sample contract every dataset in levasa follows.

A sample is a dict with:
- ``image``: float32 tensor ``[3, H, W]`` in ``[0, 1]``;
- ``va``: float32 tensor ``[2]`` (valence, arousal) in ``[-1, 1]``, NaN where unknown;
- ``emotion``: int64 index into :data:`levasa.vocabulary.EMOTIONS`, ``-1`` where unknown;
- ``key``: a stable string id of the sample;
- ``subject``: the identity / actor / clip the sample belongs to (for subject-disjoint splits).
"""

from __future__ import annotations

SAMPLE_KEYS = ("image", "va", "emotion", "key", "subject")
