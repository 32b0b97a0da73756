"""edit(cfg): expression editing of faces to a VA target, walks, emotions, and the clear errors."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from levasa.data.synthetic.identities import sample_identities
from levasa.data.synthetic.render import render
from levasa.jobs.editing import circle_targets, edit, edit_faces, grid_targets
from levasa.jobs.training import train
from levasa.models.checkpoint import load_module
from tests.helpers import TINY, compose_config
from tests.test_predict import astronaut

COLUMNS = ["path", "face", "step", "image", "target_v", "target_a", "emotion", "original_v", "original_a",
           "readout_v", "readout_a"]  # fmt: skip


@pytest.fixture(scope="module")
def levasa_ckpt(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("edit")
    cfg = compose_config([*TINY, "debug=limit", f"paths.output_dir={tmp / 'run'}", f"paths.data_dir={tmp / 'data'}"])
    return Path(train(cfg)["run"]["best_checkpoint"])


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    """Three synthetic faces of new identities, neutral-ish expressions, rendered at 32 px, in a folder."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(3)
    images = render(np.array([[0.0, 0.0], [-0.3, 0.2], [0.2, -0.3]]), sample_identities(3, rng), 32, seed=3)
    for i, image in enumerate(images):
        Image.fromarray(image).save(root / f"face{i}.png")
    return root


def run_edit(tmp_path: Path, ckpt: Path, root: Path, *overrides: str, faces: str = "cropped") -> Path:
    args = [f"ckpt={ckpt}", f"input={root}", f"paths.output_dir={tmp_path / 'out'}", f"faces={faces}", *overrides]
    return edit(compose_config(args, "edit"))


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_target_moves_the_readout_towards_it(tmp_path, levasa_ckpt, faces):
    out = run_edit(tmp_path / "up", levasa_ckpt, faces, "target=[0.9,0]")
    rows = rows_of(out)
    assert list(rows[0]) == COLUMNS and len(rows) == 3
    assert [r["path"] for r in rows] == ["face0.png", "face1.png", "face2.png"]
    for row in rows:
        assert (float(row["target_v"]), float(row["target_a"])) == (0.9, 0.0) and row["step"] == "0"
        image = Image.open(out.parent / row["image"])
        assert image.size == (32, 32) and image.format == "PNG"
    assert (out.parent / "face0_face0_0.png").is_file()
    assert not list(out.parent.glob("*_sheet.png"))  # a single target: no contact sheet
    down = rows_of(run_edit(tmp_path / "down", levasa_ckpt, faces, "target=[-0.9,0]"))
    for high, low in zip(rows, down, strict=True):  # a tiny model does not hit the target: only the direction
        assert float(high["readout_v"]) > float(low["readout_v"]), (high, low)
        assert high["original_v"] == low["original_v"]


def test_edits_keep_the_identity_chunk_and_hit_the_readout_in_latent_space(levasa_ckpt, faces):
    module = load_module(levasa_ckpt)
    face = np.array(Image.open(faces / "face0.png"))[None]
    targets = grid_targets(3, 0.8)
    calls = []
    decode = module.decode
    module.decode = lambda z: calls.append(z) or decode(z)
    _, _, readouts = edit_faces(module, face, targets, None)
    (z,) = calls
    enc = module.encode(torch.from_numpy(face).permute(0, 3, 1, 2).float() / 255)
    d_v, d_a = enc.v.mu.shape[1], enc.a.mu.shape[1]
    assert torch.equal(z[:, d_v + d_a :], enc.z.mu.expand(len(targets), -1))  # z_z untouched
    read = module.alignment.readout(z[:, :d_v], z[:, d_v : d_v + d_a])
    assert torch.allclose(read, torch.from_numpy(targets), atol=1e-3)  # the chunks say the target exactly
    assert readouts.shape == (1, 9, 2)


def test_walk_circle_writes_each_step_and_a_sheet(tmp_path, levasa_ckpt, faces):
    out = run_edit(tmp_path, levasa_ckpt, faces / "face1.png", "walk=circle", "steps=6", "radius=0.9")
    rows = rows_of(out)
    assert [int(r["step"]) for r in rows] == list(range(6))
    assert np.allclose([[float(r["target_v"]), float(r["target_a"])] for r in rows], circle_targets(6, 0.9), atol=1e-4)
    read_v = [float(r["readout_v"]) for r in rows]  # round the circle, the valence readout follows cos
    assert np.corrcoef(circle_targets(6, 0.9)[:, 0], read_v)[0, 1] > 0.5
    assert sorted(p.name for p in out.parent.glob("face1_face0_*.png")) == [
        *(f"face1_face0_{k}.png" for k in range(6)), "face1_face0_sheet.png"]  # fmt: skip
    sheet = Image.open(out.parent / "face1_face0_sheet.png")
    assert sheet.size[0] == 6 * 96 and sheet.size[1] > 2 * 96  # the face, then one row of steps


