"""Readers of the official dataset formats, on code-generated trees with each format's quirks and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from levasa.data.readers import (
    ReaderError,
    afew_va,
    affectnet,
    fer2013,
    folder,
    imfdb,
    npy,
    rafdb,
    read_afew_va,
    read_affectnet,
    read_fer2013,
    read_folder,
    read_imfdb,
    read_rafdb,
)
from levasa.data.readers.records import BadValueError, Records
from levasa.vocabulary import EMOTIONS
from tests.formats import (
    edit_json,
    edit_lines,
    make_afew_va,
    make_affectnet2017,
    make_affectnet2021,
    make_folder,
    make_imfdb,
    save_image,
    set_field,
)


def check_common(records, n: int) -> None:
    """Invariants of every reader's output."""
    assert len(records) == n
    assert records.paths == sorted(records.paths)
    assert all((records.root / path).is_file() for path in records.paths)
    assert len(set(records.keys.tolist())) == n


# ------------------------------------------------------------------------------------------------------- roots


@pytest.mark.parametrize(
    ("read", "module"),
    [
        (read_affectnet, affectnet),
        (read_afew_va, afew_va),
        (read_imfdb, imfdb),
        (read_folder, folder),
        (read_fer2013, fer2013),
        (read_rafdb, rafdb),
    ],
)
def test_each_reader_names_a_wrong_root_and_the_layout_it_expects(tmp_path, read, module):
    name = module.__name__.rsplit(".", 1)[-1]
    (tmp_path / "a_file").write_text("not a folder")
    for root in (tmp_path / "nowhere", tmp_path / "a_file"):
        expected = rf"data\.root {re.escape(str(root))} not found \(or not a folder\); {name} expects "
        with pytest.raises(ReaderError, match=expected + re.escape(module.LAYOUT)):
            read(root)


# ------------------------------------------------------------------------------------------------ AffectNet 2017


def csv_rows(path: Path) -> dict[str, list[str]]:
    with path.open(newline="") as f:
        return {row[0]: row for row in csv.reader(f) if row[0] != "subDirectory_filePath"}


def kept_line(path: Path) -> int:
    """The 1-based line number of a row the reader keeps by default (code 0-6, VA present)."""
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split(",")
        if fields[0] != "subDirectory_filePath" and int(fields[6]) < 7 and float(fields[7]) != -2:
            return number
    raise AssertionError("no kept row")


@pytest.fixture
def affectnet2017(tmp_path) -> Path:
    return make_affectnet2017(tmp_path / "affectnet")


def test_affectnet2017_rows_labels_boxes_and_splits(affectnet2017):
    records = read_affectnet(affectnet2017)
    check_common(records, 32)
    assert records.source == "affectnet"
    assert Counter(records.split.tolist()) == {"train": 24, "test": 8}
    assert set(records.emotion[records.split == "train"].tolist()) == set(range(7))
    assert (records.subject == records.keys).all()
    lists = affectnet2017 / "Manually_Annotated_file_lists"
    rows = csv_rows(lists / "training.csv") | csv_rows(lists / "validation.csv")
    for path, key, box, emotion, va in zip(
        records.paths, records.keys, records.boxes, records.emotion, records.va, strict=True
    ):
        row = rows[key]
        assert path == f"Manually_Annotated_Images/{key}"
        np.testing.assert_allclose(box, [float(v) for v in row[1:5]])
        assert emotion == int(row[6])
        np.testing.assert_allclose(va, [float(row[7]), float(row[8])], atol=1e-6)
    assert records.skipped == {
        "expression 8 (None)": 1,
        "expression 9 (Uncertain)": 1,
        "expression 10 (Non-Face)": 2,
        "Contempt (classes=7)": 2,
        "valence/arousal missing": 2,
    }


