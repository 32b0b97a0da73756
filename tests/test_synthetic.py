"""The synthetic circumplex faces: labels, structure, rendering behaviour, ground truth and the cache."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from levasa.annotation.anchors import affectnet_anchor
from levasa.annotation.oracle import oracle_accuracy
from levasa.annotation.sampling import sample_expressions, sample_subject_labels
from levasa.data.synthetic import generate as generate_module
from levasa.data.synthetic.__main__ import main
from levasa.data.synthetic.figure import va_grid_figure
from levasa.data.synthetic.generate import VARIANTS, SyntheticFaces, generate, load_or_generate
from levasa.data.synthetic.identities import NUISANCE_NAMES, sample_identities
from levasa.data.synthetic.render import render
from levasa.data.synthetic.stats import expression_variance_share

SMALL = {"n_identities": 6, "expressions_per_identity": 5, "image_size": 32}
ARRAYS = ("images", "va", "emotion", "subject", "keys", "true_va", "true_emotion", "nuisance")


def assert_same(a: SyntheticFaces, b: SyntheticFaces) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.expression_share == b.expression_share


def upright_identity(**factors: float) -> np.ndarray:
    """One identity ``[1, F]``: centred, upright, unit scale, no pixel noise, other factors as given."""
    row = sample_identities(1, np.random.default_rng(3))
    for name, value in {"pos_x": 0, "pos_y": 0, "rotation": 0, "scale": 1, "noise_std": 0, **factors}.items():
        row[0, NUISANCE_NAMES.index(name)] = value
    return row


def change(va_a: tuple[float, float], va_b: tuple[float, float], size: int = 64) -> np.ndarray:
    """Mean absolute pixel change ``[S, S]`` between two expressions of a noisy identity, same noise seed."""
    identity = upright_identity(noise_std=0.02)
    a, b = (render(np.array([va], np.float32), identity, size, seed=5)[0] for va in (va_a, va_b))
    return np.abs(a.astype(np.int16) - b).mean(-1)


def box(image: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]) -> float:
    """Mean of ``image`` over a box given in fractions of its size."""
    s = image.shape[0]
    return float(image[int(rows[0] * s) : int(rows[1] * s), int(cols[0] * s) : int(cols[1] * s)].mean())


CORNERS = [((0, 0.12), (0, 0.12)), ((0, 0.12), (0.88, 1)), ((0.88, 1), (0, 0.12)), ((0.88, 1), (0.88, 1))]
MOUTH = ((0.6, 0.8), (0.38, 0.62))
EYES = ((0.4, 0.56), (0.25, 0.75))
FACE_CENTRE = ((0.45, 0.6), (0.42, 0.58))


# ------------------------------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_arrays_and_other_seeds_differ():
    a, b = generate(**SMALL, seed=1), generate(**SMALL, seed=1)
    assert_same(a, b)
    c = generate(**SMALL, seed=2)
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.nuisance, c.nuisance)


def test_render_is_deterministic_and_its_noise_per_image_does_not_depend_on_the_batch():
    rng = np.random.default_rng(0)
    nuisance, va = sample_identities(5, rng), sample_expressions(5, rng)[0]
    batch = render(va, nuisance, 32, seed=9)
    np.testing.assert_array_equal(batch, render(va, nuisance, 32, seed=9))
    np.testing.assert_array_equal(batch[:1], render(va[:1], nuisance[:1], 32, seed=9))
    assert not np.array_equal(batch, render(va, nuisance, 32, seed=10))


# ---------------------------------------------------------------------------------------- labels, shapes


def test_shapes_dtypes_and_ranges():
    faces = generate(**SMALL)
    n, f = 6 * 5, len(NUISANCE_NAMES)
    assert faces.images.shape == (n, 32, 32, 3) and faces.images.dtype == np.uint8
    for name, shape, dtype in [
        ("va", (n, 2), np.float32),
        ("true_va", (n, 2), np.float32),
        ("emotion", (n,), np.int64),
        ("true_emotion", (n,), np.int64),
        ("subject", (n,), np.int64),
        ("nuisance", (n, f), np.float32),
    ]:
        array = getattr(faces, name)
        assert array.shape == shape and array.dtype == dtype, name
    assert np.abs(faces.true_va).max() <= 1 and np.abs(faces.va).max() <= 1
    assert set(faces.emotion) <= set(range(7))
    assert len(set(faces.keys)) == n
    assert all(re.fullmatch(r"id\d{4}_\d{3}", k) for k in faces.keys)
    assert faces.images.std() > 20  # not a blank canvas
    assert 0 < faces.expression_share < 1


def test_each_identity_keeps_its_nuisance_factors_and_key_prefix():
    faces = generate(**SMALL)
    for s in np.unique(faces.subject):
        rows = faces.nuisance[faces.subject == s]
        assert (rows == rows[0]).all()
        assert all(k.startswith(f"id{s:04d}_") for k in faces.keys[faces.subject == s])
    firsts = faces.nuisance[np.searchsorted(faces.subject, np.unique(faces.subject))]
    assert len(np.unique(firsts, axis=0)) == SMALL["n_identities"]


def test_pixel_noise_is_independent_per_image():
    nuisance = np.repeat(upright_identity(noise_std=0.03), 2, axis=0)
    images = render(np.zeros((2, 2), np.float32), nuisance, 32).astype(np.int16)
    diff = np.abs(images[0] - images[1])
    assert 0 < diff.mean() < 15


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_hide_exactly_the_right_labels(variant):
    faces = generate(**SMALL, variant=variant)
    if variant == "category":
        assert np.isnan(faces.va).all()
    else:
        assert np.isfinite(faces.va).all() and np.abs(faces.va).max() <= 1
    if variant == "va":
        assert (faces.emotion == -1).all()
        tenths = faces.va * 10
        np.testing.assert_allclose(tenths, np.round(tenths), atol=1e-5)
        assert np.abs(faces.va - faces.true_va).max() <= 0.05 + 1e-6
    else:
        np.testing.assert_array_equal(faces.emotion, faces.true_emotion)
    if variant == "both":
        np.testing.assert_array_equal(faces.va, faces.true_va)
    assert set(faces.true_emotion) <= set(range(7))


def test_labels_are_those_sampled_for_the_same_seed_without_rendering():
    for variant in VARIANTS:
        faces = generate(**SMALL, variant=variant, seed=6, label_noise=0.1)
        labels = sample_subject_labels(SMALL["n_identities"], SMALL["expressions_per_identity"], 6, 0.1)
        np.testing.assert_array_equal(faces.true_va, labels.true_va)
        np.testing.assert_array_equal(faces.true_emotion, labels.emotion)
        np.testing.assert_array_equal(faces.subject, labels.subject)
        if variant == "both":
            np.testing.assert_array_equal(faces.va, labels.va)
            np.testing.assert_array_equal(faces.emotion, labels.emotion)


# ------------------------------------------------------------------------------------ rendering behaviour


def test_valence_changes_the_mouth_region_not_the_background():
    diff = change((-0.8, 0.2), (0.8, 0.2))
    corners = max(box(diff, *c) for c in CORNERS)
    assert corners == 0
    assert box(diff, *MOUTH) > 10


def test_arousal_changes_the_eye_region():
    diff = change((0.2, -0.8), (0.2, 0.8))
    assert max(box(diff, *c) for c in CORNERS) == 0
    assert box(diff, *EYES) > 10


@pytest.mark.parametrize("size", [32, 64])
def test_expression_changes_stay_visible_at_small_sizes(size):
    assert box(change((-0.8, 0.0), (0.8, 0.0), size), *MOUTH) > 5
    assert box(change((0.0, -0.8), (0.0, 0.8), size), *EYES) > 5


def test_background_colour_does_not_touch_the_face_centre():
    nuisance = np.repeat(upright_identity(), 2, axis=0)
    nuisance[1, [NUISANCE_NAMES.index(c) for c in ("bg_red", "bg_green", "bg_blue")]] = (0.9, 0.1, 0.5)
    images = render(np.zeros((2, 2), np.float32), nuisance, 64).astype(np.int16)
    diff = np.abs(images[0] - images[1]).mean(-1)
    assert box(diff, *FACE_CENTRE) == 0
    assert min(box(diff, *c) for c in CORNERS) > 20


def test_expression_explains_a_small_share_of_pixel_variance():
    share = expression_variance_share(n_identities=24, expressions_per_identity=8, image_size=32)
    assert 0.03 < share < 0.2


# ------------------------------------------------------------------------------------------------ cache


def test_cache_round_trip_gives_identical_arrays_without_rendering(tmp_path, monkeypatch):
    first = load_or_generate(tmp_path, **SMALL, seed=4)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"

    def no_render(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(generate_module, "render", no_render)
    assert_same(first, load_or_generate(tmp_path, **SMALL, seed=4))
    monkeypatch.undo()
    assert_same(first, generate(**SMALL, seed=4))
    load_or_generate(tmp_path, **SMALL, seed=5)
    assert len(list(tmp_path.iterdir())) == 2  # keyed by the parameters, no temporary files left


def test_corrupt_cache_is_regenerated_with_a_warning(tmp_path, caplog):
    first = load_or_generate(tmp_path, **SMALL)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not an npz file")
    with caplog.at_level(logging.WARNING, logger=generate_module.__name__):
        again = load_or_generate(tmp_path, **SMALL)
    assert "unreadable" in caplog.text
    assert_same(first, again)
    assert_same(first, load_or_generate(tmp_path, **SMALL))  # the rewritten file is valid


def test_a_failed_cache_write_leaves_neither_the_file_nor_a_temporary(tmp_path, monkeypatch):
    def savez_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        load_or_generate(tmp_path, **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_no_cache_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_or_generate(None, **SMALL)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- errors, figure, CLI


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: generate(**SMALL, variant="afew"), "variant"),
        (lambda: generate(**{**SMALL, "image_size": 8}), "image_size"),
        (lambda: generate(**{**SMALL, "n_identities": 0}), "n_identities"),
        (lambda: render(np.array([[0.0, 1.5]]), sample_identities(1, np.random.default_rng(0))), "va"),
        (lambda: render(np.zeros((1, 3)), sample_identities(1, np.random.default_rng(0))), r"va.*\[N, 2\]"),
        (lambda: render(np.zeros((2, 2)), sample_identities(1, np.random.default_rng(0))), "nuisance"),
        (lambda: render(np.zeros((1, 2)), sample_identities(1, np.random.default_rng(0)), 15), "image_size"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_grid_figure_and_cli_write_a_png(tmp_path):
    va_grid_figure(tmp_path / "a.png", image_size=16, steps=3)
    main(["grid", "--out", str(tmp_path / "b.png"), "--size", "16", "--steps", "3"])
    for name in ("a.png", "b.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_cli_prints_the_expression_share_the_oracle_accuracy_and_the_prior(capsys):
    main(["stats", "--size", "16", "--seed", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == f"expression share of pixel variance (16x16): {expression_variance_share(image_size=16, seed=1):.3f}"
    )
    assert lines[1] == f"oracle 7-class accuracy from true VA: {oracle_accuracy(affectnet_anchor(), seed=1):.4f}"
    assert lines[2] == f"majority-class prior: {affectnet_anchor().prior.max():.4f}"
