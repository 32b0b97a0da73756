"""Disentanglement metrics: factors copied into separate codes score high, noise and mixing score low."""

import numpy as np
import pytest

from levasa.metrics.disentanglement import dci, discretize, disentanglement_report, interpretability, mig, sap


def factors(n: int = 1500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2))


def test_one_code_per_factor_scores_high():
    f = factors()
    noise = np.random.default_rng(1).standard_normal((len(f), 3))
    codes = np.concatenate([f * [2.0, -0.5], noise], axis=1)  # scaled and flipped copies, plus nuisance
    report = disentanglement_report(codes, f)
    assert report["mig"] > 0.7
    assert report["sap"] > 0.9
    assert report["dci_disentanglement"] > 0.8 and report["dci_completeness"] > 0.8
    assert report["dci_informativeness"] > 0.9
    assert report["interpretability"] > 0.95


def test_noise_scores_about_zero():
    f = factors()
    noise = np.random.default_rng(2).standard_normal((len(f), 4))
    assert mig(noise, f) < 0.05
    assert sap(noise, f) < 0.05
    assert dci(noise, f)["informativeness"] < 0.1
    assert interpretability(noise, f) < 0.05


def test_rotated_codes_are_informative_but_not_disentangled():
    f = factors()
    rotation = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    codes = f @ rotation  # each code mixes both factors equally
    assert mig(codes, f) < 0.1
    assert sap(codes, f) < 0.1
    scores = dci(codes, f)
    assert scores["informativeness"] > 0.8 and scores["disentanglement"] < 0.5


def test_discretize_uses_equal_frequency_bins_and_keeps_few_values():
    values = np.stack([np.arange(100.0), np.repeat([0.0, 1.0], 50)], axis=1)
    bins = discretize(values, bins=10)
    assert np.bincount(bins[:, 0]).tolist() == [10] * 10
    assert sorted(np.unique(bins[:, 1]).tolist()) == [0, 1]


def test_bad_inputs_are_clear_errors():
    f = factors(100)
    with pytest.raises(ValueError, match="equal N"):
        mig(f[:50], f)
    with pytest.raises(ValueError, match="at least 20 samples"):
        sap(f[:10], f[:10])
    nan = f.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        dci(f, nan)


def test_vectorised_mutual_information_and_single_code_r2_equal_sklearn_pair_by_pair():
    """The all-pairs forms give what sklearn's mutual_info_score and LinearRegression give one pair at a time,
    including a constant code and a discrete factor."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mutual_info_score, r2_score

    from levasa.metrics.disentanglement import _single_code_r2, _split, discretize, mutual_information

    rng = np.random.default_rng(3)
    codes = rng.normal(size=(300, 6))
    codes[:, 4] = 2.0
    factors = np.c_[codes[:, :2] + 0.3 * rng.normal(size=(300, 2)), rng.integers(0, 7, 300), rng.normal(size=300)]
    c, f = discretize(codes, 20), discretize(factors, 20)
    expected = [[mutual_info_score(f[:, k], c[:, j]) for k in range(4)] for j in range(6)]
    np.testing.assert_allclose(mutual_information(codes, factors), expected, atol=1e-12)
    train, test = _split(300, 0)
    r2 = np.zeros((6, 4))
    for j in range(6):
        for k in range(4):
            line = LinearRegression().fit(codes[train, j : j + 1], factors[train, k])
            r2[j, k] = max(0.0, r2_score(factors[test, k], line.predict(codes[test, j : j + 1])))
    np.testing.assert_allclose(_single_code_r2(codes, factors, train, test), r2, atol=1e-12)
    assert r2[0, 0] > 0.5 and r2[4].max() == 0.0
