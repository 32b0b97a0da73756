"""Property-based fuzzing of every parser of user input: dataset annotation files, label files, ``.npy`` values.

Each test draws a file (arbitrary text or bytes, or a near-valid file with some fields broken) into a small
tree with real images, runs the parser and checks one property: the input either parses into a valid result
(VA finite in ``[-1, 1]`` or NaN, class indices in range or -1, keys unique, lengths equal) or raises
:class:`levasa.errors.InputError` whose message names the file. Any other exception escaping is a failure.

Each input that once broke a parser is pinned with ``@example`` (hypothesis's draws are not uniform and seldom
reach some edge values), so it is re-run on every run. The draws are deterministic (``derandomize``, no example
database) and few, so the module stays fast on CI.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from levasa.annotation.files import read_annotations, read_labelled_csv
from levasa.annotation.labels import label_indices
from levasa.data.readers import read_afew_va, read_affectnet, read_fer2013, read_folder, read_imfdb, read_rafdb
from levasa.data.readers.affectnet import HEADER_2017
from levasa.data.readers.fer2013 import FER_FILE, FERPLUS_COLUMNS, FERPLUS_FILE, PIXELS, USAGES
from levasa.data.readers.imfdb import EXPRESSIONS
from levasa.data.readers.records import SPLITS, Records
from levasa.errors import InputError
from levasa.vocabulary import EMOTIONS
from tests.formats import AFFECTNET_HEADER, IMFDB_HEADER, landmark_template, save_image

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy overflow or invalid-value warnings fail


def fuzz(examples: int) -> settings:
    """Deterministic settings for a test drawing ``examples`` inputs (the trees are module fixtures)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ------------------------------------------------------------------------------------------------ the property


def parse_or_input_error(call, *names: str | Path):
    """``call()``'s result, or None when it raised :class:`InputError` naming one of ``names`` (a file, or the
    dataset root for whole-dataset errors); any other exception propagates and fails the test."""
    try:
        result = call()
    except InputError as err:
        message = str(err)
        assert any(str(name) in message for name in names), f"error names none of {names}: {message}"
        event("InputError")
        return None
    event("parsed")
    return result


def check_records(records: Records) -> None:
    """The invariants of every reader's output."""
    n = len(records)
    assert n > 0
    assert records.va.shape == (n, 2) and records.va.dtype == np.float32
    assert records.emotion.shape == (n,) and records.emotion.dtype == np.int64
    assert records.keys.shape == records.subject.shape == records.split.shape == (n,)
    known_va = np.isfinite(records.va).all(axis=1)
    assert (known_va | np.isnan(records.va).all(axis=1)).all(), "VA rows must be both known or both NaN"
    assert (np.abs(records.va[known_va]) <= 1).all()
    assert ((records.emotion >= -1) & (records.emotion < len(EMOTIONS))).all()
    assert (known_va | (records.emotion >= 0)).all(), "every row needs a label"
    assert len(set(records.keys.tolist())) == n and all(records.keys)
    assert set(records.split.tolist()) <= set(SPLITS)
    assert records.paths == sorted(records.paths)
    assert all((records.root / path).is_file() for path in records.paths)
    if records.boxes is not None:
        assert records.boxes.shape == (n, 4)
        has_box = np.isfinite(records.boxes).all(axis=1)
        assert (has_box | np.isnan(records.boxes).all(axis=1)).all()
        assert (records.boxes[has_box, 2:] > 0).all(), "a box needs a positive size"


# ------------------------------------------------------------------------------------------ shared strategies


NUMBER_WORDS = ["nan", "NaN", "inf", "-inf", "1e400", "-1e400", "", " ", "1_0", "0x10", "\u0663", "1e-400", "-0"]
TRICKY_NUMBERS = ["1e39", "-1e39", "3.5e38", "1e-50", "-1e-50", "1e308", "1" + "0" * 400, "9" * 5000]
"""Numbers as text that are finite in float64 but not in float32 (or 0 there), or past float64."""
HUGE_INTS = [2**1024, -(10**400), 10**4000]
"""Integers JSON reads exactly that no float holds (hypothesis does not draw them from a wide integer range)."""
TRICKY_FLOATS = [1e308, -1e308, 5e-324, 1e39, -1e39, 1e-40, 1e-50, 3.5e38]


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the ``(weight, strategy)`` choices, drawn more often the higher its weight (``st.one_of`` treats
    each alike, and the edge values that break parsers deserve more draws than hypothesis gives them)."""
    indices = [i for i, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(indices).flatmap(lambda i: choices[i][1])


def number_strings() -> st.SearchStrategy[str]:
    """Strings a numeric field may hold: numbers of every size, special values and junk."""
    return weighted(
        (1, st.floats(allow_nan=True, allow_infinity=True).map(repr)),
        (1, st.floats(-1.5, 1.5).map(lambda v: f"{v:.3f}")),
        (1, st.integers(-12, 12).map(str)),
        (3, st.sampled_from(TRICKY_NUMBERS)),
        (2, st.sampled_from(NUMBER_WORDS)),
        (1, st.text(max_size=6)),
    )


def few_edits() -> st.SearchStrategy[int]:
    """How many fields of a near-valid row to break: mostly none (hypothesis favours the first of a list)."""
    return st.sampled_from([0, 0, 0, 1, 1, 2])


def json_numbers() -> st.SearchStrategy[object]:
    """Numbers JSON can carry, as Python parses them: huge ints, NaN, infinities, bools."""
    return weighted(
        (1, st.integers(-12, 12)),
        (1, st.floats(-11, 11)),
        (2, st.sampled_from(HUGE_INTS)),
        (1, st.floats(allow_nan=True, allow_infinity=True)),
        (2, st.sampled_from([*TRICKY_FLOATS, True, False])),
    )


def json_values(max_leaves: int = 8) -> st.SearchStrategy[object]:
    """Arbitrary JSON values (objects keyed by short strings)."""
    scalars = st.one_of(st.none(), st.booleans(), json_numbers(), st.text(max_size=8))
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
        max_leaves=max_leaves,
    )


def broken_json_texts() -> st.SearchStrategy[str]:
    """Texts Python's JSON parser fails on in unusual ways: integers too long, nesting too deep, cut off."""
    return st.one_of(
        st.integers(4301, 6000).map(lambda n: '{"frames": {"00000": {"valence": ' + "1" * n + "}}}"),
        st.integers(4301, 6000).map(lambda n: '{"a": ' + "7" * n + "}"),
        st.sampled_from([50, 5000, 50000]).map(lambda n: '{"a": ' + "[" * n + "]" * n + "}"),
        st.sampled_from([5000, 50000]).map(lambda n: '{"a": ' + '{"b": ' * n + "1" + "}" * n + "}"),
        st.text(max_size=30),
    )


