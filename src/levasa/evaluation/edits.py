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


def label_directions(chunks: dict[str, np.ndarray], va: np.ndarray) -> tuple[Tensor, Tensor]:
    """How z_v moves with valence and z_a with arousal in the data: the least-squares slope of each code on the
    label over the rows where it is known, ``[d_v]`` and ``[d_a]``."""
    directions = []
    for chunk, axis in (("v", 0), ("a", 1)):
        known = ~np.isnan(va[:, axis])
        label = va[known, axis] - va[known, axis].mean()
        codes = chunks[chunk][known] - chunks[chunk][known].mean(0)
        directions.append(torch.from_numpy((label @ codes / max(float(label @ label), 1e-12)).astype(np.float32)))
    return directions[0], directions[1]


def hit_readout(
    readout: Readout,
    z_v: Tensor,
    z_a: Tensor,
    target: Tensor,
    directions: tuple[Tensor, Tensor] | None = None,
    iterations: int = 20,
) -> tuple[Tensor, Tensor]:
    """``z_v``, ``z_a`` moved until the readout is ``target [B, 2]``: along ``directions`` (``[d_v]``, ``[d_a]``:
    how the chunks move with their label in the data, :func:`label_directions`), or, when None, along the
    readout's own gradient (the smallest move). Newton steps per axis: one step for a linear readout."""
    for _ in range(iterations):
        z_v, z_a = z_v.detach().requires_grad_(True), z_a.detach().requires_grad_(True)
        with torch.enable_grad():
            value = readout(z_v, z_a)
            grad_v = torch.autograd.grad(value[:, 0].sum(), z_v, retain_graph=True)[0]
            grad_a = torch.autograd.grad(value[:, 1].sum(), z_a)[0]
        gap = (target - value).detach()
        if gap.abs().max() < 1e-4:
            break
        moves = (grad_v, grad_a) if directions is None else directions
        steps = (moves[0].expand_as(grad_v), moves[1].expand_as(grad_a))
        z_v = z_v.detach() + gap[:, :1] * steps[0] / _safe((grad_v * steps[0]).sum(1, keepdim=True))
        z_a = z_a.detach() + gap[:, 1:] * steps[1] / _safe((grad_a * steps[1]).sum(1, keepdim=True))
    return z_v.detach(), z_a.detach()


def _safe(denominator: Tensor, eps: float = 1e-12) -> Tensor:
    """``denominator`` kept at least ``eps`` away from zero, its sign kept (a readout flat along the move)."""
    return torch.where(denominator.abs() < eps, torch.full_like(denominator, eps), denominator)