def test_affectnet2017_contempt_missing_va_and_class_count(affectnet2017):
    eight = read_affectnet(affectnet2017, classes=8)
    assert Counter(eight.split.tolist()) == {"train": 25, "test": 9}
    assert (eight.emotion == 7).sum() == 2 and "Contempt (classes=8)" not in eight.skipped
    lenient = read_affectnet(affectnet2017, require_va=False)
    assert len(lenient) == 34 and np.isnan(lenient.va).all(axis=1).sum() == 2
    with pytest.raises(ValueError, match="classes must be 7 or 8"):
        read_affectnet(affectnet2017, classes=6)


@pytest.mark.parametrize("header", [False, True])
def test_affectnet2017_validation_header_is_optional(tmp_path, header):
    root = make_affectnet2017(tmp_path / "an", n_train=7, n_val=7, size=64, header_in_validation=header)
    first = (root / "Manually_Annotated_file_lists" / "validation.csv").read_text().split(",", 1)[0]
    assert (first == "subDirectory_filePath") == header
    assert Counter(read_affectnet(root).split.tolist()) == {"train": 7, "test": 7}


def _drop_field(fields: list[str]) -> list[str]:
    return fields[:-1]


def _short_landmarks(fields: list[str]) -> list[str]:
    return [*fields[:5], fields[5].rsplit(";", 1)[0], *fields[6:]]


def _letter_in_landmarks(fields: list[str]) -> list[str]:
    return [*fields[:5], "x" + fields[5], *fields[6:]]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ({6: "11"}, "expression not an integer code 0-10"),
        ({6: "1.5"}, "expression not an integer code 0-10"),
        ({7: "1.5"}, "valence/arousal outside [-1, 1] (and not -2, missing)"),
        ({8: "abc"}, "field not a number"),
        ({3: "0"}, "face box with a non-positive size"),
        (_short_landmarks, "facial_landmarks not 136 numbers (68 points) joined by ';'"),
        (_letter_in_landmarks, "facial_landmarks not 136 numbers (68 points) joined by ';'"),
        (_drop_field, "wrong number of fields"),
    ],
)
def test_affectnet2017_bad_rows_name_file_and_line(affectnet2017, edit, reason):
    path = affectnet2017 / "Manually_Annotated_file_lists" / "training.csv"
    line = kept_line(path)

    def change(lines: list[str]) -> list[str]:
        fields = lines[line - 1].split(",")
        if callable(edit):
            fields = edit(fields)
        else:
            for column, value in edit.items():
                fields[column] = value
        lines[line - 1] = ",".join(fields)
        return lines

    edit_lines(path, change)
    with pytest.raises(ReaderError, match=rf"training\.csv:{line}: ") as err:
        read_affectnet(affectnet2017)
    assert reason in str(err.value)
    records = read_affectnet(affectnet2017, skip_invalid=True)
    assert records.skipped[reason] == 1 and len(records) == 31


def test_affectnet2017_duplicates_and_missing_images(affectnet2017):
    path = affectnet2017 / "Manually_Annotated_file_lists" / "training.csv"
    line = kept_line(path)
    text = path.read_text().splitlines()
    edit_lines(path, lambda lines: [*lines, text[line - 1]])
    with pytest.raises(ReaderError, match=rf"training\.csv:{len(text) + 1}: duplicate row for an image"):
        read_affectnet(affectnet2017)
    records = read_affectnet(affectnet2017, skip_invalid=True)
    assert records.skipped["duplicate row for an image"] == 1 and len(records) == 32
    edit_lines(path, lambda lines: lines[:-1])
    (affectnet2017 / "Manually_Annotated_Images" / text[line - 1].split(",")[0]).unlink()
    with pytest.raises(ReaderError, match=rf"training\.csv:{line}: annotation without an image"):
        read_affectnet(affectnet2017)
    assert read_affectnet(affectnet2017, skip_invalid=True).skipped["annotation without an image"] == 1


def test_affectnet_layout_must_be_one_release(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match=r"Manually_Annotated_file_lists.*train_set"):
        read_affectnet(tmp_path / "empty")
    root = make_affectnet2017(tmp_path / "both", n_train=7, n_val=7, size=48)
    (root / "train_set").mkdir()
    with pytest.raises(ReaderError, match="both AffectNet layouts"):
        read_affectnet(root)


