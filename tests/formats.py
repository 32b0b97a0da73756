"""Small dataset trees in each official on-disk format, made by code, with the formats' quirks.

Each ``make_*`` writes real decodable images (synthetic faces from :func:`levasa.data.synthetic.generate.generate`,
the face drawn to match the row's VA where there is one) and the annotation files, and returns the dataset
root. Labels cycle through the seven basic classes and spread over the VA plane. The ``corrupt``-style helpers
at the end edit a tree for bad-input tests.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from levasa.annotation.anchors import affectnet_anchor
from levasa.annotation.files import write_annotations
from levasa.vocabulary import EMOTIONS, NUM_BASIC_EMOTIONS

POOL_SIZE = 32
"""Side of the pooled synthetic faces; builders resize them."""

CONTEMPT_VA = (-0.45, 0.25)

# ------------------------------------------------------------------------------------------------- faces


@functools.lru_cache(maxsize=4)
def _pool(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic faces uint8 ``[64, S, S, 3]`` and the VA each was rendered with ``[64, 2]`` (cached per seed)."""
    from levasa.data.synthetic.generate import generate

    faces = generate(n_identities=8, expressions_per_identity=8, image_size=POOL_SIZE, seed=seed)
    return faces.images, faces.true_va


def face(va: tuple[float, float] | np.ndarray, side: int, rng: np.random.Generator, seed: int = 0) -> np.ndarray:
    """A synthetic face uint8 ``[side, side, 3]`` whose expression is near ``va`` (NaN: any face)."""
    images, true_va = _pool(seed)
    va = np.asarray(va, dtype=np.float64)
    if np.isnan(va).any():
        index = int(rng.integers(len(images)))
    else:
        nearest = np.argsort(((true_va - va) ** 2).sum(axis=1))[:4]
        index = int(rng.choice(nearest))
    image = Image.fromarray(images[index])
    if side != image.width:
        image = image.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image)


def canvas(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A plain background of a random colour with mild noise, uint8 ``[height, width, 3]``."""
    colour = rng.integers(40, 215, size=3)
    noise = rng.normal(0, 6, size=(height, width, 3))
    return np.clip(colour + noise, 0, 255).astype(np.uint8)


def save_image(path: Path, pixels: np.ndarray) -> None:
    """Write ``pixels`` as JPEG (``.jpg``/``.jpeg``) or lossless (other suffixes), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": 90} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    Image.fromarray(pixels).save(path, **options)


def class_va(code: int, rng: np.random.Generator) -> tuple[float, float]:
    """A VA point inside class ``code``'s AffectNet anchor ellipse (Contempt: a fixed region), 3 decimals."""
    anchor = affectnet_anchor()
    if code < len(anchor.classes):
        row = list(anchor.indices).index(code)
        mean, std = anchor.mean[row], anchor.std[row]
    else:
        mean, std = np.array(CONTEMPT_VA), np.array([0.15, 0.15])
    va = np.clip(mean + std * rng.uniform(-0.8, 0.8, size=2), -1, 1)
    return round(float(va[0]), 3), round(float(va[1]), 3)


def landmark_template() -> np.ndarray:
    """68 face landmarks ``[68, 2]`` in the unit square, touching all four sides (so the box is exact)."""
    t = np.linspace(0, 1, 17)
    jaw = np.stack([t, 0.3 + 0.7 * np.sin(np.pi * t)], axis=1)  # y reaches 1 at the chin
    brows = np.stack([np.r_[np.linspace(0.1, 0.4, 5), np.linspace(0.6, 0.9, 5)], np.r_[[0.0] * 10]], axis=1)
    nose = np.stack([np.r_[[0.5] * 4, np.linspace(0.4, 0.6, 5)], np.r_[np.linspace(0.3, 0.55, 4), [0.6] * 5]], axis=1)
    eye = np.stack([np.linspace(0.15, 0.4, 6), 0.25 + 0.03 * np.sin(np.linspace(0, 2 * np.pi, 6))], axis=1)
    eyes = np.concatenate([eye, eye + np.array([0.45, 0.0])])
    angle = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    mouth = np.stack([0.5 + 0.18 * np.cos(angle), 0.78 + 0.06 * np.sin(angle)], axis=1)
    return np.r_[jaw, brows, nose, eyes, mouth]


def _key_hash(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:24]


# ------------------------------------------------------------------------------------------------ AffectNet


AFFECTNET_HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)


