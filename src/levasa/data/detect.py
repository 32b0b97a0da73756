"""Finding faces in photos: OpenCV's Haar cascade (the model ships inside ``opencv-python-headless``; nothing is
downloaded), and the geometry that ties a box found on the upright photo to the stored pixel grid.

Why this detector (``python benchmarks/bench_face_detectors.py``; figures and install sizes in data/README.md): on
scikit-image's 100 Labeled-Faces-in-the-Wild faces and 100 non-faces it found 98 faces and marked no non-face,
against 97 and none for scikit-image's LBP cascade, and it found exactly the one face of scikit-image's astronaut
portrait, where the LBP cascade also marked three patches of the suit and background; it took half the LBP
cascade's time an image. A CNN detector would be more robust to pose and light, but none on the package index
ships its weights with a torch range this project can use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

CASCADES = (
    "haarcascade_frontalface_alt2.xml",
    "haarcascade_frontalface_default.xml",
    "haarcascade_frontalface_alt.xml",
)
"""The frontal-face cascades of OpenCV's wheel that :class:`FaceDetector` accepts (alt2 first: the most accurate
in the comparison)."""


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as err:  # a broken or missing install: say what to install
        raise ImportError(
            f"face detection needs OpenCV ({err}); install it with pip install 'opencv-python-headless>=4.8,<5' "
            "(4.x: OpenCV 5's wheels no longer carry the Haar cascades)"
        ) from None
    return cv2


@dataclass(frozen=True)
class FaceDetector:
    """Frontal faces in an RGB photo, as boxes ``(x, y, w, h)`` in its pixels.

    Attributes:
        cascade: one of :data:`CASCADES`.
        scale_factor: the step between the scales searched (1.1: 10%).
        min_neighbors: overlapping hits a face needs (higher: fewer false positives, fewer faces).
        min_face: the smallest face searched, as a share of the photo's shorter side.
        work_side: photos whose shorter side is below this are enlarged to it before the search (the cascade
            looks for faces of at least 20 pixels); boxes are given in the photo's own pixels.
    """

    cascade: str = CASCADES[0]
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: float = 0.05
    work_side: int = 256

    def __post_init__(self) -> None:
        if self.cascade not in CASCADES:
            raise ValueError(f"unknown face cascade {self.cascade!r}: choose one of {', '.join(CASCADES)}")
        if not self.scale_factor > 1.0:
            raise ValueError(f"scale_factor must be above 1, found {self.scale_factor}")
        if self.min_neighbors < 0:
            raise ValueError(f"min_neighbors must be 0 or more, found {self.min_neighbors}")
        if not 0.0 < self.min_face < 1.0:
            raise ValueError(f"min_face is a share of the photo's shorter side in (0, 1), found {self.min_face}")

    @cached_property
    def _classifier(self) -> Any:
        cv2 = _cv2()
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + self.cascade)
        if classifier.empty():
            raise RuntimeError(f"OpenCV could not load its cascade {self.cascade} from {cv2.data.haarcascades}")
        return classifier

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Boxes ``float [K, 4]`` (x, y, w, h) of the faces in ``rgb`` (uint8 ``[H, W, 3]`` or ``[H, W]``),
        largest first."""
        cv2 = _cv2()
        grey = rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        factor = max(1.0, self.work_side / min(grey.shape[:2]))
        if factor > 1.0:
            size = (round(grey.shape[1] * factor), round(grey.shape[0] * factor))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
        grey = cv2.equalizeHist(grey)
        smallest = max(20, round(self.min_face * min(grey.shape[:2])))
        found = self._classifier.detectMultiScale(
            grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(smallest, smallest)
        )
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4) / factor
        return boxes[np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")]


def upright_box_to_stored(box: np.ndarray, orientation: int, width: int, height: int) -> np.ndarray:
    """A box ``(x, y, w, h)`` found on the upright view of a photo, in the stored pixel grid of that photo
    (``width`` x ``height`` as stored, EXIF ``orientation`` 1-8): what the crop boxes of the readers and the cache
    are given in. Orientation 1 (or an unknown one) returns the box as it is."""
    x, y, w, h = (float(v) for v in box)
    corners = np.array([[x, y], [x + w, y + h]])
    u, v = corners[:, 0], corners[:, 1]
    stored = {
        2: (width - u, v),
        3: (width - u, height - v),
        4: (u, height - v),
        5: (v, u),
        6: (v, height - u),
        7: (width - v, height - u),
        8: (width - v, u),
    }.get(orientation, (u, v))
    xs, ys = stored
    return np.array([xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()])
