"""Probes: an informative representation scores about 1, noise about 0; fitting uses the train split only."""

import numpy as np
import pytest

from levasa.metrics.probes import classification_probe, majority_baseline, regression_probe


def data(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    label = rng.uniform(-1, 1, n)
    informative = np.stack([label, rng.standard_normal(n)], axis=1) * [1.0, 0.1]
    noise = rng.standard_normal((n, 2))
    return label, informative, noise


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_regression_probe_oracle(kind):
    label, informative, noise = data()
    good = regression_probe(informative[:400], label[:400], informative[400:], label[400:], kind=kind)
    bad = regression_probe(noise[:400], label[:400], noise[400:], label[400:], kind=kind)
    assert good["r2"] > 0.95 and good["ccc"] > 0.95
    assert bad["r2"] < 0.05 and abs(bad["ccc"]) < 0.2
    assert set(good) == {"r2", "mse", "mae", "ccc"}


def test_regression_probe_is_scored_on_unseen_rows_only():
    # pure noise features with many dimensions: a probe scored on its own train rows would look good
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((120, 100)), rng.standard_normal(120)
    assert regression_probe(x[:60], y[:60], x[60:], y[60:])["r2"] < 0.0


def noise_problem(seed: int, n_train: int = 600, n_test: int = 400, dims: int = 32):
    """Pure-noise features with a value and a skewed class drawn independently of them."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    x = rng.standard_normal((n, dims))
    value = rng.uniform(-1, 1, n)
    classes = rng.choice(5, n, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    split = (slice(None, n_train), slice(n_train, None))
    return [(x[s], value[s], classes[s]) for s in split]


@pytest.mark.parametrize("kind", ["linear", "mlp"])
@pytest.mark.parametrize("seed", [0, 1])
def test_probes_score_chance_not_below_it_on_noise(kind, seed):
    # features that hold nothing about the label: a regularised probe predicts about the train mean / the
    # majority class, so it scores R² ≈ 0 and accuracy ≈ the majority baseline, never far below them
    (x, value, classes), (x_test, value_test, classes_test) = noise_problem(seed)
    regression = regression_probe(x, value, x_test, value_test, kind=kind, seed=seed)
    # predicting the train mean on 400 test rows costs about -(1/600 + 1/400) of R²; -0.1 leaves room for a
    # few spurious weights while a probe that memorised the noise scores R² < -0.5
    assert -0.1 <= regression["r2"] < 0.05
    classification = classification_probe(x, classes, x_test, classes_test, kind=kind, seed=seed)
    majority = majority_baseline(classes, classes_test)["accuracy"]
    # 0.03 below the majority rate is 12 of 400 test rows predicted otherwise: room for a probe that
    # sometimes strays from the majority class, not for one that fits noise (it loses more than 0.1)
    assert classification["accuracy"] >= majority - 0.03
    assert classification["balanced_accuracy"] < 0.3  # chance over 5 classes is 0.2


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_probes_score_about_one_when_features_hold_the_label(kind):
    # the label itself among many noise columns: regularisation must not cost the signal
    (x, value, classes), (x_test, value_test, classes_test) = noise_problem(seed=2)
    regression = regression_probe(
        np.column_stack([value, x]), value, np.column_stack([value_test, x_test]), value_test, kind=kind
    )
    assert regression["r2"] > 0.9 and regression["ccc"] > 0.9
    one_hot, one_hot_test = np.eye(5)[classes], np.eye(5)[classes_test]
    classification = classification_probe(
        np.column_stack([one_hot, x]), classes, np.column_stack([one_hot_test, x_test]), classes_test, kind=kind
    )
    assert classification["accuracy"] > 0.9 and classification["macro_f1"] > 0.9


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_probes_are_deterministic_for_a_seed(kind):
    label, informative, noise = data()
    features = np.column_stack([informative, noise])
    classes = np.digitize(label, [-0.33, 0.33])
    for probe, y in ((regression_probe, label), (classification_probe, classes)):
        runs = [probe(features[:400], y[:400], features[400:], y[400:], kind=kind, seed=7) for _ in range(2)]
        assert runs[0] == runs[1]


@pytest.mark.filterwarnings("ignore:The least populated class in y has only 1 members:UserWarning")
@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_classification_probe_copes_with_a_class_seen_once(kind):
    # a class with a single train row cannot be stratified into a validation split; the probe still fits
    label, informative, _ = data()
    classes = np.digitize(label, [-0.33, 0.33])
    classes[:400][classes[:400] == 2] = 1
    classes[0] = 2
    scores = classification_probe(informative[:400], classes[:400], informative[400:], classes[400:], kind=kind)
    assert 0.0 <= scores["accuracy"] <= 1.0


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_classification_probe_oracle_and_majority_baseline(kind):
    label, informative, noise = data()
    classes = np.digitize(label, [-0.33, 0.33])
    good = classification_probe(informative[:400], classes[:400], informative[400:], classes[400:], kind=kind)
    assert good["accuracy"] > 0.9 and good["macro_f1"] > 0.9
    bad = classification_probe(noise[:400], classes[:400], noise[400:], classes[400:], kind=kind)
    assert bad["balanced_accuracy"] < 0.5
    skewed = np.array([0] * 8 + [1] * 2)
    base = majority_baseline(skewed, skewed)
    assert base["accuracy"] == pytest.approx(0.8) and base["balanced_accuracy"] == pytest.approx(0.5)


def test_unknown_labels_are_left_out_and_bad_inputs_are_clear_errors():
    label, informative, _ = data()
    holes = label.copy()
    holes[::3] = np.nan
    assert regression_probe(informative[:400], holes[:400], informative[400:], holes[400:])["r2"] > 0.95
    with pytest.raises(ValueError, match="equal D"):
        regression_probe(informative, label, informative[:, :1], label)
    with pytest.raises(ValueError, match="one label per row"):
        regression_probe(informative, label[:10], informative, label)
    with pytest.raises(ValueError, match="probe kind must be one of"):
        regression_probe(informative, label, informative, label, kind="forest")
    with pytest.raises(ValueError, match="at least two known classes"):
        classification_probe(informative, np.zeros(600, int), informative, np.zeros(600, int))


def test_grouped_selection_keeps_a_subject_fingerprint_from_passing_for_signal():
    """Features that only identify the subject, and a label constant per subject: leave-one-out selection lets the
    ridge memorise the subjects it has seen (and fail on new ones); folds grouped by subject choose a ridge that
    predicts about the mean, R² about 0 on held-out subjects."""
    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(120), 10)
    fingerprint = rng.normal(size=(120, 30))[subjects] + 0.05 * rng.normal(size=(1200, 30))
    label = rng.normal(size=120)[subjects]
    train, test = subjects < 80, subjects >= 80
    args = (fingerprint[train], label[train], fingerprint[test], label[test], "linear", 0)
    grouped = regression_probe(*args, groups=subjects[train])["r2"]
    ungrouped = regression_probe(*args)["r2"]
    assert -0.1 < grouped < 0.05  # about the train mean (the held-out subjects' mean differs a little)
    assert ungrouped < -0.4
