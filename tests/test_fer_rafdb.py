"""FER2013 (with FER+ relabels) and RAF-DB basic in their official formats: the code tables against the formats'
documented orders, FER+'s vote rule, the pixels held in memory through the cache, bad input named by file and
line, and a trained run evaluated on each (their ``fast_dev_run`` is in test_realdata's layouts)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from matplotlib.figure import Figure
from PIL import Image

from levasa.data.images import face_from_pixels, load_face
from levasa.data.readers import ReaderError, read_fer2013, read_rafdb
from levasa.data.readers.fer2013 import ferplus_majority
from levasa.evaluation import figures
from levasa.jobs.evaluation import evaluate
from levasa.jobs.runconfig import split_evaluate_overrides
from levasa.jobs.training import train
from levasa.vocabulary import EMOTIONS
from tests.formats import (
    FERPLUS_HEADER,
    RAF_LABELS,
    edit_lines,
    make_fer2013,
    make_rafdb,
    set_field,
    write_fer2013,
)
from tests.helpers import compose_config
from tests.test_realdata import config

# The formats' documented code orders, written out here apart from the readers' tables.
FER2013_ORDER = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
"""fer2013.csv's ``emotion`` 0-6 (Goodfellow et al. 2013, 'Challenges in representation learning'; the Kaggle
challenge's data page)."""
FERPLUS_ORDER = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
"""fer2013new.csv's vote columns after ``Usage,Image name`` (Barsoum et al. 2016; Microsoft's FERPlus README)."""
RAF_ORDER = {1: "Surprise", 2: "Fear", 3: "Disgust", 4: "Happiness", 5: "Sadness", 6: "Anger", 7: "Neutral"}
"""list_patition_label.txt's codes (Li et al. 2017; the RAF-DB readme)."""
CANONICAL = {
    "angry": "Anger",
    "anger": "Anger",
    "disgust": "Disgust",
    "fear": "Fear",
    "happy": "Happy",
    "happiness": "Happy",
    "sad": "Sad",
    "sadness": "Sad",
    "surprise": "Surprise",
    "neutral": "Neutral",
    "contempt": "Contempt",
}
"""The formats' emotion words -> levasa's class names."""


def canonical(word: str) -> int:
    return EMOTIONS.index(CANONICAL[word.lower()])


def row_of(key: str) -> int:
    """The 0-based data row of fer2013.csv a FER2013 key names (``fer2013_00012`` -> 12)."""
    return int(key.rsplit("_", 1)[1])


# --------------------------------------------------------------------------------------------- code tables


def test_fer2013_codes_follow_the_documented_order(tmp_path):
    rows = [(code, "Training") for code in range(7)] + [(3, "PublicTest"), (6, "PrivateTest")]
    records = read_fer2013(write_fer2013(tmp_path, rows))
    assert len(records) == 9 and records.pixels.shape == (9, 48, 48)
    for key, emotion in zip(records.keys, records.emotion, strict=True):
        assert emotion == canonical(FER2013_ORDER[rows[row_of(key)][0]]), key


def test_ferplus_columns_follow_the_documented_order(tmp_path):
    assert FERPLUS_HEADER.split(",") == ["Usage", "Image name", *FERPLUS_ORDER]
    rows = [(0, "Training")] * 8 + [(0, "PublicTest"), (0, "PrivateTest")]
    votes = []
    for column in [*range(8), 1, 2]:  # each emotion column the majority once
        row = [0] * 10
        row[column], row[(column + 1) % 8] = 6, 4
        votes.append(tuple(row))
    records = read_fer2013(write_fer2013(tmp_path, rows, votes), labels="ferplus", classes=8)
    assert len(records) == 10
    for key, emotion in zip(records.keys, records.emotion, strict=True):
        majority = int(np.argmax(votes[row_of(key)]))
        assert emotion == canonical(FERPLUS_ORDER[majority]), key


