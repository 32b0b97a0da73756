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


@torch.no_grad()
def model_grids(module, images: Tensor, va: Tensor, n_images: int = 8, steps: int = 7) -> dict[str, Tensor]:
    """Reconstruction and z_v / z_a traversal grids of a model on held-out faces.

    Args:
        module: anything with ``encode(x) -> Encoding`` and ``decode(z) -> images``.
        images: held-out faces ``[N, 3, H, W]`` in [0, 1]; ``va``: their labels ``[N, 2]`` (NaN = unknown).
        n_images: faces shown, spread evenly over the N (so that they come from many subjects).
        steps: columns of the traversals (quantile bins of the label).
    Returns:
        ``{"reconstructions": grid, "traverse_z_v": grid, "traverse_z_a": grid}`` (traversals only when
        at least ``steps`` faces carry the label), each ``[3, H', W']``.
    """
    enc = module.encode(images)
    chunks = [enc.v.mu, enc.a.mu, enc.z.mu]
    spread = torch.linspace(0, len(images) - 1, min(n_images, len(images)), device=images.device).long()
    base = [c[spread] for c in chunks]
    grids = {"reconstructions": reconstruction_grid(images[spread], module.decode(torch.cat(base, dim=1)))}
    for axis, name in enumerate(("v", "a")):
        label = va[:, axis].to(images.device)
        if int((~torch.isnan(label)).sum()) >= steps:
            path = label_conditional_means(chunks[axis], label, steps)
            grids[f"traverse_z_{name}"] = traversal_grid(module.decode(traversal_latents(base, axis, path)), steps)
    return grids