@st.composite
def encoded(draw, texts: st.SearchStrategy[str]) -> bytes:
    """A drawn text in a drawn encoding (a UTF-8 BOM, ISO-8859-1, UTF-16), or arbitrary bytes."""
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["utf-8-sig", "latin-1", "utf-16", "bytes"]))
    if encoding == "bytes":
        return draw(st.binary(max_size=120))
    return draw(texts).encode(encoding, errors="replace")


def write(path: Path, data: bytes | None) -> None:
    """Write ``data`` to ``path``, or remove ``path`` when ``data`` is None."""
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(data)


def pixels(side: int = 24) -> np.ndarray:
    return np.full((side, side, 3), 128, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------- IMFDB


IMFDB_NAMES = [
    "Film_1.jpg",
    "Film_2.JPG",
    "film_1.JPG",
    "Film_2.jpg",
    "Film_3.jpg",
    "sub/Film_1.jpg",
    "a\\b\\Film_2.JPG",
    ".jpg",
    "x.png",
    "Film_1.jpg.bak",
    "Film_1 .jpg",
]
IMFDB_WORDS = [*EXPRESSIONS, "happiness", " Anger ", "neutral", "JOY", "SURPRISED", "MALE", "", "straße"]


@pytest.fixture(scope="module")
def imfdb_root(tmp_path_factory) -> Path:
    """``ActorA/Film`` (images ``Film_1.jpg``, ``Film_2.JPG``; its annotation file is drawn) and ``ActorB/Other``,
    whose valid file names an image ``Film_1.jpg`` too (so keys collide across folders)."""
    root = tmp_path_factory.mktemp("imfdb")
    for name in ("Film_1.jpg", "Film_2.JPG"):
        save_image(root / "ActorA" / "Film" / "images" / name, pixels())
    save_image(root / "ActorB" / "Other" / "images" / "Film_1.jpg", pixels())
    (root / "ActorB" / "Other" / "Other.txt").write_text("Other\t1\tFilm_1.jpg\tSADNESS\n")
    return root


imfdb_fields = st.one_of(
    st.sampled_from(IMFDB_NAMES), st.sampled_from(IMFDB_WORDS), st.text(max_size=8), st.integers(0, 300).map(str)
)


@st.composite
def imfdb_near_valid_line(draw) -> str:
    """A line of 15-18 fields with an image name and an expression at (or near) the expected positions."""
    count = draw(st.sampled_from([17, 16, 15, 18]))
    fields = draw(st.lists(st.text(alphabet="ABCxyz019 ", max_size=5), min_size=count, max_size=count))
    image_at, word_at = (2, 11) if count != 16 else (1, 10)
    fields[draw(st.sampled_from([image_at, 0, count - 1]))] = draw(st.sampled_from(IMFDB_NAMES))
    fields[draw(st.sampled_from([word_at, 3, count - 2]))] = draw(st.sampled_from(IMFDB_WORDS))
    for _ in range(draw(st.integers(0, 2))):
        fields[draw(st.integers(0, count - 1))] = draw(imfdb_fields)
    return "\t".join(fields)


imfdb_lines = st.one_of(
    imfdb_near_valid_line(),
    st.lists(imfdb_fields, max_size=20).map("\t".join),
    st.text(max_size=40),
    st.just(IMFDB_HEADER),
)
imfdb_texts = st.builds(
    lambda lines, newline: newline.join(lines), st.lists(imfdb_lines, max_size=8), st.sampled_from(["\n", "\r\n", "\r"])
)


@fuzz(150)
@given(data=encoded(imfdb_texts), skip=st.booleans())
def test_imfdb_annotation_lines(imfdb_root, data, skip):
    txt = imfdb_root / "ActorA" / "Film" / "Film.txt"
    write(txt, data)
    records = parse_or_input_error(
        lambda: read_imfdb(imfdb_root, skip_invalid=skip), txt, txt.parent / "images", f"{imfdb_root}: no usable"
    )
    if records is not None:
        check_records(records)
        assert np.isnan(records.va).all() and (records.emotion >= 0).all()


# -------------------------------------------------------------------------------------------------- AFEW-VA


@pytest.fixture(scope="module")
def afew_root(tmp_path_factory) -> Path:
    """Clip ``001`` (frames ``00000.png``, ``00001.png``; its JSON is drawn) and clip ``002`` with a valid JSON."""
    root = tmp_path_factory.mktemp("afew")
    for clip in ("001", "002"):
        for frame in ("00000", "00001"):
            save_image(root / clip / f"{frame}.png", pixels(32))
    points = (landmark_template() * 16 + 8).tolist()
    frames = {f: {"valence": 3, "arousal": -2.0, "landmarks": points} for f in ("00000", "00001")}
    (root / "002" / "002.json").write_text(json.dumps({"actor": "a", "video_id": "002", "frames": frames}))
    return root


TRICKY_LANDMARKS = [
    [[2**1024, 0], [0, 1]],
    [[0, 0], [1, -(10**400)]],
    [[1e308, 0], [-1e308, 1]],
    [[0, 0], [5e-324, 0]],
    [[1e-300, 0], [0, 1e-300]],
    [[1e39, 0], [0, 1e39]],
    [[0, 0], [1e-44, 1e-44]],
    [[2, 2], [2, 2]],
    [],
    [[]],
    "[[1, 2]]",
    {"x": 1},
]
"""Landmarks whose box is infinite, beyond float32, smaller than a float32, empty; or of the wrong type."""


def landmark_values() -> st.SearchStrategy[object]:
    """Broken landmark lists: a bad point or value among good ones, flat, nested too deep, huge, spanning
    nothing, or any JSON."""
    point = st.tuples(st.floats(0, 100), st.floats(0, 100)).map(list)
    bad_value = st.one_of(json_numbers(), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=3))
    return weighted(
        (5, st.sampled_from(TRICKY_LANDMARKS)),
        (1, st.builds(lambda ps, v: [*ps, v], st.lists(point, max_size=4), bad_value)),
        (1, st.builds(lambda ps, v: [[v, 1.0], *ps], st.lists(point, max_size=3), bad_value)),
        (1, st.lists(st.floats(0, 100), max_size=6)),
        (1, st.lists(point, min_size=1, max_size=3).map(lambda ps: [ps])),
        (1, json_values(4)),
    )