def test_rafdb_codes_follow_the_documented_order(tmp_path):
    root = make_rafdb(tmp_path, n_train=7, n_test=2)
    lines = dict(line.split() for line in (root / RAF_LABELS).read_text().splitlines())
    assert {int(code) for code in lines.values()} == set(range(1, 8))
    records = read_rafdb(root)
    for key, emotion in zip(records.keys, records.emotion, strict=True):
        assert emotion == canonical(RAF_ORDER[int(lines[key])]), key


# ------------------------------------------------------------------------------------------------- FER+ votes


@pytest.mark.parametrize(
    ("votes", "majority"),
    [
        ((4, 0, 0, 0, 3, 2, 0, 0, 1, 0), "neutral"),
        ((0, 0, 0, 0, 0, 0, 0, 2, 1, 1), "contempt"),  # the most votes, not more than half of them
        ((0, 5, 0, 5, 0, 0, 0, 0, 0, 0), None),  # tied emotions
        ((4, 0, 0, 0, 0, 0, 0, 0, 4, 2), None),  # an emotion tied with unknown
        ((0, 0, 0, 0, 0, 0, 0, 0, 5, 5), None),  # unknown tied with NF
        ((3, 0, 0, 0, 0, 0, 0, 0, 7, 0), "unknown"),
        ((0, 0, 0, 0, 0, 0, 0, 0, 0, 10), "NF"),
        ((0,) * 10, None),
    ],
)
def test_ferplus_majority_is_the_single_most_voted_column(votes, majority):
    assert ferplus_majority(votes) == majority


def test_ferplus_rows_without_a_majority_emotion_are_left_out_and_counted(tmp_path):
    root = make_fer2013(tmp_path)
    fer = read_fer2013(root)
    assert Counter(fer.split.tolist()) == {"train": 19, "val": 4, "test": 4} and not fer.skipped
    plus = read_fer2013(root, labels="ferplus")
    assert Counter(plus.split.tolist()) == {"train": 14, "val": 4, "test": 4}
    assert plus.skipped == {
        "FER+ votes tied": 1,
        "FER+ majority unknown": 1,
        "FER+ majority NF (not a face)": 1,
        "FER+ gives no image name (left out by FER+)": 1,
        "Contempt (classes=7)": 1,
    }
    eight = read_fer2013(root, labels="ferplus", classes=8)
    assert len(eight) == 23 and (eight.emotion == EMOTIONS.index("Contempt")).sum() == 1
    kept = {key: emotion for key, emotion in zip(fer.keys, fer.emotion, strict=True)}
    assert all(kept[key] == emotion for key, emotion in zip(plus.keys, plus.emotion, strict=True))
    assert set(plus.keys) < set(fer.keys), "keys are fer2013.csv rows under both label sets"


# --------------------------------------------------------------------------------------- pixels and the cache


def module_of(tmp_path: Path, name: str, root: Path, *overrides: str):
    module = instantiate(config(tmp_path, name, root, *overrides).data)
    module.setup("fit")
    return module


