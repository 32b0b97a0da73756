"""Alignment losses that tie the latent chunk z_v to valence and z_a to arousal.

Each loss is an ``nn.Module`` (some own small heads) with the same interface:

- ``forward(z_v, z_a, va) -> Tensor``: the loss for chunks ``[B, d]`` (samples, or posterior means
  when ``use_mean``) against labels
  ``va [B, 2]`` in ``[-1, 1]``; rows whose label is NaN on an axis are left out of that axis;
  per-sample terms are averaged over the samples that have the label, then summed over the two axes.
- ``readout(mu_v, mu_a) -> Tensor [B, 2]``: the model's valence-arousal estimate from the chunks'
  posterior means, in ``[-1, 1]`` units.

The variants:

- ``MSEAlignment``: the paper's continuous variant: every dimension of the chunk regresses the label;
  the readout is the chunk's mean over dimensions.
- ``BinnedCEAlignment``: the paper's discrete variant: small heads classify the label discretized into
  21 bins (integers -10..10, shifted by +10 into class indices 0..20); the readout is the expected bin value.
- ``LinearAlignment``: one learned direction per chunk carries the label (an affine readout of the
  chunk's posterior mean, squared error). Unlike ``MSEAlignment`` it does not force all dimensions of
  the chunk onto one value against the KL prior, so the rest of the chunk stays free for within-axis
  variation; unlike the binned variant it keeps the label continuous; and it supervises the posterior
  mean, which is what the readout reads at test time, rather than a sample whose unit-variance noise
  (at initialisation) drowns the label until the KL-penalised variance has shrunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def masked_mean(per_sample: Tensor, label: Tensor) -> Tensor:
    """Mean of ``per_sample [B]`` over rows whose ``label [B]`` is not NaN (0 when there are none)."""
    known = ~torch.isnan(label)
    total = torch.where(known, per_sample, torch.zeros_like(per_sample)).sum()
    return total / known.sum().clamp(min=1)


def _fill_unknown(label: Tensor) -> Tensor:
    """Labels with NaN replaced by 0, so that masked rows produce finite (then discarded) terms."""
    return torch.nan_to_num(label, nan=0.0)


class AlignmentLoss(nn.Module, ABC):
    """Base class: per-axis per-sample loss, NaN masking and the readout interface.

    Args:
        use_mean: align the chunks' posterior means (what the readout reads) instead of their samples.
    """

    def __init__(self, use_mean: bool = False) -> None:
        super().__init__()
        self.use_mean = use_mean

    @abstractmethod
    def per_sample(self, chunk: Tensor, label: Tensor, axis: int) -> Tensor:
        """Per-sample loss ``[B]`` of one chunk ``[B, d]`` against one axis' label ``[B]``."""

    @abstractmethod
    def read_axis(self, mu: Tensor, axis: int) -> Tensor:
        """The label estimate ``[B]`` from one chunk's posterior mean ``[B, d]``."""

    def forward(self, z_v: Tensor, z_a: Tensor, va: Tensor) -> Tensor:
        """Alignment loss of sampled chunks ``[B, d]`` against ``va [B, 2]`` (NaN = unknown)."""
        loss = z_v.new_zeros(())
        for axis, chunk in enumerate((z_v, z_a)):
            label = va[:, axis]
            loss = loss + masked_mean(self.per_sample(chunk, _fill_unknown(label), axis), label)
        return loss

    def readout(self, mu_v: Tensor, mu_a: Tensor) -> Tensor:
        """Valence-arousal estimate ``[B, 2]`` from the chunks' posterior means."""
        return torch.stack([self.read_axis(mu_v, 0), self.read_axis(mu_a, 1)], dim=1)


class MSEAlignment(AlignmentLoss):
    """Squared error between every dimension of the chunk and the label (mean over dimensions)."""

    def per_sample(self, chunk: Tensor, label: Tensor, axis: int) -> Tensor:
        return (chunk - label[:, None]).pow(2).mean(1)

    def read_axis(self, mu: Tensor, axis: int) -> Tensor:
        return mu.mean(1)


class BinnedCEAlignment(AlignmentLoss):
    """Cross-entropy over ``bins`` VA bins through a small head per chunk.

    Args:
        dim_v, dim_a: sizes of z_v and z_a.
        bins: number of bins over ``[-1, 1]`` (21 = the integers -10..10 of AFEW-VA).
        hidden: width of the heads' hidden layer.
    """

    def __init__(self, dim_v: int, dim_a: int, bins: int = 21, hidden: int = 64, use_mean: bool = False) -> None:
        super().__init__(use_mean)
        if bins < 2:
            raise ValueError(f"bins must be at least 2, found {bins}")
        self.bins = bins
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, bins)) for dim in (dim_v, dim_a)
        )
        self.register_buffer("centres", torch.linspace(-1.0, 1.0, bins), persistent=False)

    def to_bin(self, label: Tensor) -> Tensor:
        """Class index ``[B]`` in ``0..bins-1`` of labels in ``[-1, 1]`` (-1 -> 0, 0 -> bins//2, 1 -> bins-1)."""
        index = torch.round((label.clamp(-1.0, 1.0) + 1.0) * (self.bins - 1) / 2.0)
        return index.long()

    def per_sample(self, chunk: Tensor, label: Tensor, axis: int) -> Tensor:
        return F.cross_entropy(self.heads[axis](chunk), self.to_bin(label), reduction="none")

    def read_axis(self, mu: Tensor, axis: int) -> Tensor:
        return self.heads[axis](mu).softmax(-1) @ self.centres


class LinearAlignment(AlignmentLoss):
    """Squared error of a learned affine readout of each chunk (one direction carries the label)."""

    def __init__(self, dim_v: int, dim_a: int, use_mean: bool = True) -> None:
        super().__init__(use_mean)
        self.heads = nn.ModuleList(nn.Linear(dim, 1) for dim in (dim_v, dim_a))

    def per_sample(self, chunk: Tensor, label: Tensor, axis: int) -> Tensor:
        return (self.heads[axis](chunk).squeeze(1) - label).pow(2)

    def read_axis(self, mu: Tensor, axis: int) -> Tensor:
        return self.heads[axis](mu).squeeze(1)