@st.composite
def afew_frame(draw, edits: st.SearchStrategy[int] | None = None) -> object:
    """A valid frame entry (VA in [-10, 10], written as int or float, and landmarks) with a few values broken
    or a key missing."""
    va = st.integers(-10, 10) | st.integers(-10, 10).map(float) | st.floats(-10, 10)
    points = st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)).map(list), min_size=2, max_size=6)
    entry = {"valence": draw(va), "arousal": draw(va), "landmarks": draw(points)}
    junk = {"valence": json_numbers() | json_values(2), "arousal": json_numbers(), "landmarks": landmark_values()}
    for _ in range(draw(few_edits() if edits is None else edits)):
        key = draw(st.sampled_from(list(junk)))
        entry[key] = draw(junk[key])
    if draw(st.integers(0, 9)) == 0:
        del entry[draw(st.sampled_from(list(entry)))]
    return entry


@st.composite
def frame_entries(draw) -> tuple[str, object]:
    name = draw(st.sampled_from(["00000", "00001"] * 4 + ["00002", "0", "", "00000.png", "../002/00000", "text"]))
    if name == "text":
        name = draw(st.text(max_size=5))
    return name, draw(afew_frame() if draw(st.integers(0, 5)) else json_values(4))


@st.composite
def afew_documents(draw) -> str:
    shape = draw(st.sampled_from(["clip"] * 6 + ["frames list", "frames any", "any", "broken"]))
    if shape == "broken":
        return draw(broken_json_texts())
    frames = dict(draw(st.lists(frame_entries(), max_size=3)))
    document = {
        "clip": {"actor": "x", "video_id": "001", "frames": frames},
        "frames list": {"frames": list(frames.values())},
        "frames any": {"frames": draw(json_values(4))} if shape == "frames any" else None,
        "any": draw(json_values()) if shape == "any" else None,
    }[shape]
    text = json.dumps(document)
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


