"""``predict(cfg)``: valence, arousal and an emotion class for every image of a folder, as CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from levasa.annotation.anchors import resolve_anchor
from levasa.annotation.strategies import va_to_categorical
from levasa.data.cache import CropSettings, decode_faces
from levasa.data.images import ImageError, list_images
from levasa.io import write_csv_atomic
from levasa.models.checkpoint import module_from_checkpoint, read_checkpoint, stored_config
from levasa.vocabulary import EMOTIONS


def read_faces(files: list[Path], size: int, skip_bad: bool) -> tuple[list[Path], np.ndarray]:
    """The readable files and their faces uint8 ``[N, size, size, 3]``; unreadable ones raise or are skipped."""
    faces, valid = decode_faces(files, CropSettings(size), skip_invalid=skip_bad, desc="reading images")
    if not valid.any():
        raise ImageError("no readable image to predict on")
    return [f for f, ok in zip(files, valid, strict=True) if ok], faces[valid]


def predict(cfg: DictConfig) -> Path:
    """Write valence, arousal and emotion of every image under ``cfg.input`` to a CSV; returns its path."""
    checkpoint = read_checkpoint(cfg.ckpt)
    module = module_from_checkpoint(checkpoint, list(cfg.get("trusted_targets") or []))
    if not module.has_readout:
        raise ValueError(f"{cfg.ckpt} is a Vanilla VAE: it has no VA readout to predict with")
    size = int(stored_config(checkpoint)["data"]["image_size"])
    root = Path(cfg.input)
    files, faces = read_faces(list_images(root), size, cfg.skip_bad)
    images = torch.from_numpy(faces).permute(0, 3, 1, 2).float().div(255.0)
    with torch.no_grad():
        va = torch.cat([module.readout(module.encode(b)) for b in images.split(cfg.batch_size)]).numpy()
    va = np.clip(va, -1.0, 1.0)
    classes = va_to_categorical(va, resolve_anchor(cfg.anchor), cfg.label_strategy)
    rows = [
        {"path": f.relative_to(root).as_posix(), "valence": round(float(v), 4), "arousal": round(float(a), 4),
         "emotion": EMOTIONS[c]}
        for f, (v, a), c in zip(files, va, classes, strict=True)
    ]  # fmt: skip
    output = Path(cfg.output) if cfg.output else Path(cfg.paths.output_dir) / "predictions.csv"
    write_csv_atomic(output, rows)
    print(f"Predictions for {len(rows)} images: {output}")
    return output
