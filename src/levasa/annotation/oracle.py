"""The Bayes oracle: the best class a classifier can read off the true VA drawn by :mod:`levasa.annotation.sampling`.

Each class's VA is uniform in its one-sigma ellipse, then clipped to ``[-1, 1]``, so the clipped mass lies on the
edges and corners of the box; the posterior weighs each class's density with respect to the point's stratum
(interior, edge or corner).
"""

from __future__ import annotations

import numpy as np

from levasa.annotation.anchors import Anchor, affectnet_anchor
from levasa.annotation.sampling import sample_expressions
from levasa.checks import check_shape


def bayes_emotion(va: np.ndarray, anchor: Anchor | None = None) -> np.ndarray:
    """The Bayes-optimal class of true VA ``[n, 2]`` under :func:`sample_expressions`: int64 ``[n]`` into
    ``EMOTIONS``.

    Posterior ∝ prior x density of the class's clipped uniform ellipse: ``1[inside] / area`` inside the
    box, the clipped chord per unit length on an edge, the clipped mass at a corner.
    """
    anchor = anchor or affectnet_anchor()
    va = np.asarray(va, dtype=np.float64)
    check_shape("va", va, (None, 2))
    return anchor.indices[np.argmax(anchor.prior * _class_density(va, anchor), axis=1)]


def _class_density(va: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Density of each class's clipped VA at ``va`` ``[n, 2]`` w.r.t. the point's stratum: ``[n, K]``."""
    mean, std = anchor.mean[None], anchor.std[None]  # [1, K, 2]
    area = np.pi * std[..., 0] * std[..., 1]
    z = (va[:, None, :] - mean) / std
    edge = np.abs(va) >= 1
    dens = ((z**2).sum(-1) <= 1) / area
    for j in (0, 1):  # on the edge of axis j: the mass clipped onto it per unit length of the other axis
        on = edge[:, j] & ~edge[:, 1 - j]
        half = std[..., j] * np.sqrt(np.clip(1 - z[on, :, 1 - j] ** 2, 0, None))
        dens[on] = np.clip(np.sign(va[on, j])[:, None] * mean[..., j] + half - 1, 0, 2 * half) / area
    for corner in np.unique(np.sign(va[edge.all(1)]), axis=0):
        dens[(np.sign(va) == corner).all(1) & edge.all(1)] = _corner_mass(anchor, corner)
    return dens


def _corner_mass(anchor: Anchor, corner: np.ndarray, steps: int = 4096) -> np.ndarray:
    """Share of each class's ellipse beyond both edges of ``corner`` (signs ``[2]``): ``[K]``."""
    t = (np.arange(steps) + 0.5) / steps * 2 - 1  # arousal across the ellipse, in std units
    flipped = anchor.mean * corner
    half = anchor.std[:, :1] * np.sqrt(1 - t**2)
    beyond = np.clip(flipped[:, :1] + half - 1, 0, 2 * half) * (flipped[:, 1:] + anchor.std[:, 1:] * t >= 1)
    return beyond.sum(1) * (2 / steps) / (np.pi * anchor.std[:, 0])


def oracle_accuracy(anchor: Anchor | None = None, n: int = 200_000, seed: int = 0) -> float:
    """Best accuracy achievable from the true VA: the Bayes rule's accuracy on ``n`` Monte Carlo draws."""
    anchor = anchor or affectnet_anchor()
    va, _, emotion = sample_expressions(n, np.random.default_rng(seed), anchor)
    return float(np.mean(bayes_emotion(va, anchor) == emotion))