def test_fer_pixels_reach_the_cache_as_a_grey_image_file_would(tmp_path):
    root = make_fer2013(tmp_path / "fer2013")
    module = module_of(tmp_path, "fer2013", root)
    records, cache = module.records(), module.cache()
    assert records.paths == ["fer2013.csv"] * len(records) and cache.valid.all()
    Image.fromarray(records.pixels[3]).save(tmp_path / "grey.png")
    from_file = load_face(tmp_path / "grey.png", 32)
    np.testing.assert_array_equal(cache.images[3], from_file)
    np.testing.assert_array_equal(face_from_pixels(records.pixels[3], 32), from_file)
    assert (from_file[..., 0] == from_file[..., 2]).all() and from_file.std() > 5
    sizes = {name: len(ds) for name, ds in module.datasets.items()}
    assert sizes == {"train": 19, "val": 4, "test": 4}, "PublicTest is the validation split, nothing carved"

    again = module_of(tmp_path, "fer2013", root, "data/fill=none")
    assert again.cache().folder == cache.folder and again.cache().build_seconds == cache.build_seconds
    values = pixel_field(root, 5)
    values[0] = str((int(values[0]) + 1) % 256)
    set_field(root / "fer2013.csv", 5, 1, " ".join(values))
    changed = module_of(tmp_path, "fer2013", root).cache().folder
    faces, content = cache.folder.name.rsplit("-", 2)[-2:]
    assert changed.name.split("-")[-2] == faces and changed.name.split("-")[-1] != content, "same faces, new pixels"
    plus = module_of(tmp_path, "fer2013", root, "data.reader.labels=ferplus")
    assert plus.cache().folder.name.split("-")[-2] != faces, "other rows: another cache, not a superseded one"
    assert plus.skipped["FER+ votes tied"] == 1 and len(plus.datasets["train"]) + len(plus.datasets["val"]) == 18


def test_rafdb_splits_and_image_sets(tmp_path):
    root = make_rafdb(tmp_path / "rafdb")
    aligned = module_of(tmp_path, "rafdb", root)
    sizes = {name: len(ds) for name, ds in aligned.datasets.items()}
    assert sizes["test"] == 8 and sizes["train"] + sizes["val"] == 30 and sizes["val"] >= 1
    assert all(key.startswith("train_") for key in aligned.datasets["val"].keys), "val carved from train"
    original = module_of(tmp_path, "rafdb", root, "data.reader.images=original")
    assert original.records().paths[0] == "basic/Image/original/test_0001.jpg"
    assert original.cache().folder != aligned.cache().folder
    assert (original.records().keys == aligned.records().keys).all()


# ---------------------------------------------------------------------------------------------- bad input


def test_wrong_roots_say_what_was_expected_where(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match=r"no fer2013\.csv here; fer2013 expects fer2013\.csv \(columns"):
        read_fer2013(tmp_path / "empty")
    with pytest.raises(ReaderError, match=r"not found \(or not a folder\); rafdb expects basic/EmoLabel/"):
        read_rafdb(tmp_path / "nowhere")
    with pytest.raises(ReaderError, match=r"no basic/EmoLabel/list_patition_label\.txt; rafdb expects"):
        read_rafdb(tmp_path / "empty")
    root = make_rafdb(tmp_path / "rafdb", n_train=3, n_test=1)
    with pytest.raises(ReaderError, match=r"the basic/ folder itself: set data\.root to its parent"):
        read_rafdb(root / "basic")
    for path in (root / "basic" / "Image" / "original").iterdir():
        path.unlink()
    (root / "basic" / "Image" / "original").rmdir()
    with pytest.raises(ReaderError, match=r"original: image folder not found; data\.reader\.images=original"):
        read_rafdb(root, images="original")
    fer = make_fer2013(tmp_path / "fer", n_train=3, n_val=1, n_test=1)
    (fer / "fer2013new.csv").unlink()
    with pytest.raises(ReaderError, match=r"no fer2013new\.csv beside fer2013\.csv; data\.reader\.labels=ferplus"):
        read_fer2013(fer, labels="ferplus")


def pixel_field(root: Path, line: int) -> list[str]:
    return (root / "fer2013.csv").read_text().splitlines()[line - 1].split(",")[1].split(" ")


FER_BAD_LINES = {
    "a missing pixel": (1, lambda values: " ".join(values[:-1]), r"not 48x48 = 2304 pixels \(found 2303 values\)"),
    "a decimal pixel": (1, lambda values: " ".join(["3.5", *values[1:]]), r"pixel not an integer 0-255 \('3\.5'\)"),
    "a pixel over 255": (1, lambda values: " ".join([*values[:-1], "256"]), r"pixel not an integer 0-255 \(256\)"),
    "an unknown code": (0, lambda values: "7", r"emotion not a FER code 0-6 \('7'\)"),
    "an unknown Usage": (2, lambda values: "Validation", r"unknown Usage \('Validation'; expected one of"),
}


