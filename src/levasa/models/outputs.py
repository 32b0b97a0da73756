"""Named outputs of the networks and the module (no positional tuples)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

CHUNKS = ("v", "a", "z")
"""Latent chunks: z_v (valence), z_a (arousal), z_z (everything else)."""


@dataclass
class Posterior:
    """Diagonal Gaussian posterior of one latent chunk; ``mu`` and ``logvar`` are ``[B, d]``."""

    mu: Tensor
    logvar: Tensor

    def sample(self) -> Tensor:
        """Reparameterized sample ``[B, d]``."""
        return self.mu + torch.randn_like(self.mu) * (0.5 * self.logvar).exp()


@dataclass
class Encoding:
    """Per-chunk posteriors of a batch."""

    v: Posterior
    a: Posterior
    z: Posterior

    @property
    def mu(self) -> Tensor:
        """Concatenated means ``[B, d_v + d_a + d_z]``, in chunk order v, a, z."""
        return torch.cat([self.v.mu, self.a.mu, self.z.mu], dim=1)

    @property
    def logvar(self) -> Tensor:
        """Concatenated log-variances ``[B, d_v + d_a + d_z]``."""
        return torch.cat([self.v.logvar, self.a.logvar, self.z.logvar], dim=1)


@dataclass
class VAEOutput:
    """A forward pass: the encoding, the sampled chunks and the reconstruction."""

    encoding: Encoding
    z_v: Tensor
    z_a: Tensor
    z_z: Tensor
    logits: Tensor

    @property
    def x_hat(self) -> Tensor:
        """Reconstruction ``[B, 3, H, W]`` in ``[0, 1]``."""
        return torch.sigmoid(self.logits)


@dataclass
class LossOutput:
    """The training objective and its parts (all scalars); ``align`` is 0 for the Vanilla VAE; ``terms``: the
    unweighted structure terms by name (see :mod:`levasa.losses.structure`)."""

    loss: Tensor
    recon: Tensor
    kl: Tensor
    align: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Tensor]:
        """The parts by name, for logging."""
        return {"loss": self.loss, "recon": self.recon, "kl": self.kl, "align": self.align, **self.terms}
