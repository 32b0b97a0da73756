"""Label sampling (classes with the anchor's frequencies, VA inside their ellipses) and the Bayes oracle on it."""

from __future__ import annotations

import numpy as np
import pytest

from levasa.annotation.anchors import Anchor, affectnet_anchor
from levasa.annotation.oracle import bayes_emotion, oracle_accuracy
from levasa.annotation.sampling import sample_expressions, sample_subject_labels
from levasa.vocabulary import EMOTIONS

# ---------------------------------------------------------------------------------------------- sampling


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


def test_subject_labels_are_contiguous_per_subject_deterministic_per_seed_and_noisy_only_when_asked():
    labels = sample_subject_labels(5, 4, seed=2)
    np.testing.assert_array_equal(labels.subject, np.repeat(np.arange(5), 4))
    assert labels.subject.dtype == labels.emotion.dtype == np.int64
    assert labels.va.shape == labels.true_va.shape == (20, 2) and labels.va.dtype == np.float32
    np.testing.assert_array_equal(labels.va, labels.true_va)
    np.testing.assert_array_equal(sample_subject_labels(5, 4, seed=2).true_va, labels.true_va)
    assert not np.array_equal(sample_subject_labels(5, 4, seed=3).true_va, labels.true_va)
    noisy = sample_subject_labels(5, 4, seed=2, label_noise=0.1)
    np.testing.assert_array_equal(noisy.true_va, labels.true_va)
    np.testing.assert_array_equal(noisy.emotion, labels.emotion)
    assert not np.array_equal(noisy.va, labels.va) and np.abs(noisy.va).max() <= 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sample_expressions(0, np.random.default_rng(0)), "n must be an integer >= 1"),
        (lambda: sample_expressions(3, np.random.default_rng(0), label_noise=-0.1), "label_noise"),
        (lambda: sample_subject_labels(2, 0), "per_subject"),
        (lambda: bayes_emotion(np.zeros((4, 3))), r"va must have shape \[N, 2\]"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------------------ oracle


def interior_bayes(va: np.ndarray, anchor: Anchor) -> np.ndarray:
    """Bayes rule for unclipped ellipses, written independently of the module."""
    z = (va[:, None, :] - anchor.mean[None]) / anchor.std[None]
    density = ((z**2).sum(-1) <= 1) / (np.pi * anchor.std.prod(1))
    return anchor.indices[np.argmax(anchor.prior * density, axis=1)]


def test_oracle_accuracy_is_sane_and_matches_the_bayes_rule_on_a_labelled_set():
    anchor = affectnet_anchor()
    acc = oracle_accuracy(anchor, n=50_000)
    assert anchor.prior.max() + 0.3 < acc < 1
    labels = sample_subject_labels(40, 25, seed=3)
    on_set = np.mean(interior_bayes(labels.true_va.astype(np.float64), anchor) == labels.emotion)
    assert on_set == pytest.approx(acc, abs=0.01)
    np.testing.assert_array_equal(bayes_emotion(labels.true_va, anchor), interior_bayes(labels.true_va, anchor))


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


def test_oracle_accounts_for_mass_clipped_into_a_corner():
    # B is centred beyond the (1, 1) corner: much of its mass lands on the corner point itself
    anchor = two_class_anchor([[0.7, 0.7], [1.1, 1.1]], [[0.3, 0.3], [0.5, 0.5]], [0.6, 0.4])
    acc = oracle_accuracy(anchor, n=100_000, seed=5)
    va, _, emotion = sample_expressions(100_000, np.random.default_rng(6), anchor)
    assert (va == 1).all(1).mean() > 0.05
    train_va, _, train_emotion = sample_expressions(400_000, np.random.default_rng(7), anchor)
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