# ------------------------------------------------------------------------------------------------ AffectNet 2021


@pytest.fixture
def affectnet2021(tmp_path) -> Path:
    return make_affectnet2021(tmp_path / "affectnet")


def npy_value(path: Path) -> float:
    return float(np.load(path).item())


@pytest.mark.parametrize("strings", [True, False])
def test_affectnet2021_rows_labels_and_splits(tmp_path, strings):
    root = make_affectnet2021(tmp_path / "an", string_values=strings)
    records = read_affectnet(root)
    check_common(records, 32)
    assert Counter(records.split.tolist()) == {"train": 24, "test": 8}
    assert records.boxes is None and records.skipped == {"Contempt (classes=7)": 2}
    assert set(records.emotion.tolist()) == set(range(7)) and (records.subject == records.keys).all()
    assert {"train_set/0", "val_set/0"} <= set(records.keys.tolist())  # ids restart per set, keys stay unique
    for path, key, emotion, va in zip(records.paths, records.keys, records.emotion, records.va, strict=True):
        set_name, face_id = key.split("/")
        assert path == f"{set_name}/images/{face_id}.jpg"
        annotations = root / set_name / "annotations"
        assert emotion == npy_value(annotations / f"{face_id}_exp.npy")
        np.testing.assert_allclose(
            va, [npy_value(annotations / f"{face_id}_val.npy"), npy_value(annotations / f"{face_id}_aro.npy")]
        )
    assert len(read_affectnet(root, classes=8)) == 34


def test_affectnet2021_missing_va_is_unknown(affectnet2021):
    (affectnet2021 / "train_set" / "annotations" / "3_aro.npy").unlink()
    records = read_affectnet(affectnet2021, classes=8)
    assert len(records) == 33 and records.skipped["valence/arousal missing"] == 1
    lenient = read_affectnet(affectnet2021, classes=8, require_va=False)
    row = lenient.keys.tolist().index("train_set/3")
    assert np.isnan(lenient.va[row]).all() and len(lenient) == 34


def _corrupt(path: Path) -> None:
    path.write_bytes(b"\x93NUMPY garbage")


@pytest.mark.parametrize(
    ("kind", "change", "reason"),
    [
        ("exp", _corrupt, "unreadable .npy file"),
        ("exp", lambda p: np.save(p, np.array("12")), "expression not an integer code 0-10"),
        ("exp", lambda p: np.save(p, np.array("happy")), "field not a number"),
        ("val", lambda p: np.save(p, np.array("1.7")), "valence/arousal outside [-1, 1] (and not -2, missing)"),
        ("aro", lambda p: np.save(p, np.array([0.1, 0.2])), ".npy file not a single value"),
    ],
)
def test_affectnet2021_bad_values_name_the_file(affectnet2021, kind, change, reason):
    change(affectnet2021 / "val_set" / "annotations" / f"2_{kind}.npy")
    with pytest.raises(ReaderError, match=rf"val_set/annotations/2_{kind}\.npy: ") as err:
        read_affectnet(affectnet2021, classes=8)
    assert reason in str(err.value)
    records = read_affectnet(affectnet2021, classes=8, skip_invalid=True)
    assert records.skipped == {reason: 1} and len(records) == 33


def npy_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "0_exp.npy"
    path.write_bytes(data)
    return path


