"""The layouts researchers already have, read by ``data=folder`` (issue 17): one folder per class (with nested
train/test folders), a label file of bare file names beside ``images/``, subjects and classes taken from file
names by patterns (CK+'s ``S005_001_00000011.png``, JAFFE's ``KA.HA1.29.tiff``), uncropped photos whose faces
a detector finds (``data.reader.detect_faces``); and AFEW-VA split by actor.

Each tree is built here in exactly its shape (32x32 faces), read, split, trained on with ``fast_dev_run``; one
short run is evaluated from its own saved config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from PIL import Image

from levasa.data.cache import CropSettings, cache_key, load_or_build
from levasa.data.images import UPRIGHT, ImageError, crop_square
from levasa.data.readers import ReaderError, read_afew_va, read_folder
from levasa.jobs.evaluation import evaluate
from levasa.jobs.training import train
from levasa.models import keys
from levasa.vocabulary import EMOTIONS
from tests.formats import class_va, edit_json, face, make_afew_va, save_image
from tests.helpers import compose_config
from tests.test_realdata import config

SIDE = 32
CLASS_FOLDERS = {"neutral": 0, "Happy": 1, "SADNESS": 2, "surprised": 3, "fearful": 4, "disgust": 5, "angry": 6}
"""Class folder names as datasets spell them, and the class each is."""
JAFFE_CODES = {
    "NE": "Neutral",
    "HA": "Happy",
    "SA": "Sad",
    "SU": "Surprise",
    "FE": "Fear",
    "DI": "Disgust",
    "AN": "Anger",
}
JAFFE_PEOPLE = ("KA", "KL", "KM", "KR", "MK", "NA", "NM", "TM", "UY", "YM")
JAFFE = [
    f"data.reader.label_map={{{','.join(f'{code}:{name}' for code, name in JAFFE_CODES.items())}}}",
    r"data.reader.label_pattern='^[A-Z]{2}\.([A-Z]{2})\d'",
    r"data.reader.subject_pattern='^(?P<subject>[A-Z]{2})\.'",
]
"""The overrides that read JAFFE's file names (documented in data/README.md)."""
CK_SUBJECT = r"data.reader.subject_pattern='(S\d{3})_\d{3}_'"
EVAL_SHORT = [
    "probes.max_train=200",
    "probes.max_figure=16",
    "probes.classifier=linear",
    "sections.generation=null",
    "sections.structure=null",
    "sections.disentanglement=null",
    "sections.va_regression=null",
]
"""An evaluation without the sections that train models of their own (test_evaluate covers those)."""


def write_face(path: Path, code: int, rng: np.random.Generator, grey: bool = False) -> None:
    """A 32x32 synthetic face of class ``code`` at ``path`` (8-bit grey when ``grey``, as JAFFE's TIFFs)."""
    pixels = face(class_va(code, rng), SIDE, rng)
    if grey:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).convert("L").save(path)
    else:
        save_image(path, pixels)


def make_class_splits(root: Path, per_class: dict[str, int] | None = None, seed: int = 0) -> Path:
    """``<root>/{train,test}/<class>/img<i>.png``: ImageFolder trees with the official split as folders."""
    rng = np.random.default_rng(seed)
    for split, n in (per_class or {"train": 4, "test": 2}).items():
        for name, code in CLASS_FOLDERS.items():
            for i in range(n):
                write_face(root / split / name / f"img{i}.png", code, rng)
    return root


