"""predict(cfg): VA and emotion for a folder of images; unreadable and odd images."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from levasa.data.images import ImageError, load_face
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


def run_predict(tmp_path: Path, ckpt: Path, root: Path, *overrides: str) -> Path:
    out = tmp_path / "pred.csv"
    cfg = compose_config([f"ckpt={ckpt}", f"input={root}", f"output={out}", *overrides], "predict")
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