def saved(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


def zipped() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("exp.npy", saved(np.array(1.0)))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (saved(np.array([{"a": 1}], dtype=object)), npy.UNREADABLE_NPY, "allow_pickle=False"),  # never unpickled
        (zipped(), npy.UNREADABLE_NPY, "a zip archive"),  # a real .npz that np.load would open
        (saved(np.zeros(npy.MAX_NPY_BYTES // 8 + 1)), npy.NOT_SINGLE, f"over {npy.MAX_NPY_BYTES} bytes"),
        (saved(np.array(1.0))[:-3], npy.UNREADABLE_NPY, "Failed to read all data"),
        (b"\x93NUMPY\x01\x00" + b"\x10\x00" + b"{'descr': '<f8'}", npy.UNREADABLE_NPY, "ValueError"),
        (saved(np.zeros(2)), npy.NOT_SINGLE, "(shape (2,))"),
        (saved(np.array(1 + 2j)), npy.NOT_A_NUMBER, "complex128"),
        (saved(np.array(True)), npy.NOT_A_NUMBER, "True"),
    ],
)
def test_npy_files_other_than_one_plain_number_are_bad_values(tmp_path, data, reason, detail):
    with pytest.raises(BadValueError) as err:
        npy.read_number(npy_file(tmp_path, data))
    assert err.value.reason == reason and detail in err.value.detail


@pytest.mark.parametrize(
    ("array", "number"), [(np.array(" -0.25 "), -0.25), (np.array(b"3"), 3.0), (np.array([[7]], np.uint8), 7.0)]
)
def test_npy_numbers_are_read_from_strings_bytes_and_one_element_arrays(tmp_path, array, number):
    assert npy.read_number(npy_file(tmp_path, saved(array))) == number


def test_affectnet2021_images_and_annotations_must_pair(affectnet2021):
    (affectnet2021 / "train_set" / "annotations" / "5_exp.npy").unlink()
    with pytest.raises(ReaderError, match=r"train_set/images/5\.jpg: image without an annotation"):
        read_affectnet(affectnet2021, classes=8)
    assert read_affectnet(affectnet2021, classes=8, skip_invalid=True).skipped["image without an annotation"] == 1
    for path in [affectnet2021 / "train_set" / "images" / "5.jpg", *affectnet2021.glob("train_set/annotations/5_*")]:
        path.unlink()
    (affectnet2021 / "val_set" / "images" / "1.jpg").unlink()
    with pytest.raises(ReaderError, match=r"val_set/annotations/1_\w+\.npy: annotation without an image"):
        read_affectnet(affectnet2021, classes=8)
    records = read_affectnet(affectnet2021, classes=8, skip_invalid=True)
    assert records.skipped == {"annotation without an image": 1} and len(records) == 32


# ------------------------------------------------------------------------------------------------------ AFEW-VA


@pytest.fixture
def afew(tmp_path) -> Path:
    return make_afew_va(tmp_path / "afew")


def test_afew_va_rows_scale_boxes_and_quirks(afew):
    records = read_afew_va(afew)
    check_common(records, 30)
    assert (records.split == "").all() and (records.emotion == -1).all() and records.skipped == {}
    assert records.keys[0] == "001_00000" and records.paths[0] == "001/00000.png"
    assert set(records.subject.tolist()) == {"actor0", "actor1", "actor2"}  # each clip's JSON names its actor
    assert not any("cropped" in p or "README" in p for p in records.paths)
    document = json.loads((afew / "002" / "002.json").read_text())
    assert any(isinstance(e["valence"], float) for e in document["frames"].values())  # the float-written quirk
    for frame, entry in document["frames"].items():
        row = records.keys.tolist().index(f"002_{frame}")
        np.testing.assert_allclose(records.va[row], [entry["valence"] / 10, entry["arousal"] / 10])
        points = np.array(entry["landmarks"])
        low, high = points.min(0), points.max(0)
        side = (high - low).max() * 1.5
        expected = [*((low + high) / 2 - side / 2), side, side]
        np.testing.assert_allclose(records.boxes[row], expected, rtol=1e-5)
    tight = read_afew_va(afew, margin=0.0)
    np.testing.assert_allclose(tight.boxes[:, 2], records.boxes[:, 2] / 1.5, rtol=1e-5)
    assert np.abs(records.va).max() <= 1 and np.unique(records.va[:, 0]).size > 5


def test_afew_va_subject_is_the_actor_else_the_clip(afew):
    records = read_afew_va(afew)
    subject = dict(zip(records.keys.tolist(), records.subject.tolist(), strict=True))
    assert subject["001_00000"] == subject["004_00003"] == "actor1" and subject["003_00000"] == "actor0"
    edit_json(afew / "002" / "002.json", lambda doc: doc.pop("actor"))
    edit_json(afew / "005" / "005.json", lambda doc: doc.update(actor=" "))
    records = read_afew_va(afew)
    assert set(records.subject.tolist()) == {"actor0", "actor1", "002", "005"}  # no actor: the clip, as before
    edit_json(afew / "006" / "006.json", lambda doc: doc.update(actor=["x"]))
    with pytest.raises(ReaderError, match=r"006/006\.json: malformed JSON \(expected 'actor' to be a name"):
        read_afew_va(afew)
    assert len(read_afew_va(afew, skip_invalid=True)) == 25


def test_afew_va_official_split_needs_all_600_clips(tmp_path):
    root = make_afew_va(tmp_path / "afew", n_clips=600, frames=1, size=(24, 24), float_va=False)
    records = read_afew_va(root)
    assert Counter(records.split.tolist()) == {"train": 540, "test": 60}
    assert records.split[records.keys.tolist().index("540_00000")] == "train"
    assert records.split[records.keys.tolist().index("541_00000")] == "test"
    shutil.rmtree(root / "599")
    assert (read_afew_va(root).split == "").all()


def _drop_arousal(document: dict) -> None:
    del document["frames"]["00001"]["arousal"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d["frames"]["00001"].update(valence=11), "valence/arousal outside [-10, 10]"),
        (lambda d: d["frames"]["00001"].update(arousal="high"), "valence/arousal not a number"),
        (_drop_arousal, "missing key"),
        (lambda d: d["frames"]["00001"].update(landmarks=[[1, 2]]), "landmarks not a non-empty list"),
        (lambda d: d["frames"].update({"00099": d["frames"]["00000"]}), "annotation without an image"),
    ],
)
def test_afew_va_bad_frames_name_file_and_frame(afew, edit, reason):
    edit_json(afew / "003" / "003.json", edit)
    with pytest.raises(ReaderError, match=r"003/003\.json: frame 000\d\d: ") as err:
        read_afew_va(afew)
    assert reason in str(err.value)
    records = read_afew_va(afew, skip_invalid=True)
    assert sum(n for r, n in records.skipped.items() if r.startswith(reason)) == 1
    assert len(records) == 30 - (reason != "annotation without an image")