@pytest.mark.parametrize("bad", sorted(FER_BAD_LINES))
def test_a_malformed_fer2013_line_is_named_or_skipped(tmp_path, bad):
    column, edit, message = FER_BAD_LINES[bad]
    root = make_fer2013(tmp_path, n_train=3, n_val=1, n_test=1)
    path = root / "fer2013.csv"
    set_field(path, 2, column, edit(pixel_field(root, 2)))
    with pytest.raises(ReaderError, match=f"{re.escape(str(path))}:2: {message}"):
        read_fer2013(root)
    records = read_fer2013(root, skip_invalid=True)
    assert len(records) == 9 and sum(records.skipped.values()) == 1
    assert len(read_fer2013(root, labels="ferplus", skip_invalid=True)) == 4, "FER+ rows still pair by order"


def test_fer2013_header_and_ferplus_row_count_and_usage(tmp_path):
    root = make_fer2013(tmp_path, n_train=3, n_val=1, n_test=1)
    fer, plus = root / "fer2013.csv", root / "fer2013new.csv"
    edit_lines(plus, lambda lines: lines[:-1])
    with pytest.raises(ReaderError, match=rf"{re.escape(str(plus))}: 9 rows, but {re.escape(str(fer))} has 10: FER\+"):
        read_fer2013(root, labels="ferplus", skip_invalid=True)
    with pytest.raises(ReaderError, match=rf"first unpaired row: {re.escape(str(fer))}:11\)"):
        read_fer2013(root, labels="ferplus")
    assert len(read_fer2013(root)) == 10, "FER labels do not read fer2013new.csv"
    make_fer2013(root, n_train=3, n_val=1, n_test=1)
    set_field(plus, 11, 0, "PublicTest")
    with pytest.raises(ReaderError, match=rf"{re.escape(str(plus))}:11: FER\+ Usage differs .*line 11 of fer2013"):
        read_fer2013(root, labels="ferplus")
    set_field(plus, 11, 0, "PrivateTest")
    set_field(plus, 3, 4, "x")
    with pytest.raises(ReaderError, match=rf"{re.escape(str(plus))}:3: FER\+ vote not a non-negative integer"):
        read_fer2013(root, labels="ferplus")
    edit_lines(fer, lambda lines: lines[1:])
    with pytest.raises(ReaderError, match=rf"{re.escape(str(fer))}:1: expected the header emotion,pixels,Usage"):
        read_fer2013(root)


def test_reordered_fer2013_columns_are_read_by_their_names(tmp_path):
    root = make_fer2013(tmp_path, n_train=3, n_val=1, n_test=1)
    expected = read_fer2013(root)

    def reorder(lines: list[str]) -> list[str]:
        fields = [line.split(",") for line in lines]
        return [f"{e}, {u},{p}" for e, p, u in fields]  # icml_face_data.csv: "emotion, Usage, pixels"

    edit_lines(root / "fer2013.csv", reorder)
    records = read_fer2013(root)
    assert (records.emotion == expected.emotion).all() and (records.pixels == expected.pixels).all()


RAF_BAD_LINES = {
    "a missing image": (lambda line: "train_09999.jpg 3", "annotation without an image", r"train_09999_aligned", 2),
    "an unknown code": (lambda line: line.split()[0] + " 8", "emotion not a RAF-DB code 1-7", r"\('8'\)", 1),
    "a third field": (lambda line: line + " extra", "line not '<image name> <code>'", r"\(3 fields", 1),
    "another prefix": (lambda line: "val_00003.jpg 3", "image name not train_<id> or test_<id>", r"'val_00003", 2),
}
"""Each edit of the third line: what it breaks, and how many reasons are counted when skipping (an image whose
line names another image is also without an annotation)."""


