"""``predict(cfg)``: valence, arousal and an emotion class for every face found in photos (or every ready-cropped
face of a folder), as CSV."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image, ImageDraw
from tqdm.auto import tqdm

from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.strategies import va_to_categorical
from levasa.data.cache import CropSettings, decode_faces
from levasa.data.detect import FaceDetector
from levasa.data.images import ImageError, crop_square, list_images, load_photo
from levasa.io import write_atomic, write_csv_atomic
from levasa.models.checkpoint import module_from_checkpoint, read_checkpoint, stored_config
from levasa.vocabulary import EMOTIONS

log = logging.getLogger(__name__)


def read_faces(files: list[Path], size: int, skip_bad: bool) -> tuple[list[Path], np.ndarray]:
    """The readable files and their faces uint8 ``[N, size, size, 3]``; unreadable ones raise or are skipped."""
    faces, valid = decode_faces(files, CropSettings(size), skip_invalid=skip_bad, desc="reading images")
    if not valid.any():
        raise ImageError("no readable image to predict on")
    return [f for f, ok in zip(files, valid, strict=True) if ok], faces[valid]


def predict(cfg: DictConfig) -> Path:
    """Write valence, arousal and emotion for ``cfg.input`` (a folder, any depth, or one image) to a CSV.

    ``faces=detect`` (the default): faces are found in each photo (:class:`~levasa.data.detect.FaceDetector`) and
    cropped the way training crops (``box_scale``), one row per face, and one row saying so for a photo without a
    face; ``faces=cropped``: each image is one ready-cropped face, one row per image. Returns the CSV's path."""
    if cfg.faces not in ("detect", "cropped"):
        raise ValueError(f"faces must be 'detect' (find the faces in photos) or 'cropped', found {cfg.faces!r}")
    checkpoint = read_checkpoint(cfg.ckpt)
    module = module_from_checkpoint(checkpoint, list(cfg.get("trusted_targets") or []))
    if not module.has_readout:
        raise ValueError(f"{cfg.ckpt} is a Vanilla VAE: it has no VA readout to predict with")
    data = stored_config(checkpoint)["data"]
    size = int(data["image_size"])
    root = Path(cfg.input)
    files = [root] if root.is_file() else list_images(root)
    base = root.parent if root.is_file() else root
    output = Path(cfg.output) if cfg.output else Path(cfg.paths.output_dir) / "predictions.csv"
    if cfg.faces == "cropped":
        files, faces = read_faces(files, size, cfg.skip_bad)
        va, classes = read_va(module, faces, cfg)
        rows = [
            {"path": f.relative_to(base).as_posix(), "valence": round(float(v), 4), "arousal": round(float(a), 4),
             "emotion": EMOTIONS[c]}
            for f, (v, a), c in zip(files, va, classes, strict=True)
        ]  # fmt: skip
        write_csv_atomic(output, rows)
        print(f"Predictions for {len(rows)} images: {output}")
        return output
    box_scale = float(cfg.box_scale if cfg.box_scale is not None else data.get("box_scale", 1.0))
    detector = FaceDetector(**cfg.detector)
    found = detect_faces(files, detector, size, box_scale, cfg.skip_bad, keep=bool(cfg.annotate))
    crops = [face for _, faces in found for face in faces.crops]
    va, classes = read_va(module, np.stack(crops), cfg) if crops else (np.zeros((0, 2)), np.zeros(0, dtype=int))
    rows, k = [], 0
    for path, faces in found:
        name = path.relative_to(base).as_posix()
        if not len(faces.boxes):
            rows.append({"path": name, "face": "", "x": "", "y": "", "w": "", "h": "", "valence": "",
                         "arousal": "", "emotion": "", "note": "no face found"})  # fmt: skip
        for i, box in enumerate(faces.boxes):
            (v, a), c = va[k], classes[k]
            k += 1
            rows.append({"path": name, "face": i, **{n: round(float(b)) for n, b in zip("xywh", box, strict=True)},
                         "valence": round(float(v), 4), "arousal": round(float(a), 4), "emotion": EMOTIONS[c],
                         "note": ""})  # fmt: skip
    write_csv_atomic(output, rows)
    if cfg.annotate:
        annotate(found, rows, base, output.parent / "annotated")
    n_faces = sum(len(f.boxes) for _, f in found)
    empty = sum(not len(f.boxes) for _, f in found)
    print(f"Predictions for {n_faces} faces in {len(found)} photos ({empty} without a face): {output}")
    return output


def read_va(module: Any, faces: np.ndarray, cfg: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """The readout's VA (clipped to [-1, 1]) and the emotion class read from it, for uint8 faces ``[N, S, S, 3]``."""
    images = torch.from_numpy(faces).permute(0, 3, 1, 2).float().div(255.0)
    with torch.no_grad():
        va = torch.cat([module.readout(module.encode(b)) for b in images.split(cfg.batch_size)]).numpy()
    va = np.clip(va, -1.0, 1.0)
    return va, va_to_categorical(va, resolve_anchor(cfg.anchor), cfg.label_strategy)


@dataclass
class PhotoFaces:
    """The faces found in one photo: ``boxes`` ``[K, 4]`` (x, y, w, h on the upright photo), ``crops`` the faces
    as the model reads them, and the upright ``photo`` when it is to be drawn on."""

    boxes: np.ndarray
    crops: list[np.ndarray]
    photo: np.ndarray | None = None


def detect_faces(
    files: list[Path], detector: FaceDetector, size: int, box_scale: float, skip_bad: bool, keep: bool = True
) -> list[tuple[Path, PhotoFaces]]:
    """Each readable photo with its faces; an unreadable one raises :class:`ImageError` naming it, or is skipped
    and counted with ``skip_bad``."""
    found, skipped = [], []
    for path in tqdm(files, desc="finding faces", unit="photo", leave=False, mininterval=1.0):
        try:
            photo, _ = load_photo(path)
        except ImageError:
            if not skip_bad:
                raise
            skipped.append(path)
            continue
        boxes = detector.detect(photo)
        crops = [crop_square(photo, box, size, box_scale) for box in boxes]
        found.append((path, PhotoFaces(boxes, crops, photo if keep else None)))
    if skipped:
        log.warning("skipped %d of %d unreadable images (first: %s)", len(skipped), len(files),
                    ", ".join(map(str, skipped[:3])))  # fmt: skip
    if not found:
        raise ImageError("no readable image to predict on")
    return found


def annotate(found: list[tuple[Path, PhotoFaces]], rows: list[dict[str, Any]], base: Path, folder: Path) -> None:
    """A PNG copy of each photo with its face boxes and what was predicted for them, under ``folder``."""
    by_photo: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_photo.setdefault(row["path"], []).append(row)
    for path, faces in found:
        name = path.relative_to(base).as_posix()
        image = Image.fromarray(faces.photo)
        draw = ImageDraw.Draw(image)
        width = max(2, round(min(image.size) / 200))
        for row in by_photo[name]:
            if row["face"] == "":
                draw.text((4, 4), "no face found", fill=(255, 64, 64))
                continue
            x, y, w, h = row["x"], row["y"], row["w"], row["h"]
            draw.rectangle((x, y, x + w, y + h), outline=(255, 220, 0), width=width)
            label = f"{row['face']}: {row['emotion']} V {row['valence']:+.2f} A {row['arousal']:+.2f}"
            draw.text((x, max(0, y - 12)), label, fill=(255, 220, 0))
        target = (folder / name).with_suffix(".png")
        write_atomic(target, lambda f, image=image: image.save(f, format="PNG"), binary=True)
    print(f"Annotated photos: {folder}")