def test_afew_va_bad_files(afew):
    save_image(afew / "004" / "00077.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ReaderError, match=r"004/00077\.png: image without an annotation"):
        read_afew_va(afew)
    assert read_afew_va(afew, skip_invalid=True).skipped == {"image without an annotation": 1}
    (afew / "004" / "00077.png").unlink()
    (afew / "005" / "005.json").write_text('{"frames": {"00000": ')
    with pytest.raises(ReaderError, match=r"005/005\.json: malformed JSON"):
        read_afew_va(afew)
    (afew / "005" / "005.json").unlink()
    with pytest.raises(ReaderError, match=r"005/005\.json: clip folder without its JSON"):
        read_afew_va(afew)
    records = read_afew_va(afew, skip_invalid=True)
    assert records.skipped == {"clip folder without its JSON": 1} and len(records) == 25
    with pytest.raises(ValueError, match="margin"):
        read_afew_va(afew, margin=-0.1)


# -------------------------------------------------------------------------------------------------------- IMFDB


@pytest.fixture
def imfdb(tmp_path) -> Path:
    return make_imfdb(tmp_path / "imfdb")


def imfdb_expected(n_actors: int = 4, movies: int = 2, per_movie: int = 5) -> dict[str, int]:
    """Path -> expected emotion index of the default tree (the builder cycles the words in folder order)."""
    expected, g = {}, 0
    actors = [f"Actor{chr(ord('A') + a)}" for a in range(n_actors)]
    for index, (actor, movie) in enumerate((x, f"Film{a}{m}") for a, x in enumerate(actors) for m in range(movies)):
        for i in range(per_movie):
            name = f"{movie}_{actor}_{i + 1}.jpg"
            if index == movies and i == per_movie - 1:
                name = "Film00_ActorA_1.jpg"
            expected[f"{actor}/{movie}/images/{name}"] = g % 7
            g += 1
    return expected


def test_imfdb_rows_labels_and_quirks(imfdb):
    records = read_imfdb(imfdb)
    check_common(records, 40)
    assert records.skipped == {"movie folder without annotation file": 2, "duplicate line": 1}
    expected = imfdb_expected()
    assert dict(zip(records.paths, records.emotion.tolist(), strict=True)) == expected
    assert set(records.emotion.tolist()) == set(range(7)) and np.isnan(records.va).all()
    assert (records.split == "").all() and records.boxes is None
    assert records.subject.tolist() == [p.split("/")[0] for p in records.paths]
    keys = set(records.keys.tolist())
    assert {"ActorA/Film00/Film00_ActorA_1.jpg", "ActorB/Film10/Film00_ActorA_1.jpg", "Film00_ActorA_2.jpg"} <= keys
    assert (imfdb / "ActorB" / "Film10" / "Film10.txt").read_bytes().decode("latin-1").startswith("Mélodie")
    assert len((imfdb / "ActorA" / "Film01" / "Film01.txt").read_text().splitlines()[0].split("\t")) == 16


def test_imfdb_unknown_label_names_file_and_line(imfdb):
    path = imfdb / "ActorC" / "Film20" / "Film20.txt"
    set_field(path, 2, 11, "CONFUSED", sep="\t")
    with pytest.raises(ReaderError, match=r"Film20\.txt:2: unknown label 'CONFUSED'"):
        read_imfdb(imfdb)
    records = read_imfdb(imfdb, skip_invalid=True)
    assert records.skipped["unknown label"] == 1 and "image without an annotation" not in records.skipped
    assert len(records) == 39


def test_imfdb_lines_and_images_must_pair(imfdb):
    folder = imfdb / "ActorD" / "Film31"
    (folder / "images" / "Film31_ActorD_3.jpg").unlink()
    with pytest.raises(ReaderError, match=r"Film31\.txt:3: annotation without an image"):
        read_imfdb(imfdb)
    assert read_imfdb(imfdb, skip_invalid=True).skipped["annotation without an image"] == 1
    edit_lines(folder / "Film31.txt", lambda lines: [line for line in lines if "_3.jpg" not in line])
    save_image(folder / "images" / "stray.jpg", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ReaderError, match=r"Film31/images/stray\.jpg: image without an annotation"):
        read_imfdb(imfdb)
    records = read_imfdb(imfdb, skip_invalid=True)
    assert records.skipped["image without an annotation"] == 1 and len(records) == 39


def test_imfdb_conflicting_and_unreadable_lines(imfdb):
    path = imfdb / "ActorC" / "Film21" / "Film21.txt"
    lines = path.read_text().splitlines()
    fields = lines[0].split("\t")
    fields[11] = "FEAR" if fields[11] != "FEAR" else "ANGER"
    path.write_text("\n".join([*lines, "\t".join(fields)]) + "\n")
    with pytest.raises(ReaderError, match=r"Film21\.txt:6: conflicting labels for an image"):
        read_imfdb(imfdb)
    records = read_imfdb(imfdb, skip_invalid=True)
    assert records.skipped["conflicting labels for an image"] == 1 and len(records) == 39
    assert "image without an annotation" not in records.skipped
    path.write_text("\n".join(["just\ta header", *lines, "another\tnote"]) + "\n")
    with pytest.raises(ReaderError, match=r"Film21\.txt:7: line has neither an image name nor an expression"):
        read_imfdb(imfdb)
    records = read_imfdb(imfdb, skip_invalid=True)  # the first line is taken as a header, the last is bad
    assert records.skipped["line has neither an image name nor an expression"] == 1 and len(records) == 40


# ------------------------------------------------------------------------------------------------------- folder


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_folder_labels_by_name(tmp_path, fmt):
    root = make_folder(tmp_path / "mine", fmt=fmt)
    records = read_folder(root)
    check_common(records, 20)
    assert (records.keys == np.array(records.paths)).all() and (records.subject == records.keys).all()
    assert (records.split == "").all() and np.isnan(records.va).all() and records.boxes is None
    number = np.array([int(k.split("img")[1][:3]) for k in records.keys])
    assert (records.emotion == number % 7).all() and EMOTIONS[records.emotion[0]] == "Neutral"
    by_person = read_folder(root, subject_depth=1)
    assert set(by_person.subject.tolist()) == {"p0", "p1", "p2", "p3"}
    with pytest.raises(ReaderError, match="fewer than subject_depth=2"):
        read_folder(root, subject_depth=2)


def test_folder_va_and_input_scale(tmp_path):
    root = make_folder(tmp_path / "mine", kind="va", fmt="json")
    records = read_folder(root)
    assert (records.emotion == -1).all()
    written = json.loads((root / "labels.json").read_text())
    np.testing.assert_allclose(records.va, [written[k] for k in records.keys], atol=1e-6)
    scaled = {k: [10 * v[0], 10 * v[1]] for k, v in written.items()}
    (root / "labels.json").unlink()
    (root / "sub").mkdir()
    (root / "sub" / "scaled.json").write_text(json.dumps(scaled))
    again = read_folder(root, labels="sub/scaled.json", input_scale=10)
    np.testing.assert_allclose(again.va, records.va, atol=1e-6)
    with pytest.raises(ReaderError, match="outside the declared scale"):
        read_folder(root, labels="sub/scaled.json")


def test_folder_label_file_choice(tmp_path):
    root = make_folder(tmp_path / "mine", n=8)
    (root / "labels.json").write_text("{}")
    with pytest.raises(ReaderError, match=r"both of labels\.csv and labels\.json"):
        read_folder(root)
    (root / "labels.json").unlink()
    (root / "labels.csv").unlink()
    with pytest.raises(ReaderError, match=r"neither of labels\.csv and labels\.json"):
        read_folder(root)
    with pytest.raises(ReaderError, match=r"mine/other\.csv: label file not found"):
        read_folder(root, labels="other.csv")


def test_folder_bad_input(tmp_path):
    root = make_folder(tmp_path / "mine", n=14)
    set_field(root / "labels.csv", 3, 1, "bored")
    with pytest.raises(ReaderError, match=r"labels\.csv.*'p1/img001\.jpg'.*unknown label 'bored'"):
        read_folder(root)
    records = read_folder(root, skip_invalid=True)
    assert records.skipped == {"unknown label": 1} and len(records) == 13
    set_field(root / "labels.csv", 3, 1, "happy")
    (root / "p2" / "img002.png").unlink()
    with pytest.raises(ReaderError, match=r"labels\.csv: key 'p2/img002\.png': annotation without an image"):
        read_folder(root)
    save_image(root / "p2" / "img002.png", np.zeros((8, 8, 3), np.uint8))
    save_image(root / "extra" / "new.jpg", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ReaderError, match=r"extra/new\.jpg: image without an annotation"):
        read_folder(root)
    records = read_folder(root, skip_invalid=True)
    assert records.skipped == {"image without an annotation": 1} and len(records) == 14


# -------------------------------------------------------------------------- image paths outside the root (issue 16)

OUTSIDE = "image path outside the root"


@pytest.mark.parametrize(
    "escape",
    ["../../outside.jpg", "1/../../../outside.jpg", "ABSOLUTE", "C:\\outside.jpg", "\\\\server\\share\\outside.jpg"],
)
def test_affectnet2017_paths_outside_the_root_are_bad_rows(affectnet2017, escape):
    outside = affectnet2017.parent / "outside.jpg"  # what ../../outside.jpg reaches from the image folder
    save_image(outside, np.full((96, 96, 3), 128, np.uint8))
    path = affectnet2017 / "Manually_Annotated_file_lists" / "training.csv"
    line = kept_line(path)
    set_field(path, line, 0, str(outside) if escape == "ABSOLUTE" else escape)
    with pytest.raises(ReaderError, match=rf"training\.csv:{line}: {OUTSIDE}"):
        read_affectnet(affectnet2017)
    records = read_affectnet(affectnet2017, skip_invalid=True)
    assert records.skipped[OUTSIDE] == 1 and len(records) == 31
    assert not any(".." in p.split("/") or p.startswith("/") for p in records.paths)


def test_affectnet2017_a_name_that_only_starts_with_dots_is_inside(affectnet2017):
    path = affectnet2017 / "Manually_Annotated_file_lists" / "training.csv"
    line = kept_line(path)
    save_image(affectnet2017 / "Manually_Annotated_Images" / "2" / "..face.jpg", np.zeros((96, 96, 3), np.uint8))
    set_field(path, line, 0, "2/..face.jpg")
    assert "Manually_Annotated_Images/2/..face.jpg" in read_affectnet(affectnet2017).paths


@pytest.mark.parametrize(
    "path",
    ["../x.png", "a/../../x.png", "a/..", "/abs/x.png", "C:/x.png", "c:x.png", "\\\\host\\x.png", "a\\..\\x.png"],
)
def test_records_refuse_image_paths_outside_the_root(tmp_path, path):
    with pytest.raises(ReaderError, match=rf"test: image path {re.escape(repr(path))} .*outside the root"):
        Records("test", tmp_path, [path], np.zeros((1, 2)), [0], ["k"], ["k"], [""])
    inside = Records("test", tmp_path, ["a/..b.png"], np.zeros((1, 2)), [0], ["k"], ["k"], [""])
    assert inside.paths == ["a/..b.png"]


@pytest.mark.parametrize("escape", ["../outside.jpg", "p0/../../outside.jpg", "ABSOLUTE"])
def test_folder_keys_outside_the_root_are_bad_rows(tmp_path, escape):
    root = make_folder(tmp_path / "mine")
    outside = tmp_path / "outside.jpg"
    save_image(outside, np.zeros((8, 8, 3), np.uint8))
    key = str(outside) if escape == "ABSOLUTE" else escape
    edit_lines(root / "labels.csv", lambda lines: [*lines, f"{key},happy"])
    with pytest.raises(ReaderError, match=rf"labels\.csv: key '{re.escape(key)}': {OUTSIDE}"):
        read_folder(root)
    records = read_folder(root, skip_invalid=True)
    assert records.skipped == {OUTSIDE: 1} and len(records) == 20


def test_imfdb_and_afew_va_only_read_images_they_list_inside_the_root(tmp_path):
    """Their image paths come from folder listings under the root: a name with folders in an annotation never
    reaches outside it (IMFDB keeps the file name, AFEW-VA frame names must match a frame file)."""
    root = make_imfdb(tmp_path / "imfdb")
    save_image(tmp_path / "outside.jpg", np.zeros((8, 8, 3), np.uint8))
    txt = root / "ActorA" / "Film00" / "Film00.txt"
    lines = txt.read_text().splitlines()
    fields = lines[1].split("\t")
    fields[2] = "../../../../outside.jpg"
    edit_lines(txt, lambda old: [*old, "\t".join(fields)])
    with pytest.raises(ReaderError, match=r"Film00\.txt:\d+: annotation without an image \(no images/outside\.jpg\)"):
        read_imfdb(root)
    assert not any("outside" in p for p in read_imfdb(root, skip_invalid=True).paths)
    afew = make_afew_va(tmp_path / "afew")
    save_image(tmp_path / "00000.png", np.zeros((8, 8, 3), np.uint8))
    edit_json(afew / "001" / "001.json", lambda doc: doc["frames"].update({"../../00000": doc["frames"]["00000"]}))
    with pytest.raises(ReaderError, match=r"frame \.\./\.\./00000: annotation without an image"):
        read_afew_va(afew)
    assert all(p.startswith(("0", "1", "2", "3", "4", "5", "6")) for p in read_afew_va(afew, skip_invalid=True).paths)