@fuzz(100)
@given(data=encoded(afew_documents()), skip=st.booleans())
@example(data=b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", skip=False)  # RecursionError
@example(data=b'{"frames": {"00000": {"valence": ' + b"1" * 4301 + b"}}}", skip=False)  # int of > 4300 digits
@example(data=b"\xff\xfe{\x00}\x00", skip=False)  # UTF-16
@example(data=b'\xef\xbb\xbf{"frames": {}}', skip=True)  # a UTF-8 BOM
def test_afew_va_clip_json(afew_root, data, skip):
    path = afew_root / "001" / "001.json"
    write(path, data)
    records = parse_or_input_error(lambda: read_afew_va(afew_root, skip_invalid=skip), path, afew_root / "001")
    if records is not None:
        check_records(records)
        assert np.isfinite(records.va).all() and (records.emotion == -1).all()
        assert records.boxes is not None and np.isfinite(records.boxes).all()


AFEW_POINTS = [[10, 10], [20, 25]]


@fuzz(100)
@given(entry=afew_frame(edits=st.just(1)), skip=st.booleans())
@example(entry={"valence": 10**400, "arousal": 0, "landmarks": AFEW_POINTS}, skip=False)  # isfinite overflows
@example(entry={"valence": 1, "arousal": 0, "landmarks": TRICKY_LANDMARKS[0]}, skip=False)  # a 2**1024 landmark
@example(entry={"valence": 1, "arousal": 0, "landmarks": [[1e308, 0], [-1e308, 1]]}, skip=False)  # infinite box
@example(entry={"valence": 1, "arousal": 0, "landmarks": [[1e39, 0], [0, 1e39]]}, skip=False)  # past float32
@example(entry={"valence": 1, "arousal": 0, "landmarks": [[0, 0], [5e-324, 0]]}, skip=False)  # 0 in float32
def test_afew_va_one_frame(afew_root, entry, skip):
    """One frame entry at a time (beside a valid one), so that each broken value meets an otherwise valid file."""
    path = afew_root / "001" / "001.json"
    valid = {"valence": 1, "arousal": 2, "landmarks": AFEW_POINTS}
    write(path, json.dumps({"frames": {"00000": entry, "00001": valid}}).encode())
    records = parse_or_input_error(lambda: read_afew_va(afew_root, skip_invalid=skip), path)
    if records is not None:
        check_records(records)
        assert records.boxes is not None and np.isfinite(records.boxes).all()


# ------------------------------------------------------------------------------------------------ AffectNet


AFFECTNET_IMAGES = ["1/a.jpg", "1/b.jpg", "2/c.jpg", "2/d.png"]
AFFECTNET_KEYS = ["1\\a.jpg", " 1/b.jpg ", "2/none.jpg", "", "1/a.jpg\x00", "/1/a.jpg", "1/"]
AFFECTNET_KEYS += ["a\x00b/c.jpg", "1\x00/a.jpg", "\x00/x.jpg"]  # a NUL in a folder name
LANDMARKS = ";".join(f"{v:.2f}" for v in (landmark_template() * 40 + 10).reshape(-1))


def affectnet_fields(**fields: str) -> list[str]:
    """A valid 2017 row (Happy, a 20x20 box, VA (0.5, 0.25)) with ``fields`` (named by the header) changed."""
    row = dict(zip(HEADER_2017, ["1/a.jpg", "4", "4", "20", "20", LANDMARKS, "1", "0.5", "0.25"], strict=True))
    return list((row | fields).values())


BAD_LANDMARKS = ["", LANDMARKS.rsplit(";", 1)[0], "x" + LANDMARKS, LANDMARKS.replace(";", ","), "1;" * 137]


@pytest.fixture(scope="module")
def affectnet2017_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("affectnet2017")
    (root / "Manually_Annotated_file_lists").mkdir()
    for key in AFFECTNET_IMAGES:
        save_image(root / "Manually_Annotated_Images" / key, pixels(64))
    return root


@st.composite
def affectnet_row(draw, edits: st.SearchStrategy[int] | None = None) -> list[str]:
    """A valid 9-column row (key, box, landmarks, code, valence, arousal) with a few fields broken, or a field
    dropped, added or the row cut short."""
    va = weighted((4, st.floats(-1, 1).map(lambda v: f"{v:.3f}")), (1, st.just("-2")))
    row = [
        draw(st.sampled_from(AFFECTNET_IMAGES)),
        *(draw(st.integers(0, 40).map(str)) for _ in range(2)),
        *(draw(st.integers(1, 40).map(str)) for _ in range(2)),
        LANDMARKS + draw(st.sampled_from(["", ";"])),
        draw(st.integers(0, 10).map(str)),
        draw(va),
        draw(va),
    ]
    box_junk = weighted((1, st.sampled_from(TRICKY_NUMBERS[:6])), (1, number_strings()))
    junk = [
        st.sampled_from(AFFECTNET_KEYS) | st.text(max_size=6),
        *[box_junk] * 4,
        st.sampled_from(BAD_LANDMARKS) | st.text(max_size=8),
        st.integers(-1, 12).map(str) | number_strings(),
        number_strings(),
        number_strings(),
    ]
    for _ in range(draw(few_edits() if edits is None else edits)):
        column = draw(st.integers(0, len(row) - 1))
        row[column] = draw(junk[column])
    if draw(st.integers(0, 3)) == 0:
        row[0] = draw(st.sampled_from(AFFECTNET_KEYS))
    edit = draw(st.sampled_from(["keep"] * 7 + ["drop", "append", "truncate"]))
    if edit == "drop":
        del row[draw(st.integers(0, len(row) - 1))]
    elif edit == "append":
        row.append(draw(st.text(max_size=4)))
    elif edit == "truncate":
        row = row[: draw(st.integers(0, len(row)))]
    return row


@st.composite
def affectnet_csv(draw) -> str:
    rows = draw(st.lists(affectnet_row() | st.lists(st.text(max_size=5), max_size=10), max_size=4))
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    header = draw(st.sampled_from(["", AFFECTNET_HEADER + "\n", ",".join(HEADER_2017[:3]) + "\n"]))
    tail = draw(st.sampled_from(["", "", "", "", '"unclosed,1,2', "x" * 140_000, "a\x00b,1\n"]))
    return header + out.getvalue() + tail


@fuzz(100)
@given(
    training=encoded(affectnet_csv()),
    validation=st.none() | encoded(affectnet_csv()),
    classes=st.sampled_from([7, 8]),
    require_va=st.booleans(),
    skip=st.booleans(),
)
@example(training=b"\x80", validation=None, classes=7, require_va=True, skip=False)  # not UTF-8
@example(training=b"x" * 140_000, validation=None, classes=7, require_va=True, skip=True)  # csv field limit
def test_affectnet2017_csv_rows(affectnet2017_root, training, validation, classes, require_va, skip):
    lists = affectnet2017_root / "Manually_Annotated_file_lists"
    write(lists / "training.csv", training)
    write(lists / "validation.csv", validation)
    check_affectnet2017(affectnet2017_root, classes, require_va, skip)


@fuzz(150)
@given(
    row=affectnet_row(edits=st.just(1)),
    header=st.booleans(),
    classes=st.sampled_from([7, 8]),
    require_va=st.booleans(),
    skip=st.booleans(),
)
@example(row=affectnet_fields(face_width="1e39"), header=False, classes=7, require_va=True, skip=False)
@example(row=affectnet_fields(face_x="-3.5e38"), header=False, classes=7, require_va=True, skip=False)
@example(row=affectnet_fields(face_height="1e-50"), header=False, classes=7, require_va=True, skip=False)
@example(row=affectnet_fields(subDirectory_filePath="1\x00/a.jpg"), header=True, classes=7, require_va=True, skip=False)
@example(row=affectnet_fields(valence="\udcff"), header=False, classes=7, require_va=True, skip=False)
def test_affectnet2017_one_row(affectnet2017_root, row, header, classes, require_va, skip):
    """One near-valid row at a time, so that each broken field meets an otherwise valid file."""
    lists = affectnet2017_root / "Manually_Annotated_file_lists"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    text = (AFFECTNET_HEADER + "\n") * header + out.getvalue()
    write(lists / "training.csv", text.encode("utf-8", "surrogateescape"))  # a lone surrogate: a non-UTF-8 byte
    write(lists / "validation.csv", None)
    check_affectnet2017(affectnet2017_root, classes, require_va, skip)


def check_affectnet2017(root: Path, classes: int, require_va: bool, skip: bool) -> None:
    lists = root / "Manually_Annotated_file_lists"
    records = parse_or_input_error(
        lambda: read_affectnet(root, classes=classes, require_va=require_va, skip_invalid=skip),
        lists / "training.csv",
        lists / "validation.csv",
        f"{root}: no usable",
    )
    if records is not None:
        check_records(records)
        assert ((records.emotion >= 0) & (records.emotion < classes)).all()
        assert records.boxes is not None and np.isfinite(records.boxes).all()
        if require_va:
            assert np.isfinite(records.va).all()


@pytest.fixture(scope="module")
def affectnet2021_root(tmp_path_factory) -> Path:
    """``train_set`` with images ``0.jpg`` (annotations drawn) and ``1.jpg`` (valid string annotations)."""
    root = tmp_path_factory.mktemp("affectnet2021")
    for face_id in ("0", "1"):
        save_image(root / "train_set" / "images" / f"{face_id}.jpg", pixels())
    annotations = root / "train_set" / "annotations"
    annotations.mkdir()
    for kind, value in (("exp", "3"), ("val", "0.25"), ("aro", "-0.5")):
        np.save(annotations / f"1_{kind}.npy", np.array(value))
    return root


def npy_header(descr: str, shape: str = "()") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - len(header) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


scalar_values = st.one_of(
    st.integers(-3, 12),
    st.floats(-2, 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-2, -2.0, 1.5, 10**30, True, False, 1 + 2j, b"1", b"\xff\xfe", None]),
    number_strings(),
)


