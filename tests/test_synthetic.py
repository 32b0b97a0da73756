"""The synthetic circumplex faces: labels, structure, rendering behaviour, ground truth and the cache."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from levasa.annotation.anchors import Anchor, affectnet_anchor
from levasa.data import synthetic
from levasa.data.synthetic import (
    NUISANCE_NAMES,
    VARIANTS,
    bayes_emotion,
    expression_variance_share,
    generate,
    load_or_generate,
    oracle_accuracy,
    render,
    sample_expressions,
    sample_identities,
    va_grid_figure,
)
from levasa.vocabulary import EMOTIONS

SMALL = {"n_identities": 6, "expressions_per_identity": 5, "image_size": 32}
ARRAYS = ("images", "va", "emotion", "subject", "keys", "true_va", "true_emotion", "nuisance")


def assert_same(a: synthetic.SyntheticFaces, b: synthetic.SyntheticFaces) -> None:
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


def test_label_noise_perturbs_observed_va_only_within_range():
    va_true, va_obs, emotion = sample_expressions(20_000, np.random.default_rng(0), label_noise=0.1)
    assert np.abs(va_obs).max() <= 1
    inside = (np.abs(va_true) < 0.7).all(1)  # away from clipping
    assert np.std(va_obs[inside] - va_true[inside]) == pytest.approx(0.1, rel=0.05)
    assert emotion.dtype == np.int64


def test_expressions_follow_the_anchor_prior_and_ellipses():
    anchor = affectnet_anchor()
    va, _, emotion = sample_expressions(50_000, np.random.default_rng(1), anchor)
    freq = np.bincount(emotion, minlength=7)[anchor.indices] / len(emotion)
    np.testing.assert_allclose(freq, anchor.prior, atol=0.01)
    cls = np.searchsorted(anchor.indices, emotion)
    z = (va - anchor.mean[cls]) / anchor.std[cls]
    assert ((z**2).sum(1) <= 1 + 1e-4).all()
    assert np.abs(z).mean() > 0.3  # filled, not collapsed onto the centres


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


# ----------------------------------------------------------------------------------------- ground truth


def interior_bayes(va: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Bayes rule for unclipped ellipses, written independently of the module."""
    z = (va[:, None, :] - anchor.mean[None]) / anchor.std[None]
    density = ((z**2).sum(-1) <= 1) / (np.pi * anchor.std.prod(1))
    return anchor.indices[np.argmax(anchor.prior * density, axis=1)]


def test_oracle_accuracy_is_sane_and_matches_the_bayes_rule_on_generated_data():
    anchor = affectnet_anchor()
    acc = oracle_accuracy(anchor, n=50_000)
    assert anchor.prior.max() + 0.3 < acc < 1
    faces = generate(n_identities=40, expressions_per_identity=25, image_size=16, seed=3)
    on_faces = np.mean(interior_bayes(faces.true_va.astype(np.float64), anchor) == faces.true_emotion)
    assert on_faces == pytest.approx(acc, abs=0.01)
    np.testing.assert_array_equal(bayes_emotion(faces.true_va, anchor), interior_bayes(faces.true_va, anchor))


def two_class_anchor(mean: list[list[float]], std: list[list[float]], prior: list[float]) -> Anchor:
    return Anchor(EMOTIONS[:2], np.array(mean), np.array(std), np.array(prior), "test")


def test_oracle_accuracy_matches_the_closed_form_for_two_overlapping_discs():
    # discs of radius 0.5, centres 0.8 apart: the lens goes to the likelier class; B is clipped at v = 1
    anchor = two_class_anchor([[0.0, 0.0], [0.8, 0.0]], [[0.5, 0.5], [0.5, 0.5]], [0.4, 0.6])
    lens = 2 * 0.25 * np.arccos(0.8) - 0.4 * np.sqrt(1 - 0.64)
    expected = 1 - 0.4 * lens / (np.pi * 0.25)
    assert oracle_accuracy(anchor, n=200_000, seed=1) == pytest.approx(expected, abs=0.003)


def test_oracle_accounts_for_mass_clipped_onto_the_edge():
    # B lies mostly beyond v = 1; clipped onto the edge it outweighs the small disc A there
    anchor = two_class_anchor([[0.8, 0.0], [1.2, 0.0]], [[0.25, 0.25], [0.5, 0.5]], [0.5, 0.5])
    acc = oracle_accuracy(anchor, n=100_000, seed=2)
    va, _, emotion = sample_expressions(100_000, np.random.default_rng(3), anchor)
    assert acc > np.mean(interior_bayes(va, anchor) == emotion) + 0.05
    # the best rule learnt from a fine histogram cannot beat the Bayes rule but nearly reaches it
    train_va, _, train_emotion = sample_expressions(400_000, np.random.default_rng(4), anchor)
    learnt = np.mean(histogram_rule(train_va, train_emotion)(va) == emotion)
    assert learnt == pytest.approx(acc, abs=0.01)
    assert learnt <= acc + 0.005


def histogram_rule(va: np.ndarray, emotion: np.ndarray, bins: int = 60):
    """The majority class per cell of a grid over [-1, 1]^2; points on the edges get cells of their own."""

    def cell(x: np.ndarray) -> np.ndarray:
        inner = np.clip(((x + 1) / 2 * bins).astype(int), 0, bins - 1)
        return inner + bins * (x >= 1) + 2 * bins * (x <= -1)

    def key(x: np.ndarray) -> np.ndarray:
        return cell(x[:, 0]) * 3 * bins + cell(x[:, 1])

    counts = np.zeros(((3 * bins) ** 2, int(emotion.max()) + 1))
    np.add.at(counts, (key(va), emotion), 1)
    return lambda x: np.argmax(counts[key(x)], axis=1)


# ------------------------------------------------------------------------------------------------ cache


def test_cache_round_trip_gives_identical_arrays_without_rendering(tmp_path, monkeypatch):
    first = load_or_generate(tmp_path, **SMALL, seed=4)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"

    def no_render(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(synthetic, "render", no_render)
    assert_same(first, load_or_generate(tmp_path, **SMALL, seed=4))
    monkeypatch.undo()
    assert_same(first, generate(**SMALL, seed=4))
    load_or_generate(tmp_path, **SMALL, seed=5)
    assert len(list(tmp_path.iterdir())) == 2  # keyed by the parameters, no temporary files left


def test_corrupt_cache_is_regenerated_with_a_warning(tmp_path, caplog):
    first = load_or_generate(tmp_path, **SMALL)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"not an npz file")
    with caplog.at_level(logging.WARNING, logger=synthetic.__name__):
        again = load_or_generate(tmp_path, **SMALL)
    assert "unreadable" in caplog.text
    assert_same(first, again)
    assert_same(first, load_or_generate(tmp_path, **SMALL))  # the rewritten file is valid


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
    synthetic.main(["grid", "--out", str(tmp_path / "b.png"), "--size", "16", "--steps", "3"])
    for name in ("a.png", "b.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
