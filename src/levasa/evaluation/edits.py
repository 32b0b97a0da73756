"""Latent manipulations that ask whether the decoder draws what the aligned chunks say: swapping z_v and z_a
between faces, and moving them until the model's own VA readout hits a target."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

Readout = Callable[[Tensor, Tensor], Tensor]
"""``readout(z_v [B, d_v], z_a [B, d_a]) -> [B, 2]``: a model's valence-arousal estimate from its chunks."""


def swap_donors(subject: np.ndarray, seed: int) -> np.ndarray:
    """For each row, a seeded donor row of another subject (``[N]`` indices); rows whose subject is the only one
    keep themselves."""
    rng = np.random.default_rng(seed)
    donors = rng.permutation(len(subject))
    for row in np.flatnonzero(subject[donors] == subject):
        others = np.flatnonzero(subject != subject[row])
        donors[row] = rng.choice(others) if len(others) else row
    return donors


def swapped_latents(chunks: dict[str, np.ndarray], donors: np.ndarray) -> np.ndarray:
    """``[z_v(donor), z_a(donor), z_z(recipient)]`` for every row: the donor's expression on the recipient."""
    return np.concatenate([chunks["v"][donors], chunks["a"][donors], chunks["z"]], axis=1)


def va_range(va: np.ndarray, coverage: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The central ``coverage`` of the known VA ``[N, 2]`` per axis: (low ``[2]``, high ``[2]``), where an edit
    target still has faces of its kind in the data."""
    tail = 50 * (1 - coverage)
    return np.nanpercentile(va, tail, axis=0), np.nanpercentile(va, 100 - tail, axis=0)


def va_grid(steps: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Targets ``[steps * steps, 2]`` on a grid from ``low`` to ``high`` (per axis), valence varying fastest."""
    valence, arousal = (np.linspace(low[i], high[i], steps) for i in (0, 1))
    arousal, valence = np.meshgrid(arousal, valence, indexing="ij")
    return np.stack([valence.ravel(), arousal.ravel()], axis=1).astype(np.float32)


def hit_readout(
    readout: Readout, z_v: Tensor, z_a: Tensor, target: Tensor, iterations: int = 20
) -> tuple[Tensor, Tensor]:
    """``z_v``, ``z_a`` moved, each along its readout's gradient (the smallest move for a linear readout), until
    the readout is ``target [B, 2]``: Newton steps per axis, exact in one step for a linear readout."""
    for _ in range(iterations):
        z_v, z_a = z_v.detach().requires_grad_(True), z_a.detach().requires_grad_(True)
        with torch.enable_grad():
            value = readout(z_v, z_a)
            grad_v = torch.autograd.grad(value[:, 0].sum(), z_v, retain_graph=True)[0]
            grad_a = torch.autograd.grad(value[:, 1].sum(), z_a)[0]
        gap = (target - value).detach()
        if gap.abs().max() < 1e-4:
            break
        z_v = z_v.detach() + gap[:, :1] * grad_v / grad_v.pow(2).sum(1, keepdim=True).clamp_min(1e-12)
        z_a = z_a.detach() + gap[:, 1:] * grad_a / grad_a.pow(2).sum(1, keepdim=True).clamp_min(1e-12)
    return z_v.detach(), z_a.detach()