def make_bare_labels(root: Path, n: int = 28, seed: int = 0) -> Path:
    """``<root>/images/<name>.jpg`` and ``<root>/labels.csv`` (header ``image,label``) keyed by bare file names."""
    rng = np.random.default_rng(seed)
    lines = ["image,label"]
    for i in range(n):
        code = i % 7
        write_face(root / "images" / f"{i:04d}.jpg", code, rng)
        lines.append(f"{i:04d}.jpg,{EMOTIONS[code].lower()}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


def make_ck_like(root: Path, people: int = 10, seed: int = 0) -> Path:
    """``<root>/<class>/S<nnn>_<sequence>_<frame>.png``: class folders, the person only in the file name."""
    rng = np.random.default_rng(seed)
    names = list(CLASS_FOLDERS)
    for p in range(people):
        for sequence in range(1, 5):  # four expressions per person, two frames each
            name = names[(p + sequence) % len(names)]
            code = CLASS_FOLDERS[name]
            for frame in (9, 11):
                write_face(root / name / f"S{5 + 7 * p:03d}_{sequence:03d}_{frame:08d}.png", code, rng)
    return root


def make_jaffe(root: Path, seed: int = 0) -> Path:
    """JAFFE: ``<root>/<person>.<code><n>.<id>.tiff`` grey images, ten people, two of each of the seven codes."""
    rng = np.random.default_rng(seed)
    number = 1
    for person in JAFFE_PEOPLE:
        for code, name in JAFFE_CODES.items():
            for take in (1, 2):
                write_face(root / f"{person}.{code}{take}.{number}.tiff", EMOTIONS.index(name), rng, grey=True)
                number += 1
    return root


LAYOUTS = {
    "class_splits": (make_class_splits, []),
    "bare_labels": (make_bare_labels, []),
    "ck_like": (make_ck_like, [CK_SUBJECT]),
    "jaffe": (make_jaffe, JAFFE),
}
FACES = {"class_splits": 42, "bare_labels": 28, "ck_like": 80, "jaffe": 140}


def module(tmp_path: Path, layout: str, *overrides: str):
    make, options = LAYOUTS[layout]
    data = instantiate(config(tmp_path, "folder", make(tmp_path / layout), *options, *overrides).data)
    data.setup("fit")
    return data


# ------------------------------------------------------------------------------------------ training and splits


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_fast_dev_run_on_each_folder_layout(tmp_path: Path, layout: str) -> None:
    make, options = LAYOUTS[layout]
    cfg = config(tmp_path, "folder", make(tmp_path / layout), *options, "trainer.fast_dev_run=true")
    metrics = train(cfg)
    assert np.isfinite(metrics["val/loss"]) and np.isfinite(metrics[keys.CCC_V])
    (cache,) = (tmp_path / "data" / "cache").iterdir()
    index = json.loads((cache / "index.json").read_text())
    assert (index["source"], index["n"], index["n_invalid"]) == ("folder", FACES[layout], 0)


def test_class_folders_give_the_classes_and_the_official_split(tmp_path: Path) -> None:
    records = read_folder(make_class_splits(tmp_path / "tree"))
    assert len(records) == 42 and records.skipped == {}
    for path, emotion, split in zip(records.paths, records.emotion, records.split, strict=True):
        top, name, _ = path.split("/")
        assert emotion == CLASS_FOLDERS[name] and split == top
    data = module(tmp_path, "class_splits")
    sizes = {name: len(ds) for name, ds in data.datasets.items()}
    assert sizes["test"] == 14 and sizes["train"] + sizes["val"] == 28 and sizes["val"] >= 1  # val carved from train
    assert not np.isnan(data.datasets["train"].va.numpy()).any(), "VA transferred from the folder classes"


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ({"train": 2, "val": 1, "test": 1}, {"train": 14, "val": 7, "test": 7}),
        ({"Training": 3, "Validation": 1}, {"train": 21, "val": 0, "test": 7}),  # val is the test split
        ({"train": 2}, {"": 14}),  # no held-out folder: a seeded split
    ],
)
def test_nested_split_folders(tmp_path: Path, folders: dict[str, int], expected: dict[str, int]) -> None:
    records = read_folder(make_class_splits(tmp_path / "tree", folders))
    assert {name: int((records.split == name).sum()) for name in expected} == expected
    assert (read_folder(tmp_path / "tree", split_folders=False).split == "").all()


