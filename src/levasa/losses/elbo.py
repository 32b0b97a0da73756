"""The evidence lower bound: pixel reconstruction and KL divergence to the N(0, I) prior.

Reductions (``reduction=``), applied to both terms alike so that ``beta`` keeps its meaning:

- ``"sum"``: summed over pixels (recon) and latent dimensions (KL) per image, averaged over the
  batch. This is the negative ELBO per image (MSE = Gaussian likelihood with variance 1/2).
- ``"mean"``: the same per-image sums divided by the number of pixel values ``3*H*W``, i.e. the
  negative ELBO per pixel value; the original LeVAsa release used this scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

REDUCTIONS = ("sum", "mean")
RECONSTRUCTIONS = ("mse", "bce", "gaussian")
"""``mse``: squared error (a Gaussian of fixed variance 1/2, constant dropped); ``bce``: Bernoulli likelihood;
``gaussian``: the calibrated decoder of the sigma-VAE (Rybkin et al., 2021), a Gaussian negative log-likelihood
whose shared variance is its maximum-likelihood value, the batch's mean squared error, so that the KL term is
weighed against how well the decoder actually reconstructs."""
MIN_VARIANCE = 1e-4
"""Floor of the calibrated decoder's variance (per pixel value, intensities in [0, 1])."""


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise a clear ValueError when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, found {value!r}")


def reconstruction_loss(logits: Tensor, target: Tensor, kind: str = "mse", reduction: str = "sum") -> Tensor:
    """Reconstruction term.

    Args:
        logits: decoder output before the sigmoid, ``[B, C, H, W]``.
        target: images in ``[0, 1]``, ``[B, C, H, W]``.
        kind: ``"mse"`` or ``"gaussian"`` on the sigmoid output, or ``"bce"`` (Bernoulli likelihood) on the logits.
        reduction: see the module docstring.
    Returns:
        scalar loss.
    """
    check_choice("reconstruction", kind, RECONSTRUCTIONS)
    check_choice("reduction", reduction, REDUCTIONS)
    if kind == "mse":
        per_value = (torch.sigmoid(logits) - target).pow(2)
    elif kind == "gaussian":
        squared = (torch.sigmoid(logits) - target).pow(2)
        variance = squared.mean().clamp_min(MIN_VARIANCE)
        per_value = squared / (2 * variance) + 0.5 * torch.log(2 * torch.pi * variance)
    else:
        per_value = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    per_image = per_value.flatten(1).sum(1)
    if reduction == "mean":
        per_image = per_image / target[0].numel()
    return per_image.mean()


def kl_divergence(mu: Tensor, logvar: Tensor, pixels: int, reduction: str = "sum") -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dims, averaged over the batch.

    Args:
        mu, logvar: posterior parameters ``[B, D]``.
        pixels: number of pixel values ``3*H*W`` per image (divisor for ``reduction="mean"``).
    """
    check_choice("reduction", reduction, REDUCTIONS)
    per_image = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
    if reduction == "mean":
        per_image = per_image / pixels
    return per_image.mean()
