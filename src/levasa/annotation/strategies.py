"""Transfer strategies between categorical labels and valence-arousal, all vectorized over samples.

Class indices here index :data:`levasa.data.contract.EMOTIONS`; VA is ``[N, 2]`` (valence, arousal) in ``[-1, 1]``.
The clustering strategies (``gmm``, ``kmeans``) are fitted on the anchor's own labelled VA when it was fitted
from data (:func:`levasa.annotation.anchors.fit_anchor`), else on points drawn from its ellipses (Algorithm 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from levasa.annotation.anchors import Anchor
from levasa.annotation.labels import AnnotationError
from levasa.vocabulary import EMOTIONS

CAT_TO_VA = ("ellipse", "gaussian", "centroid", "gmm", "kmeans")
VA_TO_CAT = ("nearest", "likelihood", "gmm", "kmeans")
REFERENCE_POINTS = 20_000
"""Points drawn from a table-only anchor's ellipses to fit the clustering strategies on."""


def anchor_rows(classes: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Rows of ``anchor`` ``[N]`` for class indices into ``EMOTIONS`` ``[N]``; a class it lacks is an error."""
    row_of = np.full(len(EMOTIONS), -1, dtype=np.int64)
    row_of[anchor.indices] = np.arange(len(anchor.classes))
    rows = row_of[np.asarray(classes, dtype=np.int64)]
    if (rows < 0).any():
        missing = sorted({EMOTIONS[c] for c in np.asarray(classes)[rows < 0]})
        raise AnnotationError(f"the anchor has no ellipse for {missing}; it covers {list(anchor.classes)}")
    return rows


def sample_ellipse(rows: np.ndarray, anchor: Anchor, rng: np.random.Generator) -> np.ndarray:
    """Algorithm 1: a point uniform inside each row's one-sigma ellipse, ``[N, 2]`` (not clipped).

    The unit-disk draw is float32 (trigonometry six times faster; rounding about 1e-7 of a semi-axis).
    """
    r = np.sqrt(rng.random(rows.size, dtype=np.float32))
    theta = rng.random(rows.size, dtype=np.float32) * np.float32(2 * np.pi)
    out = np.empty((rows.size, 2))
    out[:, 0] = anchor.mean[:, 0][rows] + r * np.cos(theta) * anchor.std[:, 0][rows]
    out[:, 1] = anchor.mean[:, 1][rows] + r * np.sin(theta) * anchor.std[:, 1][rows]
    return out


def categorical_to_va(
    classes: np.ndarray, anchor: Anchor, strategy: str = "ellipse", rng: np.random.Generator | None = None
) -> np.ndarray:
    """VA ``[N, 2]`` for class indices ``[N]`` into ``EMOTIONS``, by ``strategy`` (one of :data:`CAT_TO_VA`).

    ``ellipse``: uniform in the class's one-sigma ellipse (the paper); ``gaussian``: N(mean, std^2) clipped to
    ``[-1, 1]``; ``centroid``: the class centre; ``gmm``: a draw from a mixture component chosen with the
    class's share of it, clipped; ``kmeans``: the centre of a cluster chosen the same way.
    """
    rng = rng or np.random.default_rng(0)
    rows = anchor_rows(classes, anchor)
    if strategy == "ellipse":
        return sample_ellipse(rows, anchor, rng)
    if strategy == "gaussian":
        return np.clip(anchor.mean[rows] + rng.standard_normal((rows.size, 2)) * anchor.std[rows], -1, 1)
    if strategy == "centroid":
        return anchor.mean[rows].copy()
    if strategy in ("gmm", "kmeans"):
        return fit_clusters(anchor, strategy, rng).sample(rows, rng)
    raise AnnotationError(f"unknown categorical->VA strategy {strategy!r}; expected one of {CAT_TO_VA}")


def va_to_categorical(va: np.ndarray, anchor: Anchor, strategy: str = "nearest", seed: int = 0) -> np.ndarray:
    """Class indices into ``EMOTIONS`` ``[N]`` for VA ``[N, 2]``, by ``strategy`` (one of :data:`VA_TO_CAT`).

    ``nearest``: the class whose centre is nearest (Euclidean; the paper). ``likelihood``: the class maximising
    ``prior * N(va; mean, diag(std^2))``, i.e. the smallest per-axis-scaled (Mahalanobis) distance plus the
    log-spread and log-prior terms. ``gmm`` / ``kmeans``: the majority class of the point's cluster.
    """
    va = np.asarray(va, dtype=np.float64)
    if strategy == "nearest":
        d2 = ((va[:, None, :] - anchor.mean[None]) ** 2).sum(-1)
        return anchor.indices[np.argmin(d2, axis=1)]
    if strategy == "likelihood":
        return anchor.indices[np.argmax(log_likelihood(va, anchor), axis=1)]
    if strategy in ("gmm", "kmeans"):
        return fit_clusters(anchor, strategy, np.random.default_rng(seed)).classify(va)
    raise AnnotationError(f"unknown VA->categorical strategy {strategy!r}; expected one of {VA_TO_CAT}")


def log_likelihood(va: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Log of ``prior_k * N(va; mean_k, diag(std_k^2))`` up to a constant, ``[N, K]``."""
    z = (va[:, None, :] - anchor.mean[None]) / anchor.std[None]
    return np.log(anchor.prior)[None] - np.log(anchor.std).sum(-1)[None] - 0.5 * (z**2).sum(-1)


@dataclass(frozen=True)
class Clusters:
    """A clustering of the anchor's VA tied to its classes.

    Attributes:
        model: the fitted ``GaussianMixture`` or ``KMeans``.
        class_given_cluster: majority anchor class of each cluster, ``[C]`` index into ``EMOTIONS``.
        cluster_given_class: cumulative ``P(cluster | class)``, ``[K, C]``, rows in anchor order.
    """

    model: GaussianMixture | KMeans
    class_given_cluster: np.ndarray
    cluster_given_class: np.ndarray

    def classify(self, va: np.ndarray) -> np.ndarray:
        """Majority class of each point's cluster, ``[N]`` into ``EMOTIONS``."""
        return self.class_given_cluster[self.model.predict(va)]

    def sample(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """VA ``[N, 2]`` for anchor rows ``[N]``: a cluster drawn by ``P(cluster | class)``, then a point of it."""
        cluster = (rng.random(rows.size)[:, None] > self.cluster_given_class[rows]).sum(1)
        cluster = np.minimum(cluster, self.cluster_given_class.shape[1] - 1)
        if isinstance(self.model, KMeans):
            return self.model.cluster_centers_[cluster].copy()
        chol = np.linalg.cholesky(self.model.covariances_)[cluster]  # [N, 2, 2]
        z = rng.standard_normal((rows.size, 2))
        return np.clip(self.model.means_[cluster] + np.einsum("nij,nj->ni", chol, z), -1, 1)


def reference_points(anchor: Anchor, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The anchor's labelled VA ``[M, 2]`` and rows ``[M]``: its data if fitted from data, else ellipse draws."""
    if anchor.va is not None and anchor.va_class is not None:
        return anchor.va, anchor.va_class
    rows = rng.choice(len(anchor.classes), size=REFERENCE_POINTS, p=anchor.prior)
    return sample_ellipse(rows, anchor, rng), rows


def fit_clusters(anchor: Anchor, kind: str, rng: np.random.Generator) -> Clusters:
    """Fit ``kind`` (``gmm`` or ``kmeans``) with one cluster per anchor class on the anchor's reference VA."""
    va, rows = reference_points(anchor, rng)
    k, seed = len(anchor.classes), int(rng.integers(2**31))
    if kind == "gmm":
        model = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(va)
    else:
        model = KMeans(k, n_init=4, random_state=seed).fit(va)
    cluster = model.predict(va)
    joint = np.zeros((k, k))  # [class row, cluster]
    np.add.at(joint, (rows, cluster), 1.0)
    majority = anchor.indices[np.argmax(joint, axis=0)]
    share = (joint + 1e-12) / (joint + 1e-12).sum(1, keepdims=True)
    return Clusters(model, majority, np.cumsum(share, axis=1))


def discretize(va: np.ndarray) -> np.ndarray:
    """VA in ``[-1, 1]`` to the integer grid ``-10..10`` (times 10, rounded, clipped), int64 ``[N, 2]``."""
    return np.clip(np.rint(np.asarray(va) * 10), -10, 10).astype(np.int64)


def undiscretize(grid: np.ndarray) -> np.ndarray:
    """Integers ``-10..10`` back to VA in ``[-1, 1]``, float64 ``[N, 2]``."""
    return np.asarray(grid, dtype=np.float64) / 10