def test_flat_class_folders_at_any_depth_with_subject_folders(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for person in ("ann", "bob", "cid"):
        for name in ("Happy", "angry", "3"):  # a code 0-7 names a class too (3: Surprise)
            write_face(tmp_path / "t" / name / person / "take1" / "a.png", 0, rng)
    records = read_folder(tmp_path / "t", subject_depth=1)
    assert (records.split == "").all() and records.keys.tolist() == records.paths
    assert set(records.subject.tolist()) == {"ann", "bob", "cid"}  # the folder below the class folder
    assert sorted(set(records.emotion.tolist())) == [1, 3, 6]


def test_bare_file_names_in_a_label_file_match_unique_images(tmp_path: Path) -> None:
    root = make_bare_labels(tmp_path / "set", n=14)
    records = read_folder(root)
    assert len(records) == 14 and records.paths[0] == "images/0000.jpg" and records.keys[0] == "0000.jpg"
    assert (records.emotion == np.arange(14) % 7).all()
    lines = (root / "labels.csv").read_text().splitlines()
    lines[2] = "images/0001.jpg,happy"  # a path and a bare name may be mixed
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    assert "images/0001.jpg" in read_folder(root).keys.tolist()


def test_a_header_naming_the_value_columns_is_skipped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        write_face(tmp_path / "set" / "images" / name, 1, rng)
    (tmp_path / "set" / "labels.csv").write_text("file,valence,arousal\na.png,5,-2\nb.png,-1,3\n")
    records = read_folder(tmp_path / "set", input_scale=10)
    assert records.keys.tolist() == ["a.png", "b.png"] and np.allclose(records.va, [[0.5, -0.2], [-0.1, 0.3]])


def test_a_subject_pattern_gives_person_disjoint_splits(tmp_path: Path) -> None:
    data = module(tmp_path, "ck_like", "data.val_fraction=0.2", "data.test_fraction=0.2")
    records = data.records()
    people = {re.match(r"S\d{3}", Path(p).name).group() for p in records.paths}
    assert set(records.subject.tolist()) == people and len(people) == 10
    sides = {name: set(ds.subject.tolist()) for name, ds in data.datasets.items()}
    assert all(sides.values())
    assert not sides["train"] & sides["val"] and not sides["train"] & sides["test"] and not sides["val"] & sides["test"]
    named = {name: {records.subject[i] for i in ds.rows} for name, ds in data.datasets.items()}
    assert sum(len(s) for s in named.values()) == 10  # each person's images all on one side


def test_jaffe_classes_and_people_come_from_file_names(tmp_path: Path) -> None:
    data = module(tmp_path, "jaffe")
    records = data.records()
    assert len(records) == 140 and set(records.subject.tolist()) == set(JAFFE_PEOPLE)
    for path, emotion in zip(records.paths, records.emotion, strict=True):
        assert EMOTIONS[emotion] == JAFFE_CODES[path.split(".")[1][:2]]
    sides = [set(ds.subject.tolist()) for ds in data.datasets.values()]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert data.datasets["train"][0]["image"].shape == (3, SIDE, SIDE)  # grey TIFF read as RGB


def test_a_short_run_on_a_pattern_layout_evaluates_from_its_saved_config(tmp_path: Path) -> None:
    root = make_jaffe(tmp_path / "jaffe")
    best = train(config(tmp_path, "folder", root, *JAFFE, "debug=limit"))["run"]["best_checkpoint"]
    cfg = compose_config(
        [f"ckpt={best}", f"paths.output_dir={tmp_path / 'eval'}", *EVAL_SHORT],
        "evaluate",
    )
    metrics = evaluate(cfg)
    assert metrics["run"]["n_test"] > 0 and -1 <= metrics["alignment"]["valence"]["ccc"] <= 1
    assert (tmp_path / "eval" / "report.md").is_file()


# ------------------------------------------------------------------------------------- photos: faces detected


ASTRONAUT_REGION = (150, 40, 300, 200)
"""Where the one face of scikit-image's 512x512 astronaut portrait lies: left, top, right, bottom."""
ASTRONAUT_BOX = (178, 69, 92, 92)
"""The box (x, y, w, h) the detector finds on the portrait alone, within ``ASTRONAUT_REGION``."""
PHOTOS = {
    "happy/a.png": ((0, 0), 1),
    "sad/b.png": ((100, 40), 1),
    "angry/c.png": ((30, 150), 6),  # stored turned, with the EXIF tag that turns it upright
    "neutral/d.png": ((160, 90), 1),
}
"""Each photo: the portrait's offset (x, y) in its 720x680 grey canvas (upright), and its EXIF orientation."""


def astronaut_portrait() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (the dev extra) ships the test photo")
    return skimage_data.astronaut()


def make_photos(root: Path) -> Path:
    """:data:`PHOTOS` under class folders, and ``neutral/blank.png``, a grey canvas without a face."""
    portrait = astronaut_portrait()
    for rel, ((x, y), orientation) in PHOTOS.items():
        canvas = np.full((680, 720, 3), 128, dtype=np.uint8)
        canvas[y : y + 512, x : x + 512] = portrait
        photo = Image.fromarray(canvas)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if orientation == 1:
            photo.save(root / rel)
        else:  # stored so that UPRIGHT[6] (a quarter turn) shows it upright
            exif = Image.Exif()
            exif[0x0112] = orientation
            photo.transpose(UPRIGHT[8]).save(root / rel, exif=exif)
    Image.fromarray(np.full((680, 720, 3), 128, dtype=np.uint8)).save(root / "neutral" / "blank.png")
    return root


def test_detect_faces_crops_the_face_of_each_photo_and_counts_one_without(tmp_path: Path) -> None:
    root = make_photos(tmp_path / "photos")
    blank = root / "neutral" / "blank.png"
    with pytest.raises(ReaderError, match=rf"{re.escape(str(blank))}: no face found"):
        read_folder(root, detect_faces=True)
    records = read_folder(root, detect_faces=True, skip_invalid=True)
    assert records.skipped == {"no face found": 1} and records.paths == sorted(PHOTOS)
    assert read_folder(root, skip_invalid=True).boxes is None, "without detection each image is one face"
    left, top, right, bottom = ASTRONAUT_REGION
    for rel, box in zip(records.paths, records.boxes, strict=True):
        (dx, dy), orientation = PHOTOS[rel]
        x0, x1, y0, y1 = left + dx, right + dx, top + dy, bottom + dy  # the face's region in the upright photo
        if orientation == 6:  # in the stored pixels (the upright photo turned back a quarter): x <- y, y <- 720 - x
            x0, x1, y0, y1 = y0, y1, 720 - x1, 720 - x0
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        assert x0 <= cx <= x1 and y0 <= cy <= y1 and 60 <= box[2] <= 160, (rel, box)
    cache = load_or_build(records, CropSettings(32), tmp_path / "cache", skip_invalid=True)
    portrait = astronaut_portrait()
    face = crop_square(portrait, ASTRONAUT_BOX, 32).astype(int)
    shifted = [np.add(ASTRONAUT_BOX, (dx, dy, 0, 0)) for dx, dy in ((40, 0), (-40, 0), (0, 60))]
    off_face = min(np.abs(crop_square(portrait, box, 32).astype(int) - face).mean() for box in shifted)
    for rel, cached in zip(records.paths, cache.images.array, strict=True):
        error = np.abs(cached.astype(int) - face).mean()  # the turned photo's face too comes out upright
        assert error < 20 and error < off_face / 2, (rel, error, off_face)
    same_rows = read_folder(root, skip_invalid=True)
    same_rows = same_rows.select(np.isin(same_rows.paths, records.paths))
    assert cache_key(records, CropSettings(32), True) != cache_key(same_rows, CropSettings(32), True)
    (root / "angry" / "broken.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(ImageError, match=r"broken\.png: not a readable image"):
        read_folder(root, detect_faces=True)
    skipped = read_folder(root, detect_faces=True, skip_invalid=True).skipped
    assert skipped == {"no face found": 1, "unreadable image": 1}


def test_fast_dev_run_on_photos_with_detect_faces(tmp_path: Path) -> None:
    root = make_photos(tmp_path / "photos")
    detect = ["data.reader.detect_faces=true", "data.skip_invalid=true", "data.reader.detector.min_neighbors=4"]
    metrics = train(config(tmp_path, "folder", root, *detect, "trainer.fast_dev_run=true"))
    assert np.isfinite(metrics["val/loss"])
    (cache,) = (tmp_path / "data" / "cache").iterdir()
    index = json.loads((cache / "index.json").read_text())
    assert (index["n"], index["n_invalid"]) == (len(PHOTOS), 0)


# ---------------------------------------------------------------------------------------------------- AFEW-VA


def test_afew_va_seeded_split_keeps_each_actor_on_one_side(tmp_path: Path) -> None:
    root = make_afew_va(tmp_path / "afew", n_clips=8, frames=2, size=(48, 40))  # actors actor0..actor2
    data = instantiate(config(tmp_path, "afew_va", root).data)
    data.setup("fit")
    records = data.records()
    actor = {f"{c:03d}": f"actor{c % 3}" for c in range(1, 9)}
    assert records.subject.tolist() == [actor[key.split("_")[0]] for key in records.keys]
    sides = {name: {records.subject[i] for i in ds.rows} for name, ds in data.datasets.items()}
    assert sorted(a for side in sides.values() for a in side) == ["actor0", "actor1", "actor2"]
    edit_json(root / "001" / "001.json", lambda doc: doc.pop("actor"))
    assert read_afew_va(root).subject[0] == "001"  # a clip whose JSON names no actor is its own subject


# -------------------------------------------------------------------------------------------------- bad input


def test_an_ambiguous_bare_name_lists_the_candidates(tmp_path: Path) -> None:
    root = make_bare_labels(tmp_path / "set", n=7)
    write_face(root / "images" / "extra" / "0003.jpg", 3, np.random.default_rng(0))
    message = r"labels\.csv: key '0003\.jpg': ambiguous image name \(a bare file name matching 2 images: "
    with pytest.raises(ReaderError, match=message + r"images/0003\.jpg, images/extra/0003\.jpg"):
        read_folder(root)
    records = read_folder(root, skip_invalid=True)
    assert records.skipped == {"ambiguous image name": 1} and len(records) == 6


def test_an_unknown_class_folder_is_named(tmp_path: Path) -> None:
    root = make_class_splits(tmp_path / "tree", {"train": 1, "test": 1})
    write_face(root / "train" / "bored" / "x.png", 0, np.random.default_rng(0))
    with pytest.raises(ReaderError, match=rf"{re.escape(str(root / 'train' / 'bored'))}: unknown class folder 'bored'"):
        read_folder(root)
    assert read_folder(root, skip_invalid=True).skipped == {"unknown class folder": 1}
    assert len(read_folder(root, label_map={"bored": "Neutral"})) == 15
    write_face(root / "train" / "loose.png", 0, np.random.default_rng(0))
    with pytest.raises(ReaderError, match=rf"{re.escape(str(root / 'train' / 'loose.png'))}: image outside a class"):
        read_folder(root, label_map={"bored": "Neutral"})


def test_a_path_a_pattern_does_not_match_is_named(tmp_path: Path) -> None:
    root = make_ck_like(tmp_path / "ck", people=3)
    stray = root / "Happy" / "portrait.png"
    write_face(stray, 1, np.random.default_rng(0))
    with pytest.raises(ReaderError, match=rf"{re.escape(str(stray))}: path not matched by data.reader.subject_pattern"):
        read_folder(root, subject_pattern=r"(S\d{3})_")
    records = read_folder(root, subject_pattern=r"(S\d{3})_", skip_invalid=True)
    assert records.skipped == {"path not matched by data.reader.subject_pattern": 1} and len(records) == 24
    jaffe = make_jaffe(tmp_path / "jaffe")
    (jaffe / "KA.HA1.3.tiff").rename(jaffe / "KA.XX1.3.tiff")
    label_map = dict(JAFFE_CODES)
    with pytest.raises(ReaderError, match=r"KA\.XX1\.3\.tiff: unknown label 'XX' \(from data\.reader\.label_pattern"):
        read_folder(jaffe, label_pattern=r"^[A-Z]{2}\.([A-Z]{2})\d", label_map=label_map)
    with pytest.raises(ReaderError, match=r"KA\.AN1\.13\.tiff: path not matched by data\.reader\.label_pattern"):
        read_folder(jaffe, label_pattern=r"^[A-Z]{2}\.(NE|HA|SA|SU|FE|DI|XX)\d", label_map=label_map)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"subject_pattern": "(S\\d+"}, r"subject_pattern '\(S\\\\d\+' is not a valid regular expression"),
        ({"label_pattern": "[A-Z"}, r"label_pattern '\[A-Z' is not a valid regular expression"),
        ({"subject_pattern": ""}, r"subject_pattern must be a non-empty regular expression"),
        ({"subject_pattern": "(S)", "subject_depth": 1}, r"one of data\.reader\.subject_depth and"),
        ({"label_pattern": "(x)", "labels": "labels.csv"}, r"one of data\.reader\.labels and"),
        ({"label_map": {"HA": "glad"}}, r"label_map maps 'HA' to 'glad'"),
        ({"label_map": ["HA"]}, r"label_map must be a mapping"),
        ({"detect_faces": "yes"}, r"data\.reader\.detect_faces must be true or false, found 'yes'"),
        ({"detect_faces": True, "detector": {"size": 3}}, r"data\.reader\.detector has no setting \['size'\]"),
        ({"detect_faces": True, "detector": {"min_face": 2.0}}, r"data\.reader\.detector: min_face is a share"),
        ({"detect_faces": True, "detector": {"cascade": "eyes.xml"}}, r"unknown face cascade 'eyes\.xml'"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, options: dict, message: str) -> None:
    root = make_bare_labels(tmp_path / "set", n=7)
    with pytest.raises(ValueError, match=message):
        read_folder(root, **options)


def test_a_wrong_root_and_a_malformed_label_file_are_named(tmp_path: Path) -> None:
    root = make_bare_labels(tmp_path / "set", n=7)
    with pytest.raises(ReaderError, match=r"unknown class folder 'set' \(neither of labels\.csv and labels\.json"):
        read_folder(tmp_path)  # one level too high: the folder is read as a class tree, and 'set' is no class
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match=r"empty: no image files .*folder expects one folder per class"):
        read_folder(tmp_path / "empty")
    with (root / "labels.csv").open("a") as f:
        f.write("0099.jpg,happy,extra\n")
    with pytest.raises(ReaderError, match=r"labels\.csv: expected rows 'key,label' .* \(line 9\)"):
        read_folder(root)
    (root / "labels.csv").write_text("image,label\n0000.jpg,happy\n")
    with pytest.raises(ReaderError, match=r"label file beside data\.reader\.label_pattern"):
        read_folder(root, label_pattern="(x)")