def npy_arrays() -> st.SearchStrategy[np.ndarray]:
    """0-d arrays of a drawn value (as AffectNet's loader would make them, or in another dtype), strings of
    numbers, object arrays (pickled), arrays of other shapes, and anything numpy's own strategies make."""
    return st.one_of(
        scalar_values.map(lambda v: np.array(v)),
        scalar_values.map(lambda v: np.array(str(v))),
        scalar_values.map(lambda v: np.array(v, dtype=object)),
        st.lists(st.integers(0, 9), max_size=3).map(np.array),
        npst.arrays(
            npst.scalar_dtypes() | npst.unicode_string_dtypes() | npst.byte_string_dtypes(),
            npst.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2),
        ),
    )


def npy_files() -> st.SearchStrategy[bytes | None]:
    """A ``.npy`` file's bytes: a saved array, cut short or with junk appended, hand-made headers with odd dtypes
    or shapes, a zip or pickle, arbitrary bytes; None: no file."""
    saved = npy_arrays().map(npy_bytes)
    odd = st.builds(
        lambda descr, shape, data: npy_header(descr, shape) + data,
        st.sampled_from(["<x9", "<i3", "<U0", "|b1", "<f8", "<c16", "|V4", "<M8[s]", "|O", "<f2", ">i8", "|S0"]),
        st.sampled_from(["()", "(1,)", "(0,)", "(2, 3)", "(-1,)", "(10000000000000,)", "(1", "'x'"]),
        st.binary(max_size=20),
    )
    return st.one_of(
        st.none(),
        saved,
        st.builds(lambda data, cut: data[:cut], saved, st.integers(0, 200)),
        st.builds(lambda data, junk: data + junk, saved, st.binary(min_size=1, max_size=8)),
        odd,
        st.sampled_from([b"PK\x03\x04" + b"\x00" * 30, b"\x80\x04K\x01.", b"\x93NUMPY", b"\x93NUMPY\x09\x00xx", b""]),
        st.binary(max_size=64),
    )


NPY_EDGE_CASES = {
    "zip": b"PK\x03\x04" + b"\x00" * 30,  # np.load opens it as an .npz: BadZipFile
    "unknown dtype": npy_header("<x9") + b"1234",  # TypeError
    "broken shape": npy_header("<f8", "(1") + bytes(8),  # tokenize.TokenError
    "huge shape": npy_header("<f8", "(10000000000000,)") + bytes(8),  # MemoryError (73 TiB)
    "datetime": npy_bytes(np.array(np.datetime64("2020-01-01", "ns"))),  # read as the number 1.6e18
}


@fuzz(150)
@given(exp=npy_files(), val=npy_files(), aro=npy_files(), require_va=st.booleans(), skip=st.booleans())
@example(exp=NPY_EDGE_CASES["zip"], val=None, aro=None, require_va=False, skip=False)
@example(exp=NPY_EDGE_CASES["unknown dtype"], val=None, aro=None, require_va=False, skip=False)
@example(exp=npy_bytes(np.array("1")), val=NPY_EDGE_CASES["broken shape"], aro=None, require_va=False, skip=False)
@example(exp=NPY_EDGE_CASES["huge shape"], val=None, aro=None, require_va=False, skip=False)
@example(exp=NPY_EDGE_CASES["datetime"], val=None, aro=None, require_va=False, skip=False)
def test_affectnet2021_npy_values(affectnet2021_root, exp, val, aro, require_va, skip):
    annotations = affectnet2021_root / "train_set" / "annotations"
    for kind, data in (("exp", exp), ("val", val), ("aro", aro)):
        write(annotations / f"0_{kind}.npy", data)
    records = parse_or_input_error(
        lambda: read_affectnet(affectnet2021_root, require_va=require_va, skip_invalid=skip),
        annotations,
        affectnet2021_root / "train_set" / "images",
    )
    if records is not None:
        check_records(records)
        assert records.keys.tolist()[-1] == "train_set/1" and records.emotion[-1] == 3


# ------------------------------------------------------------------------- label files (transfer.py, folder)


FOLDER_IMAGES = ["p0/a.jpg", "p0/c.jpg", "p1/b.png", "p1/c.jpg"]
LABEL_KEYS = ["./p0/a.jpg", "p0\\a.jpg", " p0/a.jpg", "missing.jpg", "", "a\x00", "key", "p1/", "a.jpg", "c.jpg"]
"""Keys that are near a relative path, a bare file name (``a.jpg`` names one image, ``c.jpg`` two), or neither."""
LABEL_WORDS = [*EMOTIONS, "HAPPINESS", "angry", " sad ", "7", "joy"]
BAD_WORDS = ["8", "-1", "x", "", "Happy\x00", "NEUTRAL "]
SCALES = [1.0, 1.0, 1.0, 10.0, 10.0, 0.5, 100, 0.0, -1.0, math.nan, math.inf, 1e-320, "10", None, True]


@st.composite
def label_pairs(draw) -> tuple[list[tuple[str, object]], str]:
    """Near-valid (key, value) pairs of one kind ("label", or "va" with values in [-1, 1] or [-10, 10]), a few
    keys or values broken; and the kind."""
    kind = draw(st.sampled_from(["label", "va", "va10"]))
    keys = draw(st.permutations(FOLDER_IMAGES))[: draw(st.sampled_from([3, 3, 2, 1]))]
    if kind == "label":
        values = [draw(st.sampled_from(LABEL_WORDS) | st.integers(0, 7)) for _ in keys]
    else:
        bound = 1 if kind == "va" else 10
        values = [draw(st.lists(st.floats(-bound, bound), min_size=2, max_size=2)) for _ in keys]
    for _ in range(draw(few_edits())):
        i = draw(st.integers(0, len(keys) - 1))
        if draw(st.booleans()):
            keys[i] = draw(st.sampled_from(LABEL_KEYS) | st.text(max_size=5))
        else:
            values[i] = draw(label_junk(kind))
    return list(zip(keys, values, strict=True)), kind


