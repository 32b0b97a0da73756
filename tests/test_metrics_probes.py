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
