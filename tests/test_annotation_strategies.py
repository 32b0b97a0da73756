"""Transfer strategies: Algorithm 1's ellipse sampling, the other categorical->VA strategies, VA->categorical rules."""

import numpy as np
import pytest

from levasa.annotation.anchors import affectnet_anchor, fit_anchor, russell_anchor
from levasa.annotation.labels import AnnotationError
from levasa.annotation.sampling import sample_expressions
from levasa.annotation.strategies import (
    CAT_TO_VA,
    VA_TO_CAT,
    categorical_to_va,
    discretize,
    undiscretize,
    va_to_categorical,
)
from levasa.vocabulary import EMOTIONS


def test_ellipse_points_lie_inside_their_ellipse_with_the_centre_and_spread_of_a_uniform_disk():
    anchor = affectnet_anchor()
    classes = np.repeat(anchor.indices, 10_000)
    va = categorical_to_va(classes, anchor, "ellipse", np.random.default_rng(0))
    rows = np.repeat(np.arange(len(anchor.classes)), 10_000)
    z = (va - anchor.mean[rows]) / anchor.std[rows]
    assert ((z**2).sum(1) <= 1 + 1e-6).all()  # the disk draw is float32
    per_class = va.reshape(len(anchor.classes), 10_000, 2)
    np.testing.assert_allclose(per_class.mean(1), anchor.mean, atol=0.01)
    np.testing.assert_allclose(per_class.std(1), anchor.std / 2, rtol=0.03)


def test_gaussian_is_clipped_and_centroid_is_the_centre():
    anchor = russell_anchor()  # centres at radius 0.75, so a Gaussian of std 0.25 crosses the edge
    classes = np.repeat(anchor.indices, 2000)
    va = categorical_to_va(classes, anchor, "gaussian", np.random.default_rng(0))
    assert np.abs(va).max() == 1.0
    np.testing.assert_array_equal(categorical_to_va(anchor.indices, anchor, "centroid"), anchor.mean)


@pytest.mark.parametrize("strategy", ["gmm", "kmeans"])
def test_clustering_strategies_send_each_class_near_its_own_centre(strategy):
    anchor = affectnet_anchor()
    classes = np.repeat(anchor.indices, 500)
    va = categorical_to_va(classes, anchor, strategy, np.random.default_rng(0))
    assert va.shape == (classes.size, 2) and np.abs(va).max() <= 1
    happy = va[classes == EMOTIONS.index("Happy")].mean(0)
    assert np.linalg.norm(happy - anchor.mean[1]) < 0.1
    assert np.mean(va_to_categorical(anchor.mean, anchor, strategy) == anchor.indices) >= 5 / 7


def test_nearest_on_a_grid_matches_hand_computed_assignments():
    grid = np.array([[v, a] for a in (1, 0, -1) for v in (-1, 0, 1)], dtype=float)
    # e.g. (0, -1): Sad 0.637^2 + 0.743^2 = 0.958 < Neutral 0.063^2 + 0.980^2 = 0.965
    expected = ["Disgust", "Fear", "Surprise", "Sad", "Neutral", "Happy", "Sad", "Sad", "Happy"]
    got = va_to_categorical(grid, affectnet_anchor(), "nearest")
    assert [EMOTIONS[c] for c in got] == expected


def test_likelihood_uses_spread_and_prior_where_nearest_does_not():
    anchor = affectnet_anchor()
    # Fear's valence std (0.071) is under half Surprise's (0.174): (0, 0.75) is nearer Fear's centre (0.13 vs
    # 0.19 away) but 1.8 Fear-sigmas from it in valence and 1.0 Surprise-sigma, and Surprise is twice as common.
    va = np.array([[0.0, 0.75]])
    assert EMOTIONS[va_to_categorical(va, anchor, "nearest")[0]] == "Fear"
    assert EMOTIONS[va_to_categorical(va, anchor, "likelihood")[0]] == "Surprise"


def test_likelihood_beats_nearest_with_an_anchor_fitted_on_other_draws():
    va, _, emotion = sample_expressions(20_000, np.random.default_rng(1))
    anchor = fit_anchor(*sample_expressions(20_000, np.random.default_rng(2))[1:], provenance="other draws")
    acc = {s: np.mean(va_to_categorical(va, anchor, s) == emotion) for s in ("nearest", "likelihood")}
    assert acc["likelihood"] > acc["nearest"]


def test_unknown_strategy_and_missing_class_are_errors():
    anchor = affectnet_anchor()
    with pytest.raises(AnnotationError, match="unknown categorical->VA strategy 'disk'"):
        categorical_to_va(np.array([1]), anchor, "disk")
    with pytest.raises(AnnotationError, match="unknown VA->categorical strategy"):
        va_to_categorical(np.zeros((1, 2)), anchor, "ellipse")
    with pytest.raises(AnnotationError, match=r"no ellipse for \['Contempt'\]"):
        categorical_to_va(np.array([7]), anchor, "ellipse")
    assert set(CAT_TO_VA) & set(VA_TO_CAT) == {"gmm", "kmeans"}


def test_discretize_rounds_to_the_integer_grid_and_back():
    va = np.array([[0.64, -0.05], [-1.0, 0.999], [0.149, -0.151]])
    grid = discretize(va)
    assert grid.tolist() == [[6, 0], [-10, 10], [1, -2]] and grid.dtype == np.int64
    assert np.abs(undiscretize(grid) - va).max() <= 0.05 + 1e-12


def test_fit_anchor_recovers_class_statistics_and_keeps_the_data():
    anchor = affectnet_anchor()
    va, _, emotion = sample_expressions(50_000, np.random.default_rng(2), anchor)
    emotion[:10] = -1
    fitted = fit_anchor(va, emotion, provenance="test draws")
    assert fitted.classes == anchor.classes and fitted.va.shape[0] == 50_000 - 10
    np.testing.assert_allclose(fitted.mean, anchor.mean, atol=0.01)
    np.testing.assert_allclose(fitted.std, anchor.std / 2, rtol=0.05)  # std of a uniform disk: semi-axis / 2
    np.testing.assert_allclose(fitted.prior, anchor.prior, atol=0.01)


def test_russell_anchor_puts_the_classes_on_the_circumplex_directions():
    anchor = russell_anchor()
    angles = dict(zip(anchor.classes, np.degrees(np.arctan2(anchor.mean[:, 1], anchor.mean[:, 0])), strict=True))
    assert angles["Happy"] == pytest.approx(0) and angles["Fear"] == pytest.approx(90)
    assert angles["Sad"] == pytest.approx(-135, abs=1e-3) and np.all(np.abs(anchor.mean) + anchor.std <= 1 + 1e-6)
