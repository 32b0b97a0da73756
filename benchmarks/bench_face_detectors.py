"""Face detectors whose models ship inside a registry package, compared on real photos that ship inside one too.

    python benchmarks/bench_face_detectors.py

scikit-image's ``lfw_subset``: 100 Labeled-Faces-in-the-Wild faces and 100 non-faces, 25x25 grey tight crops,
enlarged 4x and padded with their edge pixels to 180x180 (a detector needs some context around a face). A face
counts as found when a box's centre falls on the face's 100x100 region; a non-face counts as a false positive
when any box is found on it. The astronaut portrait (512x512) has one face, near (225, 115). Times are per image
on one thread, the median of the whole pass, side by side in one run (compare only within a run).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import cpu_flags, machine

from levasa.data.detect import FaceDetector

PAD, UP = 40, 4


def prepared(crops: np.ndarray) -> list[np.ndarray]:
    """Each 25x25 float crop enlarged ``UP`` times and padded by ``PAD`` edge pixels, as uint8."""
    out = []
    for crop in crops:
        big = np.kron(crop, np.ones((UP, UP)))  # nearest enlargement: no smoothing that would favour a detector
        out.append(np.round(np.pad(big, PAD, mode="edge") * 255).astype(np.uint8))
    return out


def skimage_lbp() -> callable:
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    cascade = Cascade(lbp_frontal_face_cascade_filename())

    def detect(grey: np.ndarray) -> np.ndarray:
        side = min(grey.shape)
        found = cascade.detect_multi_scale(
            img=grey, scale_factor=1.1, step_ratio=1, min_size=(20, 20), max_size=(side, side)
        )
        return np.array([[f["c"], f["r"], f["width"], f["height"]] for f in found], dtype=float).reshape(-1, 4)

    return detect


def score(detect, faces: list[np.ndarray], others: list[np.ndarray], astronaut: np.ndarray) -> dict[str, object]:
    lo, hi = PAD, PAD + 25 * UP
    times, hits, false = [], 0, 0
    for i, image in enumerate(faces + others):
        start = time.perf_counter()
        boxes = detect(image)
        times.append(time.perf_counter() - start)
        if i < len(faces):
            centres = boxes[:, :2] + boxes[:, 2:] / 2
            hits += bool(((centres >= lo) & (centres <= hi)).all(axis=1).any())
        else:
            false += len(boxes) > 0
    boxes = detect(astronaut)
    return {
        "faces found": f"{hits}/{len(faces)}",
        "non-faces with a box": f"{false}/{len(others)}",
        "astronaut boxes": [tuple(int(v) for v in b) for b in boxes],
        "ms per image": round(1000 * float(np.median(times)), 2),
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    import cv2
    import torch
    from skimage import data

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    crops = data.lfw_subset()
    faces, others = prepared(crops[:100]), prepared(crops[100:])
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    print(f"machine: {machine()}\nCPU flags: {cpu_flags()}\nOpenCV {cv2.__version__}")
    detectors = {
        "opencv haar alt2 (levasa's default)": FaceDetector().detect,
        "opencv haar default": FaceDetector(cascade="haarcascade_frontalface_default.xml").detect,
        "scikit-image lbp": skimage_lbp(),
    }
    for name, detect in detectors.items():
        print(f"{name}: {score(detect, faces, others, astronaut)}")


if __name__ == "__main__":
    main()