def make_affectnet2017(
    root: Path, n_train: int = 24, n_val: int = 8, size: int = 96, header_in_validation: bool = False, seed: int = 0
) -> Path:
    """AffectNet 2017 layout: ``Manually_Annotated_file_lists/{training,validation}.csv`` and JPEG images of
    ``size``x``size`` under ``Manually_Annotated_Images/<1..3>/<hash>.jpg`` with a face pasted at the row's box.

    The reader's defaults (7 classes, VA required) keep exactly ``n_train`` train and ``n_val`` test rows,
    cycling codes 0-6. Extra rows, all with images: training has codes 8, 9 and 10 (10 with VA -2), a Happy
    row with VA -2 and a Contempt row; validation a code-10 row (VA -2), a Neutral row with VA -2 and a
    Contempt row. So ``classes=8`` adds one row per split and ``require_va=False`` one more per split.
    training.csv has a header; validation.csv only when ``header_in_validation``.
    """
    rng = np.random.default_rng(seed)
    lists, images = root / "Manually_Annotated_file_lists", root / "Manually_Annotated_Images"
    lists.mkdir(parents=True, exist_ok=True)
    template = landmark_template()
    extras = {
        "training": [(8, None), (9, None), (10, (-2.0, -2.0)), (1, (-2.0, -2.0)), (7, None)],
        "validation": [(10, (-2.0, -2.0)), (0, (-2.0, -2.0)), (7, None)],
    }
    for name, n in (("training", n_train), ("validation", n_val)):
        specs = [(i % NUM_BASIC_EMOTIONS, None) for i in range(n)] + extras[name]
        order = rng.permutation(len(specs))
        lines = [AFFECTNET_HEADER] if name == "training" or header_in_validation else []
        for row, index in enumerate(order):
            code, va = specs[index]
            va = va or class_va(min(code, 7), rng)
            key = f"{1 + row % 3}/{_key_hash(seed, name, row)}.jpg"
            side = int(rng.integers(int(size * 0.45), int(size * 0.7) + 1))
            x, y = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            pixels = canvas(size, size, rng)
            pixels[y : y + side, x : x + side] = face(va if va[0] != -2 else (np.nan, np.nan), side, rng, seed)
            save_image(images / key, pixels)
            points = template * [side * 0.8, side * 0.8] + [x + side * 0.1, y + side * 0.1]
            landmarks = ";".join(f"{v:.2f}" for v in points.reshape(-1))
            lines.append(f"{key},{x},{y},{side},{side},{landmarks},{code},{va[0]:g},{va[1]:g}")
        (lists / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return root


def make_affectnet2021(
    root: Path, n_train: int = 24, n_val: int = 8, size: int = 64, string_values: bool = True, seed: int = 0
) -> Path:
    """AffectNet 2021 layout: ``{train_set,val_set}/images/<id>.jpg`` (``size``x``size`` whole faces) and
    ``annotations/<id>_{exp,val,aro,lnd}.npy`` 0-d arrays, stored as strings (``'1'``, ``'0.53'``) when
    ``string_values``.

    Ids restart at 0 in each set (keys stay unique through the set prefix). The reader's defaults keep exactly
    ``n_train`` train and ``n_val`` test rows (codes 0-6 cycling); each set has one more Contempt row, kept
    with ``classes=8``.
    """
    rng = np.random.default_rng(seed)
    template = landmark_template()
    for set_name, n in (("train_set", n_train), ("val_set", n_val)):
        images, annotations = root / set_name / "images", root / set_name / "annotations"
        annotations.mkdir(parents=True, exist_ok=True)
        codes = [i % NUM_BASIC_EMOTIONS for i in range(n)] + [7]
        for face_id, code in enumerate(rng.permutation(codes).tolist()):
            va = class_va(code, rng)
            save_image(images / f"{face_id}.jpg", face(va, size, rng, seed))
            values = {"exp": code, "val": va[0], "aro": va[1]}
            for kind, value in values.items():
                array = np.array(str(value)) if string_values else np.array(value)
                np.save(annotations / f"{face_id}_{kind}.npy", array)
            np.save(annotations / f"{face_id}_lnd.npy", (template * size * 0.8 + size * 0.1).reshape(-1))
    return root


# -------------------------------------------------------------------------------------------------- AFEW-VA


def make_afew_va(
    root: Path,
    n_clips: int = 6,
    frames: int = 5,
    size: tuple[int, int] = (120, 96),
    float_va: bool = True,
    seed: int = 0,
) -> Path:
    """AFEW-VA layout: clip folders ``001``.. with PNG frames ``00000.png``.. of ``size`` = (width, height) and
    ``<clip>/<clip>.json`` (VA integers in ``[-10, 10]``, 68 landmarks per frame, a face pasted so that the
    reader's default box, margin 0.25, frames it).

    Clips' VA spread round the circumplex (one direction per clip, small drift over frames). Quirks: every
    other frame's VA written as a float (``3.0``) when ``float_va``, a root ``README.md`` and a ``001_cropped``
    folder with a cropped frame (both to be ignored). ``n_clips * frames`` frames in all, split ``""``
    unless exactly the 600 official clips are made.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    template = landmark_template()
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("AFEW-VA\n\nClips 001-600, frames as PNG, annotations as JSON.\n")
    for c in range(1, n_clips + 1):
        clip = f"{c:03d}"
        angle = 2 * np.pi * (c - 1) / max(n_clips, 1) + 0.3
        base = np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(3, 9)
        entries = {}
        for f in range(frames):
            va = np.clip(np.round(base + rng.integers(-2, 3, size=2)), -10, 10).astype(int)
            side = int(rng.integers(int(min(width, height) * 0.5), int(min(width, height) * 0.8) + 1))
            x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            inner = side / 1.5  # the landmarks' box; with margin 0.25 each side the box is the face square
            points = template * inner + [x + (side - inner) / 2, y + (side - inner) / 2]
            pixels = canvas(height, width, rng)
            pixels[y : y + side, x : x + side] = face(va / 10, side, rng, seed)
            frame = f"{f:05d}"
            save_image(root / clip / f"{frame}.png", pixels)
            written = [float(v) for v in va] if float_va and f % 2 else [int(v) for v in va]
            entries[frame] = {
                "valence": written[0],
                "arousal": written[1],
                "landmarks": np.round(points, 3).tolist(),
            }
        document = {"actor": f"actor{c % 3}", "video_id": clip, "frames": entries}
        (root / clip / f"{clip}.json").write_text(json.dumps(document))
    if n_clips:
        cropped = root / "001_cropped"
        save_image(cropped / "00000.png", face((0.0, 0.0), 32, rng, seed))
    return root


# ---------------------------------------------------------------------------------------------------- IMFDB


IMFDB_HEADER = (
    "Movie\tShot\tImage\tFrame\tX\tY\tW\tH\tActor\tGender\tAge\tExpression\tIllumination\tPose\tOcclusion"
    "\tMakeup\tQuality"
)
IMFDB_WORDS = ("NEUTRAL", "HAPPINESS", "SADNESS", "SURPRISE", "FEAR", "DISGUST", "ANGER")


def make_imfdb(
    root: Path, n_actors: int = 4, movies: int = 2, per_movie: int = 5, size: int = 48, seed: int = 0
) -> Path:
    """IMFDB layout: ``Actor<A>/<Movie>/<Movie>.txt`` (tab-separated, 17 fields: image at 2, expression at 11)
    and ``Actor<A>/<Movie>/images/<Movie>_<Actor>_<i>.jpg`` faces of ``size``x``size``.

    ``n_actors * movies * per_movie`` annotated images, expressions cycling the seven IMFDB words. Quirks, by
    the movie's position in (actor, movie) order: the 1st file has a header line, a ``.DS_Store`` beside its
    images and a duplicated line; the 2nd has 16 fields (image at 1, expression at 10) with lower-case padded
    words; the 3rd is ISO-8859-1 with a non-ASCII movie title. The last image of the second actor's first movie
    has the same file name as the first image of the first movie (keys become ``<Actor>/<Movie>/<name>``).
    The first actor also has a movie folder ``Unlabelled`` of 2 images without an annotation file.
    """
    rng = np.random.default_rng(seed)
    actors = [f"Actor{chr(ord('A') + a)}" for a in range(n_actors)]
    folders = [(actor, f"Film{a}{m}") for a, actor in enumerate(actors) for m in range(movies)]
    shared_name = None
    g = 0
    for index, (actor, movie) in enumerate(folders):
        folder = root / actor / movie
        lines = [IMFDB_HEADER] if index == 0 else []
        title = "Mélodie d'été" if index == 2 else movie
        for i in range(per_movie):
            name = f"{movie}_{actor}_{i + 1}.jpg"
            if index == 0 and i == 0:
                shared_name = name
            if index == movies and i == per_movie - 1 and shared_name:
                name = shared_name
            word = IMFDB_WORDS[g % len(IMFDB_WORDS)]
            code = IMFDB_WORDS.index(word)
            g += 1
            save_image(folder / "images" / name, face(class_va(code, rng), size, rng, seed))
            box = [str(v) for v in rng.integers(0, 200, size=4)]
            gender = "MALE" if ord(actor[-1]) % 2 else "FEMALE"
            fields = [title, str(i), name, str(100 + i), *box, actor, gender, "YOUNG", word, "HIGH", "FRONTAL"]
            fields += ["NONE", "PARTIAL", "GOOD"]
            if index == 1:
                fields = fields[1:]
                fields[10] = f" {word.lower()} "
            lines.append("\t".join(fields))
        if index == 0 and per_movie:
            lines.insert(2, lines[1])  # an identical repeated line
            (folder / "images" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        text = "\n".join(lines) + "\n"
        encoding = "latin-1" if index == 2 else "utf-8"
        (folder / f"{movie}.txt").write_bytes(text.encode(encoding))
    if actors:
        for i in range(2):
            save_image(
                root / actors[0] / "Unlabelled" / "images" / f"Unlabelled_{i}.jpg", face((0, 0), size, rng, seed)
            )
        (root / actors[0] / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return root


# --------------------------------------------------------------------------------------------------- folder


def make_folder(root: Path, n: int = 20, kind: str = "label", fmt: str = "csv", size: int = 48, seed: int = 0) -> Path:
    """A folder of ``n`` faces ``p<k>/img<i>.{jpg,png}`` (four person folders, every third image PNG) and
    ``labels.csv`` / ``labels.json`` (``fmt``) keyed by relative path.

    ``kind="label"``: class names cycling the seven basic classes in mixed case (``happy``, ``SAD``);
    ``kind="va"``: VA in ``[-1, 1]`` inside each class's anchor ellipse. A ``.DS_Store`` and a ``notes.txt``
    lie beside the images (not images: ignored).
    """
    if kind not in ("label", "va") or fmt not in ("csv", "json"):
        raise ValueError(f"kind must be label or va and fmt csv or json, found {kind!r}, {fmt!r}")
    rng = np.random.default_rng(seed)
    keys, labels, va = [], [], []
    for i in range(n):
        code = i % NUM_BASIC_EMOTIONS
        point = class_va(code, rng)
        key = f"p{i % 4}/img{i:03d}.{'png' if i % 3 == 2 else 'jpg'}"
        save_image(root / key, face(point, size, rng, seed))
        name = EMOTIONS[code]
        keys.append(key)
        labels.append((name.lower(), name.upper(), name)[i % 3])
        va.append(point)
    (root / "p0").mkdir(parents=True, exist_ok=True)
    (root / "p0" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "notes.txt").write_text("labels by hand\n")
    values = np.array(labels) if kind == "label" else np.array(va, dtype=np.float64)
    write_annotations(root / f"labels.{fmt}", np.array(keys), values)
    return root


# -------------------------------------------------------------------------------------------- FER2013, FER+


FER_HEADER = "emotion,pixels,Usage"
FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
FER_USAGES = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FER_TO_FERPLUS = {0: 4, 1: 5, 2: 6, 3: 1, 4: 3, 5: 2, 6: 0}
"""FER code (0=Angry ... 6=Neutral) -> the FER+ vote column of the same emotion (0=neutral ... 7=contempt)."""
FERPLUS_EXTRAS = {
    "tie": (0, 5, 0, 5, 0, 0, 0, 0, 0, 0),
    "unknown": (4, 0, 0, 0, 0, 0, 0, 0, 6, 0),
    "nf_unnamed": (0, 0, 0, 0, 0, 0, 0, 0, 0, 10),
    "nf": (3, 0, 0, 0, 0, 0, 0, 0, 0, 7),
    "contempt": (4, 0, 0, 0, 0, 0, 0, 6, 0, 0),
}
"""FER+ vote rows that give no 7-class label: a tie, an unknown or NF majority (as FER+ writes NF=10 rows, with no
image name, and with one) and a contempt majority (kept with ``classes=8``)."""


def fer_votes(code: int) -> tuple[int, ...]:
    """Ten FER+ votes whose majority is FER code ``code``'s emotion (7 votes, 2 to another emotion, 1 unknown)."""
    votes = [0] * 10
    column = FER_TO_FERPLUS[code]
    votes[column] = 7
    votes[1 if column == 0 else 0] = 2
    votes[8] = 1
    return tuple(votes)


def grey_face(code: int, rng: np.random.Generator, seed: int = 0) -> np.ndarray:
    """A 48x48 grey synthetic face (uint8 ``[48, 48]``) of FER code ``code``'s class."""
    canonical = {0: 6, 1: 5, 2: 4, 3: 1, 4: 2, 5: 3, 6: 0}[code]
    return np.asarray(Image.fromarray(face(class_va(canonical, rng), 48, rng, seed)).convert("L"))


def write_fer2013(
    root: Path, rows: list[tuple[int, str]], votes: list[tuple[int, ...]] | None = None, seed: int = 0
) -> Path:
    """``fer2013.csv`` of ``rows`` (FER code, Usage) with grey faces, and with ``votes`` (ten per row) FER+'s
    ``fer2013new.csv`` beside it: an empty Image name where NF has all ten votes (as FER+ does), else
    ``fer<n>.png`` numbered over the named rows."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = [FER_HEADER]
    for code, usage in rows:
        lines.append(f"{code},{' '.join(map(str, grey_face(code, rng, seed).reshape(-1)))},{usage}")
    (root / "fer2013.csv").write_text("\n".join(lines) + "\n")
    if votes is not None:
        named = 0
        lines = [FERPLUS_HEADER]
        for (_, usage), row in zip(rows, votes, strict=True):
            name = "" if row[9] == 10 else f"fer{named:07d}.png"
            named += bool(name)
            lines.append(",".join([usage, name, *map(str, row)]))
        (root / "fer2013new.csv").write_text("\n".join(lines) + "\n")
    return root


def make_fer2013(root: Path, n_train: int = 14, n_val: int = 4, n_test: int = 4, seed: int = 0) -> Path:
    """FER2013 with FER+: ``fer2013.csv`` (``emotion,pixels,Usage``; the Training rows, then PublicTest, then
    PrivateTest, codes cycling 0-6) and ``fer2013new.csv``, whose votes give each row FER's own class, except for
    the :data:`FERPLUS_EXTRAS` rows, five more Training rows after the first two.

    With FER labels every row is kept (``n_train + 5`` train); with FER+ labels exactly ``n_train``, ``n_val`` and
    ``n_test`` (one more train with ``classes=8``).
    """
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    rows = [(i % NUM_BASIC_EMOTIONS, FER_USAGES[split]) for i, split in enumerate(splits)]
    votes = [fer_votes(code) for code, _ in rows]
    at = min(2, n_train)
    rows[at:at] = [(i, "Training") for i in range(len(FERPLUS_EXTRAS))]
    votes[at:at] = list(FERPLUS_EXTRAS.values())
    return write_fer2013(root, rows, votes, seed)


# --------------------------------------------------------------------------------------------------- RAF-DB


RAF_LABELS = "basic/EmoLabel/list_patition_label.txt"


def make_rafdb(root: Path, n_train: int = 30, n_test: int = 8, seed: int = 0) -> Path:
    """RAF-DB basic: ``basic/EmoLabel/list_patition_label.txt`` (``train_00001.jpg 5``, the train lines then the
    test lines, codes cycling 1-7), the 100x100 faces ``basic/Image/aligned/<name>_aligned.jpg``, the photos
    ``basic/Image/original/<name>`` (120x90, the face pasted in the middle) and one
    ``basic/Annotation/boundingbox/`` file (not read)."""
    rng = np.random.default_rng(seed)
    canonical = {1: 3, 2: 4, 3: 5, 4: 1, 5: 2, 6: 6, 7: 0}
    lines = []
    names = [f"train_{i:05d}.jpg" for i in range(1, n_train + 1)] + [f"test_{i:04d}.jpg" for i in range(1, n_test + 1)]
    for i, name in enumerate(names):
        code = 1 + i % NUM_BASIC_EMOTIONS
        pixels = face(class_va(canonical[code], rng), 100, rng, seed)
        save_image(root / "basic" / "Image" / "aligned" / name.replace(".jpg", "_aligned.jpg"), pixels)
        photo = canvas(90, 120, rng)
        photo[10:80, 25:95] = np.asarray(Image.fromarray(pixels).resize((70, 70)))
        save_image(root / "basic" / "Image" / "original" / name, photo)
        lines.append(f"{name} {code}")
    (root / RAF_LABELS).parent.mkdir(parents=True, exist_ok=True)
    (root / RAF_LABELS).write_text("\n".join(lines) + "\n")
    boxes = root / "basic" / "Annotation" / "boundingbox"
    boxes.mkdir(parents=True, exist_ok=True)
    (boxes / "train_00001_boundingbox.txt").write_text("25.0 10.0 95.0 80.0\n")
    return root


# ------------------------------------------------------------------------------------------ bad-input helpers


def edit_lines(path: Path, edit: Callable[[list[str]], list[str]], encoding: str = "utf-8") -> None:
    """Rewrite the text file ``path`` as ``edit(lines)`` (lines without their newlines)."""
    lines = path.read_text(encoding=encoding).splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding=encoding)


def set_field(path: Path, line: int, column: int, value: str, sep: str = ",", encoding: str = "utf-8") -> None:
    """Set field ``column`` of 1-based ``line`` of a ``sep``-separated file to ``value``."""

    def edit(lines: list[str]) -> list[str]:
        fields = lines[line - 1].split(sep)
        fields[column] = value
        lines[line - 1] = sep.join(fields)
        return lines

    edit_lines(path, edit, encoding)


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    """Load the JSON file ``path``, apply ``edit`` in place and write it back."""
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