def label_junk(kind: str) -> st.SearchStrategy[object]:
    """A broken value for a file of ``kind``: an unknown label; a pair with a huge, non-finite, boolean or text
    value; a list of another length; any JSON."""
    if kind == "label":
        return st.sampled_from(BAD_WORDS) | st.integers(-2, 9) | json_values(2)
    return weighted(
        (3, st.tuples(json_numbers(), json_numbers()).map(list)),
        (1, st.lists(json_numbers() | st.text(max_size=3), max_size=3)),
        (1, json_values(2)),
    )


def pairs_json(pairs: list[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs) + "}"


def pairs_csv(pairs: list[tuple[str, object]]) -> str:
    out = io.StringIO()
    rows = [[key, *(value if isinstance(value, list) else [value])] for key, value in pairs]
    csv.writer(out, lineterminator="\n").writerows([[str(cell) for cell in row] for row in rows])
    return out.getvalue()


@st.composite
def label_json(draw) -> str:
    pairs, _ = draw(label_pairs())
    near_valid = pairs_json(pairs)
    source = draw(st.sampled_from(["near-valid"] * 4 + ["any JSON", "broken"]))
    if source == "near-valid":
        document = near_valid
    else:
        document = draw(json_values().map(json.dumps) if source == "any JSON" else broken_json_texts())
    if draw(st.integers(0, 9)) == 0:
        document = document[: draw(st.integers(0, len(document)))]
    return document


@st.composite
def label_csv(draw) -> str:
    pairs, kind = draw(label_pairs())
    if draw(st.integers(0, 4)) == 0:
        extra = draw(st.lists(st.lists(number_strings(), min_size=1, max_size=4), max_size=2))
        pairs += [(row[0], row[1:]) for row in extra]
    named = "image,label\n" if kind == "label" else "file,valence,arousal\n"
    header = draw(st.sampled_from(["", "key,label\n" if kind == "label" else "key,valence,arousal\n", "KEY\n", named]))
    tail = draw(st.sampled_from(["", "", "", "", '"unclosed,1', "y" * 140_000, "a\x00,Happy\n"]))
    return header + pairs_csv(pairs) + tail


def check_annotations(annotations) -> None:
    n = len(annotations.keys)
    assert n > 0 and len(set(annotations.keys.tolist())) == n
    assert (annotations.labels is None) != (annotations.va is None)
    if annotations.labels is not None:
        assert annotations.labels.shape == (n,)
    else:
        assert annotations.va.shape == (n, 2)
        assert np.isfinite(annotations.va).all() and (np.abs(annotations.va) <= 1).all()


@pytest.fixture(scope="module")
def label_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("labels")


@fuzz(100)
@given(
    suffix=st.sampled_from([".json", ".csv"]),
    json_data=encoded(label_json()),
    csv_data=encoded(label_csv()),
    scale=st.sampled_from(SCALES),
)
@example(suffix=".json", json_data=b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", csv_data=b"", scale=1.0)
@example(suffix=".json", json_data=b'{"a": ' + b"7" * 4301 + b"}", csv_data=b"", scale=1.0)
@example(suffix=".json", json_data=b"\xff\xfe{\x00}\x00", csv_data=b"", scale=1.0)
@example(suffix=".csv", json_data=b"", csv_data=b"y" * 140_000, scale=1.0)
@example(suffix=".csv", json_data=b"", csv_data=b"\xef\xbb\xbfkey,label\np0/a.jpg,happy\n", scale=1.0)
@example(suffix=".json", json_data=b'{"a": [0.5, 0.5]}', csv_data=b"", scale="10")
@example(suffix=".json", json_data=b'{"a": [0.5, 0.5]}', csv_data=b"", scale=math.inf)
def test_transfer_annotation_files(label_dir, suffix, json_data, csv_data, scale):
    path = label_dir / f"input{suffix}"
    write(path, json_data if suffix == ".json" else csv_data)
    annotations = parse_or_input_error(lambda: read_annotations(path, input_scale=scale), path)
    if annotations is not None:
        check_annotations(annotations)
        assert annotations.path == path


@st.composite
def one_broken_value(draw) -> tuple[list[tuple[str, object]], str]:
    pairs, kind = draw(label_pairs())
    i = draw(st.integers(0, len(pairs) - 1))
    pairs[i] = (pairs[i][0], draw(label_junk(kind)))
    return pairs, kind


@fuzz(100)
@given(broken=one_broken_value(), suffix=st.sampled_from([".json", ".csv"]))
@example(broken=([("p0/a.jpg", [0.5, 0.5]), ("p1/b.png", [2**1024, 0])], "va"), suffix=".json")  # OverflowError
@example(broken=([("p0/a.jpg", [True, False])], "va"), suffix=".json")  # booleans as VA
def test_transfer_one_value(label_dir, broken, suffix):
    """One broken value at a time in an otherwise valid file (at the scale its values need)."""
    pairs, kind = broken
    path = label_dir / f"one{suffix}"
    write(path, (pairs_json(pairs) if suffix == ".json" else pairs_csv(pairs)).encode())
    scale = 10.0 if kind == "va10" else 1.0
    annotations = parse_or_input_error(lambda: read_annotations(path, input_scale=scale), path)
    if annotations is not None:
        check_annotations(annotations)


LABELLED_HEADERS = [
    "key,label,valence,arousal",
    "key,label,valence,arousal,subject",
    AFFECTNET_HEADER,
    "key,emotion,valence",
    "",
]


@st.composite
def labelled_csv(draw) -> str:
    """Rows of the header's width with a valid cell in each column, a few broken; sometimes a cell more or less."""
    names = draw(st.sampled_from(LABELLED_HEADERS)).split(",")
    va = st.floats(-1, 1).map(lambda v: f"{v:.3f}") | st.sampled_from(["-2", "1", "-1.0"])
    label = st.sampled_from(LABEL_WORDS) | st.integers(0, 10).map(str)
    cells = {"valence": va, "arousal": va, "expression": label, "label": label, "emotion": label}
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(cells.get(name, st.text(alphabet="abc/._", max_size=6))) for name in names]
        for _ in range(draw(few_edits())):
            row[draw(st.integers(0, len(row) - 1))] = draw(number_strings() | st.sampled_from(BAD_WORDS))
        edit = draw(st.sampled_from(["keep"] * 8 + ["drop", "append"]))
        if edit == "drop":
            row = row[:-1]
        elif edit == "append":
            row.append("x")
        rows.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return ",".join(names) + "\n" + out.getvalue()


@fuzz(100)
@given(data=encoded(labelled_csv()), scale=st.sampled_from(SCALES))
@example(data=b"key,label,valence,arousal\nk,Neutral,0.5,1\n", scale=1e-320)  # overflow dividing by the scale
@example(data="key,label,valence,arousal\n".encode("utf-16"), scale=1.0)
def test_evaluate_labelled_csv(label_dir, data, scale):
    path = label_dir / "labelled.csv"
    write(path, data)
    result = parse_or_input_error(lambda: read_labelled_csv(path, input_scale=scale), path)
    if result is not None:
        va, emotion, subject = result
        assert len(va) == len(emotion) == len(subject) and va.shape[1:] == (2,)
        assert np.isfinite(va).all() and (np.abs(va) <= 1).all()
        assert ((emotion >= 0) & (emotion < len(EMOTIONS))).all()


@fuzz(100)
@given(labels=st.lists(st.sampled_from(LABEL_WORDS) | st.text(max_size=6), max_size=6), skip=st.booleans())
@example(labels=[], skip=False)
def test_label_names(labels, skip):
    keys = [f"k{i}" for i in range(len(labels))]
    result = parse_or_input_error(lambda: label_indices(labels, keys, source="labels.txt", skip=skip), "labels.txt")
    if result is not None:
        codes, keep = result
        assert keep.shape == (len(labels),) and codes.shape == (keep.sum(),)
        assert ((codes >= 0) & (codes < len(EMOTIONS))).all()
        assert skip or keep.all()


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    for key in FOLDER_IMAGES:
        save_image(root / key, pixels())
    return root


@fuzz(75)
@given(
    suffix=st.sampled_from([".json", ".csv"]),
    json_data=encoded(label_json()),
    csv_data=encoded(label_csv()),
    scale=st.sampled_from(SCALES),
    depth=st.integers(0, 2),
    skip=st.booleans(),
)
@example(suffix=".csv", json_data=b"", csv_data=b"\xff\xfe", scale=1.0, depth=0, skip=False)
@example(suffix=".csv", json_data=b"", csv_data=b"y" * 140_000, scale=1.0, depth=0, skip=False)
@example(suffix=".json", json_data=b'{"p0/a.jpg": "happy"}', csv_data=b"", scale="10", depth=0, skip=True)
@example(suffix=".csv", json_data=b"", csv_data=b"image,label\nc.jpg,happy\na.jpg,sad\n", scale=1, depth=1, skip=True)
@example(suffix=".csv", json_data=b"", csv_data=b"image,label\nc.jpg,happy\n", scale=1.0, depth=0, skip=False)
def test_folder_label_file(folder_root, suffix, json_data, csv_data, scale, depth, skip):
    for name in ("labels.json", "labels.csv"):
        (folder_root / name).unlink(missing_ok=True)
    path = folder_root / f"labels{suffix}"
    write(path, json_data if suffix == ".json" else csv_data)
    records = parse_or_input_error(
        lambda: read_folder(folder_root, input_scale=scale, subject_depth=depth, skip_invalid=skip),
        path,
        *(folder_root / key for key in FOLDER_IMAGES),
        f"{folder_root}: no usable",
    )
    if records is not None:
        check_records(records)
        assert set(records.paths) <= set(FOLDER_IMAGES) and "c.jpg" not in records.keys
        assert set(records.keys.tolist()) <= {*FOLDER_IMAGES, "a.jpg"}


# -------------------------------------------------------------------------------------------- FER2013, FER+


FER_PIXELS = ["128"] * PIXELS
PIXEL_JUNK = ["256", "-1", "3.5", "1e2", "", "0x1", "\u0663", "1_0", "0255", "9" * 5000, "\t", "nan", "+1", "١٢"]
FER_CODES_DRAWN = [*map(str, range(7)), "7", "-1", " 3 ", "03", "", "x", "1.0", "\u0663", "9" * 5000]
FER_USAGES_DRAWN = [*USAGES, "training", " Training ", "Validation", "", "PublicTest\x00"]
FER_HEADERS = ["emotion,pixels,Usage"] * 6 + [" Emotion,PIXELS , usage", "emotion,pixels", "", "emotion,pixels,Usage,x"]
FERPLUS_HEADERS = [",".join(["Usage", "Image name", *FERPLUS_COLUMNS])] * 6 + ["Usage,Image name,neutral", ""]


@pytest.fixture(scope="module")
def fer_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fer2013")


@st.composite
def fer_pixels(draw) -> str:
    """A valid pixel field with a few values broken, dropped or added, or its spacing changed; or junk."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.text(max_size=10))
    values = list(FER_PIXELS)
    for _ in range(draw(st.sampled_from([0] * 6 + [1, 2]))):
        edit = draw(st.sampled_from(["junk", "drop", "add"]))
        at = draw(st.integers(0, len(values) - 1))
        if edit == "junk":
            values[at] = draw(st.sampled_from(PIXEL_JUNK) | st.integers(0, 300).map(str))
        elif edit == "drop":
            del values[at]
        else:
            values.insert(at, draw(st.integers(0, 255).map(str)))
    sep = draw(st.sampled_from([" "] * 12 + ["  ", "\t"]))
    return draw(st.sampled_from(["", " "])) + sep.join(values) + draw(st.sampled_from(["", " ", "\n"]))


@st.composite
def fer_row(draw) -> list[str]:
    """``emotion,pixels,Usage``, mostly valid, a field sometimes dropped or added."""
    code = weighted((8, st.integers(0, 6).map(str)), (1, st.sampled_from(FER_CODES_DRAWN)))
    usage = weighted((8, st.sampled_from(list(USAGES))), (1, st.sampled_from(FER_USAGES_DRAWN)))
    row = [draw(code), draw(fer_pixels()), draw(usage)]
    edit = draw(st.sampled_from(["keep"] * 16 + ["drop", "append"]))
    if edit == "drop":
        del row[draw(st.integers(0, 2))]
    elif edit == "append":
        row.append(draw(st.text(max_size=3)))
    return row


def csv_text(header: str, rows: list[list[str]], newline: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return (header + newline if header else "") + out.getvalue()


@st.composite
def fer_files(draw) -> tuple[str, str | None]:
    """``fer2013.csv`` and (or not) ``fer2013new.csv``, about as many FER+ rows as FER rows, with their Usage."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    rows = draw(st.lists(fer_row(), min_size=1, max_size=4))
    fer = csv_text(draw(st.sampled_from(FER_HEADERS)), rows, newline)
    if draw(st.integers(0, 4)) == 0:
        return fer, None
    vote = weighted((40, st.integers(0, 10).map(str)), (1, st.sampled_from(["", "-1", "1.0", "9" * 5000, "x"])))
    plus = []
    count = len(rows) + draw(st.sampled_from([0] * 10 + [-1, 1]))
    for row in rows[:count] + [["Training"]] * (count - len(rows)):
        usage = row[-1] if draw(st.integers(0, 15)) else draw(st.sampled_from(FER_USAGES_DRAWN))
        name = draw(st.sampled_from(["fer0000000.png"] * 6 + ["", " "]))
        fields = [usage, name, *(draw(vote) for _ in FERPLUS_COLUMNS)]
        plus.append(fields[: draw(st.sampled_from([12] * 20 + [11]))] + [""] * draw(st.sampled_from([0] * 20 + [1])))
    return fer, csv_text(draw(st.sampled_from(FERPLUS_HEADERS)), plus, newline)


@fuzz(120)
@given(
    files=fer_files(),
    encoding=st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16"]),
    labels=st.sampled_from(["fer", "ferplus"]),
    classes=st.sampled_from([7, 8]),
    skip=st.booleans(),
)
@example(files=("\x80", None), encoding="latin-1", labels="fer", classes=7, skip=False)  # not UTF-8
@example(files=("emotion,pixels,Usage\n" + "x" * 140_000, None), encoding="utf-8", labels="fer", classes=7, skip=True)
@example(
    files=("emotion,pixels,Usage\n3," + " ".join(FER_PIXELS) + ",Training\n", "Usage,Image name\n"),
    encoding="utf-8",
    labels="ferplus",
    classes=7,
    skip=False,
)
def test_fer2013_csv_files(fer_root, files, encoding, labels, classes, skip):
    fer, plus = files
    write(fer_root / FER_FILE, fer.encode(encoding, errors="replace"))
    write(fer_root / FERPLUS_FILE, None if plus is None else plus.encode(encoding, errors="replace"))
    records = parse_or_input_error(
        lambda: read_fer2013(fer_root, labels=labels, classes=classes, skip_invalid=skip),
        fer_root / FER_FILE,
        fer_root / FERPLUS_FILE,
        f"{fer_root}: no usable",
        f"{fer_root}: no {FERPLUS_FILE}",
    )
    if records is not None:
        check_records(records)
        assert records.pixels.shape == (len(records), 48, 48) and records.pixels.dtype == np.uint8
        assert set(records.split.tolist()) <= {"train", "val", "test"} and np.isnan(records.va).all()
        assert ((records.emotion >= 0) & (records.emotion < (classes if labels == "ferplus" else 7))).all()


# --------------------------------------------------------------------------------------------------- RAF-DB


RAF_IMAGES = ["train_00001.jpg", "train_00002.jpg", "test_0001.jpg"]
RAF_NAMES = [*RAF_IMAGES, "train_00003.jpg", "val_00001.jpg", "train_.jpg", "train_00001.JPG", "train_00001"]
RAF_NAMES += ["../train_00001.jpg", "basic/train_00001.jpg", "train_00001.jpg\x00", "train_00001_aligned.jpg"]
RAF_CODES_DRAWN = [*map(str, range(1, 8)), "0", "8", "-1", "\u0663", "", "4.0", "9" * 5000]


@pytest.fixture(scope="module")
def rafdb_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rafdb")
    for name in RAF_IMAGES:
        save_image(root / "basic" / "Image" / "aligned" / name.replace(".jpg", "_aligned.jpg"), pixels())
        save_image(root / "basic" / "Image" / "original" / name, pixels(32))
    (root / "basic" / "EmoLabel").mkdir()
    return root


rafdb_lines = st.one_of(
    st.builds(
        lambda name, sep, code: f"{name}{sep}{code}",
        st.sampled_from(RAF_NAMES),
        st.sampled_from([" "] * 4 + ["\t", "  ", ""]),
        st.sampled_from(RAF_CODES_DRAWN),
    ),
    st.lists(st.sampled_from(RAF_NAMES) | st.text(max_size=5), max_size=4).map(" ".join),
    st.text(max_size=20),
)


@st.composite
def rafdb_texts(draw) -> str:
    """A label file naming each image once with a valid code, with a few lines replaced, dropped or added."""
    lines = [f"{name} {draw(st.integers(1, 7))}" for name in draw(st.permutations(RAF_IMAGES))]
    for _ in range(draw(few_edits())):
        at = draw(st.integers(0, len(lines)))
        edit = draw(st.sampled_from(["replace", "drop", "add"]))
        if edit == "add" or at == len(lines):
            lines.insert(at, draw(rafdb_lines))
        elif edit == "drop":
            del lines[at]
        else:
            lines[at] = draw(rafdb_lines)
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines) + draw(st.sampled_from(["", "\n"]))


@fuzz(120)
@given(data=encoded(rafdb_texts()), images=st.sampled_from(["aligned", "original"]), skip=st.booleans())
@example(data=b"train_00001.jpg " + b"9" * 5000, images="aligned", skip=False)
def test_rafdb_label_lines(rafdb_root, data, images, skip):
    path = rafdb_root / "basic" / "EmoLabel" / "list_patition_label.txt"
    write(path, data)
    folder = rafdb_root / "basic" / "Image" / images
    records = parse_or_input_error(
        lambda: read_rafdb(rafdb_root, images=images, skip_invalid=skip),
        path,
        *(folder / name for name in os.listdir(folder)),
        f"{rafdb_root}: no usable",
    )
    if records is not None:
        check_records(records)
        assert set(records.keys.tolist()) <= set(RAF_IMAGES) and np.isnan(records.va).all()
        assert ((records.emotion >= 0) & (records.emotion < 7)).all() and set(records.split.tolist()) <= {
            "train",
            "test",
        }
