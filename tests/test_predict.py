"""predict(cfg): VA and emotion for a folder of images; unreadable and odd images."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from levasa.data.detect import FaceDetector, upright_box_to_stored
from levasa.data.images import UPRIGHT, ImageError, crop_square, load_face, load_photo
from levasa.jobs.prediction import predict
from levasa.jobs.training import train
from tests.helpers import TINY, compose_config


@pytest.fixture(scope="module")
def levasa_ckpt(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("predict")
    cfg = compose_config([*TINY, "debug=limit", f"paths.output_dir={tmp / 'run'}", f"paths.data_dir={tmp / 'data'}"])
    return Path(train(cfg)["run"]["best_checkpoint"])


def write_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)).save(root / "a.png")
    Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(root / "sub" / "grey.jpg")
    Image.fromarray(rng.integers(0, 256, (50, 70, 4), dtype=np.uint8), "RGBA").save(root / "sub" / "alpha.png")
    (root / "notes.txt").write_text("not an image")


def run_predict(tmp_path: Path, ckpt: Path, root: Path, *overrides: str, faces: str = "cropped") -> Path:
    out = tmp_path / "pred.csv"
    cfg = compose_config([f"ckpt={ckpt}", f"input={root}", f"output={out}", f"faces={faces}", *overrides], "predict")
    return predict(cfg)


def test_every_image_gets_va_and_an_emotion(tmp_path, levasa_ckpt):
    write_folder(tmp_path / "faces")
    with run_predict(tmp_path, levasa_ckpt, tmp_path / "faces").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"] for r in rows] == ["a.png", "sub/alpha.png", "sub/grey.jpg"]
    for row in rows:
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
        assert row["emotion"] in {"Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger"}


def test_a_corrupt_image_is_an_error_naming_it_or_a_counted_skip(tmp_path, levasa_ckpt, caplog):
    write_folder(tmp_path / "faces")
    (tmp_path / "faces" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ImageError, match=r"broken.jpg: not a readable image"):
        run_predict(tmp_path, levasa_ckpt, tmp_path / "faces")
    with run_predict(tmp_path, levasa_ckpt, tmp_path / "faces", "skip_bad=true").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3
    assert "skipped 1 of 4 unreadable images" in caplog.text and "broken.jpg" in caplog.text


def test_empty_or_missing_folder_is_a_clear_error(tmp_path, levasa_ckpt):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="no images"):
        run_predict(tmp_path, levasa_ckpt, tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        run_predict(tmp_path, levasa_ckpt, tmp_path / "nowhere")


def test_load_face_crops_to_a_square_and_converts_modes(tmp_path):
    wide = np.zeros((20, 60, 3), dtype=np.uint8)
    wide[:, 20:40] = 255  # the centre square is white, the sides black
    Image.fromarray(wide).save(tmp_path / "wide.png")
    face = load_face(tmp_path / "wide.png", 8)
    assert face.shape == (8, 8, 3) and face.min() > 200
    Image.fromarray(np.full((10, 10), 40000, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert load_face(tmp_path / "deep.png", 4).shape == (4, 4, 3)


# ------------------------------------------------------------------------------------------- photos: faces found


ASTRONAUT_FACE = (150, 40, 300, 200)
"""Where the one face of scikit-image's astronaut portrait (512x512) lies: left, top, right, bottom."""


def astronaut(path: Path, orientation: int = 1) -> Path:
    """scikit-image's astronaut portrait as a PNG; stored turned, with the EXIF tag that turns it back, when
    ``orientation`` is not 1."""
    photo = Image.fromarray(skimage_data().astronaut())
    if orientation != 1:  # store the pixels so that UPRIGHT[orientation] shows the portrait upright
        inverse = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}[orientation]
        photo = photo.transpose(UPRIGHT[inverse])
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo.save(path, exif=exif)
    else:
        photo.save(path)
    return path


def skimage_data():
    return pytest.importorskip("skimage.data", reason="scikit-image (the dev extra) ships the test photos")


def rows_of(csv_path: Path) -> list[dict[str, str]]:
    with csv_path.open() as handle:
        return list(csv.DictReader(handle))


