"""Alignment metrics: oracle cases (identity about 1, noise about 0) and values worked out by hand."""

import numpy as np
import pytest

from levasa.metrics.alignment import alignment_report, ccc, mae, mse, pearson, sagr


def test_identity_scores_perfectly_and_noise_scores_about_zero():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, 5000)
    assert ccc(truth, truth) == pytest.approx(1.0) and pearson(truth, truth) == pytest.approx(1.0)
    assert mse(truth, truth) == 0.0 and mae(truth, truth) == 0.0 and sagr(truth, truth) == 1.0
    noise = rng.uniform(-1, 1, 5000)
    assert abs(ccc(noise, truth)) < 0.05 and abs(pearson(noise, truth)) < 0.05
    assert sagr(noise, truth) == pytest.approx(0.5, abs=0.03)


def test_hand_computed_values():
    pred, truth = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 4.0])
    assert mse(pred, truth) == pytest.approx((1 + 0 + 4) / 3)
    assert mae(pred, truth) == pytest.approx((1 + 0 + 2) / 3)
    # means 1 and 2, population variances 2/3 and 2, covariance (-1*-1 + 0 + 1*2)/3 = 1
    assert ccc(pred, truth) == pytest.approx(2 * 1 / (2 / 3 + 2 + 1))
    assert pearson(pred, truth) == pytest.approx(1 / np.sqrt(2 / 3 * 2))
    assert sagr(np.array([0.5, -0.2, 0.1]), np.array([0.3, 0.4, 0.2])) == pytest.approx(2 / 3)


def test_mae_is_not_the_absolute_mean_error():
    pred, truth = np.array([1.0, -1.0]), np.zeros(2)
    assert mae(pred, truth) == 1.0  # the mean signed error is 0: the original release reported that


def test_ccc_penalises_bias_and_scale_that_pearson_ignores():
    truth = np.linspace(-1, 1, 101)
    assert pearson(truth * 0.1 + 0.5, truth) == pytest.approx(1.0)
    assert ccc(truth * 0.1 + 0.5, truth) < 0.3


def test_nan_pairs_are_ignored_and_bad_shapes_are_errors():
    pred, truth = np.array([0.1, np.nan, 0.3]), np.array([0.1, 0.2, np.nan])
    assert mse(pred, truth) == 0.0
    with pytest.raises(ValueError, match="no pair"):
        mse(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="equal length"):
        mae(np.zeros(3), np.zeros(4))


def test_report_has_every_metric_per_axis():
    rng = np.random.default_rng(1)
    truth = rng.uniform(-1, 1, (200, 2))
    report = alignment_report(truth + 0.01 * rng.standard_normal((200, 2)), truth)
    assert set(report) == {"valence", "arousal"}
    assert set(report["valence"]) == {"mse", "mae", "pearson", "ccc", "sagr"}
    assert report["arousal"]["ccc"] > 0.99
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        alignment_report(truth[:, 0], truth[:, 0])


def test_ccc_agrees_with_the_validation_metric_of_the_training_loop():
    import torch
    from torchmetrics.functional import concordance_corrcoef

    rng = np.random.default_rng(2)
    truth = rng.uniform(-1, 1, 2000)
    pred = 0.6 * truth + 0.1 + 0.2 * rng.standard_normal(2000)
    # torchmetrics uses unbiased (n - 1) moments: the two differ by O(1/n)
    assert ccc(pred, truth) == pytest.approx(
        concordance_corrcoef(torch.tensor(pred), torch.tensor(truth)).item(), abs=1e-3
    )