@pytest.mark.parametrize("bad", sorted(RAF_BAD_LINES))
def test_a_bad_rafdb_line_is_named_or_skipped(tmp_path, bad):
    edit, reason, detail, counted = RAF_BAD_LINES[bad]
    root = make_rafdb(tmp_path, n_train=4, n_test=2)
    path = root / RAF_LABELS

    def change(lines: list[str]) -> list[str]:
        return [*lines[:2], edit(lines[2]), *lines[3:]]

    edit_lines(path, change)
    with pytest.raises(ReaderError, match=f"{re.escape(str(path))}:3: {re.escape(reason)}.*{detail}"):
        read_rafdb(root)
    records = read_rafdb(root, skip_invalid=True)
    assert len(records) == 5 and sum(records.skipped.values()) == counted


def test_rafdb_images_without_a_line_and_repeated_lines(tmp_path):
    root = make_rafdb(tmp_path, n_train=4, n_test=2)
    path = root / RAF_LABELS
    edit_lines(path, lambda lines: lines[1:])
    with pytest.raises(ReaderError, match=r"train_00001_aligned\.jpg: image without an annotation"):
        read_rafdb(root)
    edit_lines(path, lambda lines: [*lines, lines[0].replace(" ", "  ")])
    with pytest.raises(ReaderError, match=rf"{re.escape(str(path))}:6: image named twice \('train_00002.jpg'"):
        read_rafdb(root)
    records = read_rafdb(root, skip_invalid=True)
    assert len(records) == 5 and records.skipped == {"image without an annotation": 1, "image named twice": 1}


# ------------------------------------------------------------------------------------------------- evaluation


EVALUATE_SHORT = ["probes.max_train=200", "probes.max_figure=16", "probes.n_jobs=1"]
EVALUATE_SECTIONS_LEFT_OUT = ["sections.generation=null", "sections.structure=null"]
"""The sections that train models of their own (an expression judge, leakage probes) and read nothing of the
format: left out to keep the test short (test_evaluate runs them, and the t-SNE figure stubbed here)."""


@pytest.fixture(scope="module")
def fer_checkpoint(tmp_path_factory) -> Path:
    """The best checkpoint of a two-batch run on a FER2013 tree (FER+ labels)."""
    tmp = tmp_path_factory.mktemp("fer_run")
    root = make_fer2013(tmp / "fer2013", n_train=24, n_val=8, n_test=16)
    short = ["debug=limit", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
    short.append("data.reader.labels=ferplus")
    return Path(train(config(tmp, "fer2013", root, *short))["run"]["best_checkpoint"])


@pytest.mark.parametrize("name", ["fer2013", "rafdb"])
def test_a_trained_run_evaluates_on_each_format(tmp_path, fer_checkpoint, name, monkeypatch):
    monkeypatch.setattr(figures, "tsne_figure", lambda chunks, emotion, seed: Figure())  # 1000 fixed iterations
    root = make_fer2013(tmp_path / name, n_val=8, n_test=16) if name == "fer2013" else make_rafdb(tmp_path / name)
    data = [f"data={name}", f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}"]
    own, run = split_evaluate_overrides(data)
    paths = [f"paths.output_dir={tmp_path / 'eval'}", f"paths.data_dir={tmp_path / 'data'}"]
    small = [*EVALUATE_SHORT, *EVALUATE_SECTIONS_LEFT_OUT]
    metrics = evaluate(compose_config([f"ckpt={fer_checkpoint}", *paths, *small, *own], "evaluate"), overrides=run)
    assert metrics["run"]["n_test"] == (16 if name == "fer2013" else 8)
    assert -1.0 <= metrics["alignment"]["valence"]["ccc"] <= 1.0, "VA transferred from the classes"
    assert (tmp_path / "eval" / "report.md").is_file()