def inside(row: dict[str, str], region: tuple[int, int, int, int]) -> bool:
    cx, cy = int(row["x"]) + int(row["w"]) / 2, int(row["y"]) + int(row["h"]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def test_the_astronaut_photo_gives_exactly_one_face_in_the_right_place(tmp_path, levasa_ckpt):
    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut(photos / "astronaut.png")
    Image.fromarray(np.full((300, 400, 3), 128, dtype=np.uint8)).save(photos / "wall.png")
    out = run_predict(tmp_path, levasa_ckpt, photos, "annotate=true", faces="detect")
    rows = rows_of(out)
    faces = [r for r in rows if r["path"] == "astronaut.png"]
    assert len(faces) == 1 and faces[0]["face"] == "0" and inside(faces[0], ASTRONAUT_FACE), faces
    assert 60 <= int(faces[0]["w"]) <= 160 and faces[0]["emotion"] and -1 <= float(faces[0]["valence"]) <= 1
    (wall,) = [r for r in rows if r["path"] == "wall.png"]
    assert wall["note"] == "no face found" and wall["face"] == "" and wall["valence"] == ""
    drawn = Image.open(tmp_path / "annotated" / "astronaut.png")
    assert drawn.size == (512, 512)
    assert np.abs(np.asarray(drawn, dtype=int) - skimage_data().astronaut()).max() > 100  # a box was drawn
    single = run_predict(tmp_path, levasa_ckpt, photos / "astronaut.png", faces="detect")  # one file as input
    assert [r["path"] for r in rows_of(single)] == ["astronaut.png"]


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_a_photo_stored_turned_is_searched_upright(tmp_path, levasa_ckpt, orientation):
    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut(photos / "turned.png", orientation)
    upright, tag = load_photo(photos / "turned.png")
    assert tag == orientation and np.array_equal(upright, skimage_data().astronaut())
    (row,) = rows_of(run_predict(tmp_path, levasa_ckpt, photos, faces="detect"))
    assert inside(row, ASTRONAUT_FACE), row


def lfw_prepared() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """scikit-image's LFW subset (25x25 tight crops): 100 faces, 100 non-faces, enlarged 4x and edge-padded."""
    crops = skimage_data().lfw_subset()
    big = [np.round(np.pad(np.kron(c, np.ones((4, 4))), 40, mode="edge") * 255).astype(np.uint8) for c in crops]
    return big[:100], big[100:]


def test_the_detector_finds_the_lfw_faces_and_not_the_non_faces():
    """Measured (benchmarks/bench_face_detectors.py): 98 of 100 faces, none of the 100 non-faces."""
    faces, others = lfw_prepared()
    detector = FaceDetector()
    hits = sum(
        any(40 <= x + w / 2 <= 140 and 40 <= y + h / 2 <= 140 for x, y, w, h in detector.detect(f)) for f in faces
    )
    false = sum(len(detector.detect(f)) > 0 for f in others)
    assert hits >= 95 and false <= 2, (hits, false)


def test_a_box_on_the_upright_photo_maps_to_the_stored_pixels_for_every_orientation():
    stored = np.zeros((30, 50), dtype=np.uint8)
    stored[4:10, 31:45] = 255  # a 14x6 block at x 31, y 4 of the stored pixels
    for orientation in range(1, 9):
        turn = UPRIGHT.get(orientation)
        upright = np.asarray(Image.fromarray(stored).transpose(turn)) if turn is not None else stored
        ys, xs = np.nonzero(upright)
        box = np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()])
        assert upright_box_to_stored(box, orientation, 50, 30).tolist() == [31, 4, 14, 6], orientation


def test_crop_square_cuts_as_load_face_does(tmp_path):
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "p.png")
    box = (10.0, 5.0, 30.0, 20.0)
    assert np.array_equal(crop_square(photo, box, 16, 1.2), load_face(tmp_path / "p.png", 16, box, 1.2))


def test_bad_detector_settings_are_clear_errors(tmp_path, levasa_ckpt):
    with pytest.raises(ValueError, match=r"unknown face cascade 'eyes\.xml'"):
        FaceDetector(cascade="eyes.xml")
    with pytest.raises(ValueError, match="min_face is a share"):
        FaceDetector(min_face=2.0)
    write_folder(tmp_path / "faces")
    with pytest.raises(ValueError, match=r"faces must be 'detect'.*found 'all'"):
        run_predict(tmp_path, levasa_ckpt, tmp_path / "faces", faces="all")
