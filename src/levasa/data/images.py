"""Reading face images from disk into the sample contract's pixel format.

An image is refused before it is decoded when its header declares more than ``max_pixels`` pixels (a
decompression bomb: a small file that decodes to gigabytes). Its EXIF orientation is respected: the face
comes out the way a photo viewer shows it. Crop boxes are in the stored pixel grid (the pixels as they are in
the file, before any EXIF turn); the crop is turned upright afterwards.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from levasa.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")  # TIFF: JAFFE
DEFAULT_MAX_PIXELS = 50_000_000
"""Images declaring more pixels are refused (``data.max_pixels``): 50 megapixels holds every camera and phone
photo up to 8000x6000, and is below Pillow's own warning threshold (89.5 megapixels, which only warns)."""

ORIENTATION_TAG = 0x0112
"""The EXIF tag of the orientation; values 1-8 as in the EXIF standard."""
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""The turn that shows stored pixels upright, by EXIF orientation (Pillow's ``ImageOps.exif_transpose`` table);
1 (and anything outside 1-8) is upright as stored."""
_EXIF_ERRORS = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error)
"""What reading a malformed EXIF block may raise; the image is then read as stored."""


class ImageError(InputError):
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


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB. Pillow's own conversion clips 16-bit and 32-bit grey at 255 (a white face);
    their values are scaled to 8 bits instead (by the type's range, or by the maximum for float images)."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
            values = values / 257.0
        elif image.mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        grey = Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8))
        return grey.convert("RGB")
    return image.convert("RGB")


def square_box(box: Sequence[float] | None, width: int, height: int, scale: float = 1.0) -> tuple[float, ...]:
    """The square crop ``(left, top, right, bottom)``: ``box`` ``(x, y, w, h)`` made square around its centre
    (side ``max(w, h) * scale``), or the centred square of the whole image when ``box`` is None or NaN."""
    if box is None or not np.all(np.isfinite(box)):
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return (left, top, left + side, top + side)
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"a crop box needs a positive width and height, found {w}x{h}")
    side = max(w, h) * scale
    cx, cy = x + w / 2, y + h / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def orientation(image: Image.Image) -> int:
    """The EXIF orientation of ``image`` (1-8), 1 when it has none or its EXIF block cannot be read."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except _EXIF_ERRORS:
        return 1
    return value if isinstance(value, int) and value in UPRIGHT else 1


def check_pixels(path: str | Path, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`ImageError` naming ``path`` and its size when ``width * height`` is over ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"{path}: {width}x{height} pixels ({width * height / 1e6:.3g} megapixels) is over the limit of "
            f"{max_pixels} (data.max_pixels={max_pixels}; raise it, or set it to null, to read such images)"
        )


def face_from_pixels(
    pixels: np.ndarray, size: int, box: Sequence[float] | None = None, box_scale: float = 1.0
) -> np.ndarray:
    """A face held in memory (uint8 ``[H, W]`` grey or ``[H, W, 3]`` RGB, as FER2013 stores them) as uint8
    ``[size, size, 3]``, made as :func:`load_face` makes it from a file of the same pixels: grey repeated into
    three channels (:func:`to_rgb`), the square of :func:`square_box` cut out and resized with antialiasing."""
    rgb = to_rgb(Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)))
    crop = tuple(round(v) for v in square_box(box, rgb.width, rgb.height, box_scale))
    if crop[2] - crop[0] < 1 or crop[3] - crop[1] < 1:
        raise ImageError(f"the crop box {box} of a face in memory is smaller than a pixel")
    return np.array(rgb.crop(crop).resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def load_face(
    path: str | Path,
    size: int,
    box: Sequence[float] | None = None,
    box_scale: float = 1.0,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """A face as uint8 ``[size, size, 3]``, converted to RGB (grey, palette, alpha and 16-bit images included).

    The crop is :func:`square_box` of ``box`` (pixels of the stored image, before its EXIF orientation; regions
    outside the image are black), resized with antialiasing, then turned the way the EXIF orientation says (a
    phone photo stored sideways comes out upright). JPEGs are decoded at the smallest DCT scale (1/2, 1/4,
    1/8) that still gives the crop at least ``size`` pixels, which is much faster on large files and loses
    nothing at ``size``. An image declaring more than ``max_pixels`` pixels (None: no limit but Pillow's own,
    an error above twice its ``MAX_IMAGE_PIXELS``) is refused from its header, before anything is decoded.
    Raises :class:`ImageError` naming the file when it cannot be read.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width == 0 or height == 0:
                raise ImageError(f"{path}: the image is empty ({width}x{height})")
            check_pixels(path, width, height, max_pixels)
            left, top, right, bottom = square_box(box, width, height, box_scale)
            side = right - left
            if image.format == "JPEG" and side > 2 * size:
                image.draft("RGB", (math.ceil(width * size / side), math.ceil(height * size / side)))
            factor = image.size[0] / width
            image.load()
            turn = UPRIGHT.get(orientation(image))  # after load: a PNG may keep its EXIF after the pixels
            rgb = to_rgb(image)
    except Image.DecompressionBombError as err:
        raise ImageError(f"{path}: over Pillow's decompression-bomb limit ({err})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(f"{path}: not a readable image ({err})") from None
    crop = tuple(round(v * factor) for v in (left, top, right, bottom))
    if crop[2] - crop[0] < 1 or crop[3] - crop[1] < 1:
        raise ImageError(f"{path}: the crop box {box} is smaller than a pixel")
    face = rgb.crop(crop).resize((size, size), Image.Resampling.LANCZOS)
    if turn is not None:
        face = face.transpose(turn)
    return np.array(face, dtype=np.uint8)


def load_photo(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """A whole photo as uint8 RGB ``[H, W, 3]``, turned upright by its EXIF orientation, and that orientation (1-8),
    with :func:`load_face`'s checks (pixel limit before decoding, errors naming the file)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width == 0 or height == 0:
                raise ImageError(f"{path}: the image is empty ({width}x{height})")
            check_pixels(path, width, height, max_pixels)
            image.load()
            turned = orientation(image)
            rgb = to_rgb(image)
    except Image.DecompressionBombError as err:
        raise ImageError(f"{path}: over Pillow's decompression-bomb limit ({err})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageError(f"{path}: not a readable image ({err})") from None
    if turned in UPRIGHT:
        rgb = rgb.transpose(UPRIGHT[turned])
    return np.array(rgb, dtype=np.uint8), turned


def crop_square(rgb: np.ndarray, box: Sequence[float], size: int, box_scale: float = 1.0) -> np.ndarray:
    """The face of ``box`` ``(x, y, w, h)`` cut from an RGB array the way :func:`load_face` cuts a file (the square
    of :func:`square_box`, black outside the image, resized with antialiasing to ``size``)."""
    height, width = rgb.shape[:2]
    crop = tuple(round(v) for v in square_box(box, width, height, box_scale))
    face = Image.fromarray(rgb).crop(crop).resize((size, size), Image.Resampling.LANCZOS)
    return np.array(face, dtype=np.uint8)
