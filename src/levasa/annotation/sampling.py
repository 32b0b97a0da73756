"""Label sampling like real data: a class drawn with an anchor's frequencies (AffectNet's by default), VA uniform
inside that class's one-sigma ellipse, optional Gaussian annotation noise.

The synthetic faces (:mod:`levasa.data.synthetic`) render the VA drawn here, so the labels of a synthetic set can
be drawn without rendering it (:func:`sample_subject_labels`), e.g. to score annotation transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from levasa.annotation.anchors import Anchor, affectnet_anchor
from levasa.checks import check_integer

SEED_STREAMS = ("identities", "expressions", "pixel_noise")
"""The independent streams a synthetic set's seed is split into (children of ``SeedSequence(seed)``, in this order);
its labels come from ``expressions`` alone."""


def stream_seed(seed: int, stream: str) -> np.random.SeedSequence:
    """The child seed of ``stream`` (one of :data:`SEED_STREAMS`) for the synthetic set of ``seed``."""
    return np.random.SeedSequence(seed).spawn(len(SEED_STREAMS))[SEED_STREAMS.index(stream)]


def sample_expressions(
    n: int, rng: np.random.Generator, anchor: Anchor | None = None, label_noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` expressions from an anchor (default: AffectNet's).

    The class is drawn with the anchor's prior, VA uniformly inside the class's one-sigma ellipse and
    clipped to ``[-1, 1]``; the observed VA adds Gaussian annotation noise of std ``label_noise``.

    Returns:
        ``va_true`` float32 ``[n, 2]``, ``va_observed`` float32 ``[n, 2]`` (both in ``[-1, 1]``) and
        ``emotion`` int64 ``[n]`` (index into ``EMOTIONS``).
    """
    check_integer("n", n)
    if not label_noise >= 0:
        raise ValueError(f"label_noise must be >= 0, found {label_noise}")
    anchor = anchor or affectnet_anchor()
    cls = rng.choice(len(anchor.classes), size=n, p=anchor.prior)
    r, theta = np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    disc = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    va_true = np.clip(anchor.mean[cls] + anchor.std[cls] * disc, -1, 1)
    va_obs = np.clip(va_true + label_noise * rng.standard_normal((n, 2)), -1, 1)
    return va_true.astype(np.float32), va_obs.astype(np.float32), anchor.indices[cls]


@dataclass(frozen=True)
class SubjectLabels:
    """Labels of ``S`` subjects seen ``E`` times each, subject by subject (``N = S * E`` rows).

    Attributes:
        true_va: float32 ``[N, 2]`` the VA drawn from the class's ellipse.
        va: float32 ``[N, 2]`` the observed VA (``true_va`` plus annotation noise, clipped to ``[-1, 1]``).
        emotion: int64 ``[N]`` the class (index into ``EMOTIONS``).
        subject: int64 ``[N]`` the subject id, ``0 .. S - 1``, each repeated ``E`` times.
    """

    true_va: np.ndarray
    va: np.ndarray
    emotion: np.ndarray
    subject: np.ndarray


def sample_subject_labels(n_subjects: int, per_subject: int, seed: int = 0, label_noise: float = 0.0) -> SubjectLabels:
    """The labels of the synthetic set of ``seed`` with ``n_subjects`` identities of ``per_subject`` expressions:
    :func:`sample_expressions` (AffectNet anchor) on the seed's ``expressions`` stream."""
    check_integer("n_subjects", n_subjects)
    check_integer("per_subject", per_subject)
    rng = np.random.default_rng(stream_seed(seed, "expressions"))
    true_va, va, emotion = sample_expressions(n_subjects * per_subject, rng, label_noise=label_noise)
    subject = np.repeat(np.arange(n_subjects, dtype=np.int64), per_subject)
    return SubjectLabels(true_va=true_va, va=va, emotion=emotion, subject=subject)
