"""Reading one image file (issue 16): EXIF orientation respected, a pixel limit checked before decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

import levasa.data.images as images_module
from levasa.data.cache import CropSettings, decode_faces
from levasa.data.images import ImageError, load_face

ORIENTATION = 0x0112


def halves(width: int = 40, height: int = 20) -> np.ndarray:
    """Stored pixels: the left half red, the right half blue, green growing from top to bottom."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2, 0] = 255
    pixels[:, width // 2 :, 2] = 255
    pixels[..., 1] = np.linspace(0, 255, height).astype(np.uint8)[:, None]
    return pixels


def save_oriented(path: Path, pixels: np.ndarray, orientation: int) -> Path:
    """``pixels`` saved as they are, with an EXIF orientation tag asking viewers to turn them."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    options = {"quality": 95} if path.suffix == ".jpg" else {}
    Image.fromarray(pixels).save(path, exif=exif, **options)
    return path


def upright_centre(path: Path, size: int) -> np.ndarray:
    """What a viewer shows (Pillow's ``exif_transpose``), its centred square resized: the expected face."""
    with Image.open(path) as image:
        shown = ImageOps.exif_transpose(image).convert("RGB")
    side = min(shown.size)
    left, top = (shown.width - side) // 2, (shown.height - side) // 2
    square = shown.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=int)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_respected(tmp_path: Path, suffix: str, orientation: int) -> None:
    path = save_oriented(tmp_path / f"photo{suffix}", halves(), orientation)
    face = load_face(path, 16).astype(int)
    expected = upright_centre(path, 16)
    assert np.abs(face - expected).mean() < 3.0
    stored = load_face(save_oriented(tmp_path / f"plain{suffix}", halves(), 1), 16).astype(int)
    assert np.abs(face - stored).mean() > 30  # turned, not read as stored


def test_a_phone_photo_tagged_rotate_90_is_read_upright(tmp_path: Path) -> None:
    """Orientation 6: stored sideways, the left of the stored pixels is the top of the photo."""
    face = load_face(save_oriented(tmp_path / "phone.jpg", halves(), 6), 8).astype(int)
    top, bottom = face[:3].mean(axis=(0, 1)), face[-3:].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60  # blue below


def test_a_face_box_is_in_stored_pixels_and_its_crop_is_turned_upright(tmp_path: Path) -> None:
    pixels = np.full((60, 80, 3), 30, dtype=np.uint8)
    pixels[10:30, 40:60] = (255, 0, 0)  # the "face" at stored x=40, y=10, 20x20
    pixels[10:14, 40:44] = (0, 255, 0)  # its stored top-left corner
    path = save_oriented(tmp_path / "boxed.png", pixels, 8)  # shown turned 90 degrees counter-clockwise
    face = load_face(path, 20, box=(40, 10, 20, 20))
    crop = np.asarray(Image.fromarray(pixels[10:30, 40:60]).transpose(Image.Transpose.ROTATE_90))
    np.testing.assert_allclose(face.astype(int), crop.astype(int), atol=2)
    assert face[-2:, :2, 1].min() > 200  # the stored top-left corner is shown bottom-left


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_an_orientation_outside_1_to_8_reads_the_stored_pixels(tmp_path: Path, orientation: int) -> None:
    face = load_face(save_oriented(tmp_path / "odd.png", halves(), orientation), 16)
    stored = load_face(save_oriented(tmp_path / "plain.png", halves(), 1), 16)
    np.testing.assert_array_equal(face, stored)


def test_an_image_over_the_pixel_limit_is_an_error_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wide.png"
    Image.new("RGB", (400, 300), (10, 20, 30)).save(path)
    decoded = []
    real_load = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        decoded.append(self.filename)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    with pytest.raises(ImageError, match=r"wide\.png: 400x300 pixels \(0\.12 megapixels\) is over the limit"):
        load_face(path, 16, max_pixels=100_000)
    assert decoded == []  # refused from the header alone
    assert load_face(path, 16, max_pixels=120_000).shape == (16, 16, 3)
    assert load_face(path, 16, max_pixels=None).shape == (16, 16, 3)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, from the header, first
def test_the_default_pixel_limit_refuses_a_decompression_bomb(tmp_path: Path) -> None:
    """A 9500x9500 PNG is tiny on disk (one colour) and 270 MB decoded: refused by default, as an error."""
    path = tmp_path / "bomb.png"
    Image.new("1", (9500, 9500)).save(path)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(ImageError, match=r"bomb\.png: 9500x9500 pixels \(90\.2 megapixels\)"):
        load_face(path, 16)
    assert images_module.DEFAULT_MAX_PIXELS < 9500 * 9500
    _, valid = decode_faces([path], CropSettings(16), skip_invalid=True)
    assert valid.tolist() == [False]
    with pytest.raises(ValueError, match="max_pixels"):
        CropSettings(16, max_pixels=0)


@pytest.mark.filterwarnings("ignore:.*EXIF:UserWarning", "ignore:Tag data larger:UserWarning")
def test_a_malformed_exif_block_reads_the_stored_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain.jpg"
    Image.fromarray(halves()).save(plain, quality=95)
    data = plain.read_bytes()
    garbage = b"Exif\x00\x00II*\x00" + b"\xff" * 30  # a TIFF header, then nothing readable
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(data[:2] + b"\xff\xe1" + (len(garbage) + 2).to_bytes(2, "big") + garbage + data[2:])
    np.testing.assert_array_equal(load_face(broken, 16), load_face(plain, 16))

    def unreadable(self: Image.Image) -> Image.Exif:
        raise SyntaxError("not a TIFF file")

    monkeypatch.setattr(Image.Image, "getexif", unreadable)
    stored = load_face(save_oriented(tmp_path / "plain.png", halves(), 1), 16)
    np.testing.assert_array_equal(load_face(save_oriented(tmp_path / "odd.png", halves(), 6), 16), stored)


def test_without_a_limit_pillows_own_bomb_limit_is_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses above twice this
    with pytest.raises(ImageError, match=r"big\.png: over Pillow's decompression-bomb limit"):
        load_face(path, 16, max_pixels=None)
