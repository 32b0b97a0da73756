"""Reconstruction metrics: identity, noise and a hand-computed PSNR."""

import numpy as np
import pytest

from levasa.metrics.reconstruction import reconstruction_report


def test_identity_and_noise():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (4, 3, 32, 32)).astype(np.float32)
    same = reconstruction_report(images, images)
    assert same["mse"] == 0.0 and same["ssim"] == pytest.approx(1.0) and same["psnr"] >= 99
    noise = reconstruction_report(images, rng.uniform(0, 1, images.shape).astype(np.float32))
    assert noise["ssim"] < 0.1 and noise["psnr"] < 10


def test_psnr_by_hand():
    images = np.zeros((1, 3, 16, 16), dtype=np.float32)
    report = reconstruction_report(images, images + 0.1)
    assert report["mse"] == pytest.approx(0.01) and report["psnr"] == pytest.approx(20.0, abs=1e-4)


def test_bad_inputs_are_clear_errors():
    images = np.zeros((2, 3, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        reconstruction_report(images, images[:1])
    with pytest.raises(ValueError, match=r"recon must lie in \[0, 1\]"):
        reconstruction_report(images, images + 2)
