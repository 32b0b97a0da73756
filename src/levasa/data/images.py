"""Reading face images from disk into the sample contract's pixel format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class ImageError(ValueError):
    """An image file that cannot be used; the message names the file."""


def list_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (any depth), sorted; raises when ``root`` is missing or holds none."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) at any depth")
    return files


def load_face(path: str | Path, size: int) -> np.ndarray:
    """An image as uint8 ``[size, size, 3]``: converted to RGB (grey, palette, alpha, 16-bit), centre-cropped
    to a square, resized with antialiasing. Raises :class:`ImageError` naming the file when it cannot be read."""
    try:
        with Image.open(path) as image:
            image.load()
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(f"{path}: not a readable image ({err})") from None
    side = min(rgb.size)
    if side == 0:
        raise ImageError(f"{path}: the image is empty ({rgb.size[0]}x{rgb.size[1]})")
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)
