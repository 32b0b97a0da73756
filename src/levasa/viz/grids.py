"""Image grids built from model outputs (tensors in, an image tensor out; no training logic)."""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.utils import make_grid


def reconstruction_grid(x: Tensor, x_hat: Tensor) -> Tensor:
    """Originals above their reconstructions: ``[3, H', W']`` from two ``[N, 3, H, W]`` batches in [0, 1]."""
    return make_grid(torch.cat([x, x_hat.clamp(0, 1)]), nrow=len(x), padding=2, pad_value=1.0)


def label_conditional_means(chunk: Tensor, label: Tensor, steps: int) -> Tensor:
    """Mean chunk ``[steps, d]`` over samples in ``steps`` quantile bins of ``label``.

    Walking along the bins moves the chunk the way the data moves it when the label grows, for any
    model (aligned or not), so decoding the means shows what the chunk holds of that label.

    Args:
        chunk: posterior means ``[N, d]``.
        label: ``[N]`` labels; NaN rows are ignored.
        steps: number of bins (columns of the traversal).
    """
    known = ~torch.isnan(label)
    chunk, label = chunk[known], label[known]
    if len(label) < steps:
        raise ValueError(f"need at least {steps} labelled samples for a {steps}-step traversal, found {len(label)}")
    order = torch.argsort(label)
    return torch.stack([chunk[idx].mean(0) for idx in torch.tensor_split(order, steps)])


def traversal_latents(base: list[Tensor], index: int, path: Tensor) -> Tensor:
    """Latents ``[N * steps, D]`` that replace chunk ``index`` of each base row by each step of ``path``.

    Args:
        base: per-chunk posterior means of N base images, each ``[N, d_k]``, in chunk order.
        index: which chunk walks.
        path: ``[steps, d_index]`` values for the walking chunk.
    """
    n, steps = len(base[0]), len(path)
    parts = [c.repeat_interleave(steps, dim=0) for c in base]
    parts[index] = path.repeat(n, 1)
    return torch.cat(parts, dim=1)


def traversal_grid(images: Tensor, steps: int) -> Tensor:
    """Rows of ``steps`` decoded images ``[N * steps, 3, H, W]`` -> one grid image ``[3, H', W']``."""
    return make_grid(images.clamp(0, 1), nrow=steps, padding=2, pad_value=1.0)