def test_walk_grid_writes_n_squared_and_readout_follows_the_targets(tmp_path, levasa_ckpt, faces):
    out = run_edit(tmp_path, levasa_ckpt, faces, "walk=grid", "grid=3", "directions=readout")
    rows = rows_of(out)
    assert len(rows) == 3 * 9 and len(list(out.parent.glob("*_sheet.png"))) == 3
    assert len(list(out.parent.glob("face2_face0_[0-9].png"))) == 9
    target = np.array([[float(r["target_v"]), float(r["target_a"])] for r in rows])
    read = np.array([[float(r["readout_v"]), float(r["readout_a"])] for r in rows])
    # the re-encoded edits' valence readout grows with the target (the tiny model draws too little arousal for
    # its readout of a redrawn face to follow reliably)
    for face in range(3):
        rows_of_face = slice(9 * face, 9 * face + 9)
        assert np.corrcoef(target[rows_of_face, 0], read[rows_of_face, 0])[0, 1] > 0.5, face


def test_emotion_goes_to_its_anchor_centre(tmp_path, levasa_ckpt, faces):
    from levasa.annotation.anchors import resolve_anchor

    anchor = resolve_anchor("affectnet")
    rows = rows_of(run_edit(tmp_path, levasa_ckpt, faces / "face0.png", "emotion=joy"))
    (row,) = rows
    centre = anchor.mean[anchor.classes.index("Happy")]
    assert row["emotion"] == "Happy"
    assert np.allclose([float(row["target_v"]), float(row["target_a"])], centre, atol=1e-4)


def test_detected_faces_are_edited(tmp_path, levasa_ckpt, caplog):
    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut(photos / "astronaut.png")
    Image.fromarray(np.full((300, 400, 3), 128, dtype=np.uint8)).save(photos / "wall.png")
    rows = rows_of(run_edit(tmp_path, levasa_ckpt, photos, "target=[0.5,0.5]", "directions=readout", faces="detect"))
    (row,) = rows  # the grey wall has no face: no row, a warning
    assert row["path"] == "astronaut.png" and row["face"] == "0" and row["image"] == "astronaut_face0_0.png"
    assert Image.open(tmp_path / "out" / row["image"]).size == (32, 32)
    assert "no face found in 1 of 2 photos" in caplog.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["target=[1.5,0]"], r"valence 1.5 is outside \[-1, 1\]"),
        (["target=[0,-2]"], r"arousal -2.0 is outside \[-1, 1\]"),
        (["target=[0.1]"], r"target must be \[valence, arousal\]"),
        (["emotion=Bored"], r"unknown emotion 'Bored'.*'Happy'.*joy"),
        (["emotion=contempt"], r"the affectnet anchor has no Contempt class"),
        (["walk=circle", "radius=0"], r"radius must be in \(0, 1\], found 0"),
        (["walk=circle", "radius=1.2"], r"radius must be in \(0, 1\]"),
        (["walk=grid", "grid=1"], "grid must be an integer of at least 2, found 1"),
        (["walk=spiral"], "walk must be 'circle' or 'grid'"),
        (["walk=circle", "target=[0,0]"], "exactly one of .* found target and walk"),
        ([], "exactly one of .* found none"),
    ],
)
def test_bad_requests_are_clear_errors(tmp_path, faces, overrides, message):
    with pytest.raises(ValueError, match=message):  # checked before the checkpoint is read
        run_edit(tmp_path, tmp_path / "no.ckpt", faces, *overrides)


def test_a_vanilla_checkpoint_is_a_clear_error(tmp_path, faces):
    overrides = [*TINY, "model=vanilla", "debug=limit", f"paths.output_dir={tmp_path / 'run'}",
                 f"paths.data_dir={tmp_path / 'data'}"]  # fmt: skip
    ckpt = train(compose_config(overrides))["run"]["best_checkpoint"]
    with pytest.raises(ValueError, match="is a Vanilla VAE: its chunks are not aligned"):
        run_edit(tmp_path, ckpt, faces, "target=[0.2,0.2]")
