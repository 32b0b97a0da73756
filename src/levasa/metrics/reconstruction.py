"""Reconstruction quality of images in [0, 1]: per-pixel MSE, PSNR and SSIM (SSIM from torchmetrics)."""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import structural_similarity_index_measure


def reconstruction_report(images: np.ndarray, recon: np.ndarray) -> dict[str, float]:
    """Scores of reconstructions ``recon`` of ``images``, both ``[N, 3, H, W]`` in ``[0, 1]``.

    ``mse`` is the mean over pixel values; ``psnr`` (dB, peak 1) is averaged over images; ``ssim`` is
    the mean SSIM with torchmetrics' defaults (Gaussian window 11, sigma 1.5).
    """
    images, recon = np.asarray(images, dtype=np.float32), np.asarray(recon, dtype=np.float32)
    if images.ndim != 4 or images.shape != recon.shape:
        raise ValueError(f"images and recon must both be [N, C, H, W], found {images.shape} and {recon.shape}")
    for name, array in (("images", images), ("recon", recon)):
        if array.min() < 0 or array.max() > 1:
            raise ValueError(f"{name} must lie in [0, 1], found [{array.min()}, {array.max()}]")
    per_image = ((images - recon) ** 2).reshape(len(images), -1).mean(1)
    psnr = -10 * np.log10(np.maximum(per_image, 1e-10))
    ssim = structural_similarity_index_measure(torch.from_numpy(recon), torch.from_numpy(images), data_range=1.0)
    return {"mse": float(per_image.mean()), "psnr": float(psnr.mean()), "ssim": float(ssim)}
