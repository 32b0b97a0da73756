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


def swap_grid(module, chunks: list[Tensor]) -> Tensor:
    """Swaps among ``n`` faces given by their per-chunk posterior means (``[n, d_k]`` each, order v, a, z): the top
    row decodes the donors, the left column the recipients, and cell (i, j) is recipient i's z_z with donor j's z_v
    and z_a. ``[3, H', W']``."""
    n = len(chunks[0])
    own = module.decode(torch.cat(chunks, dim=1))
    donors = torch.arange(n, device=own.device).repeat(n)  # row i: donors 0..n-1
    recipients = torch.arange(n, device=own.device).repeat_interleave(n)
    swapped = module.decode(torch.cat([chunks[0][donors], chunks[1][donors], chunks[2][recipients]], dim=1))
    cells = torch.cat([torch.ones_like(own[:1]), own, *(torch.cat([own[i : i + 1], swapped[i * n : (i + 1) * n]])
                                                        for i in range(n))])  # fmt: skip
    return make_grid(cells.clamp(0, 1), nrow=n + 1, padding=2, pad_value=1.0)


def va_plane_latents(base: list[Tensor], path_v: Tensor, path_a: Tensor) -> Tensor:
    """Latents ``[steps_a * steps_v, D]`` of one face (``base``: its chunks, ``[1, d_k]`` each) with z_v set to each
    step of ``path_v`` (columns, valence rising to the right) and z_a to each step of ``path_a`` (rows, arousal
    rising upwards: the first row is the last step)."""
    rows, cols = len(path_a), len(path_v)
    z_v = path_v.repeat(rows, 1)
    z_a = path_a.flip(0).repeat_interleave(cols, dim=0)
    return torch.cat([z_v, z_a, base[2].expand(rows * cols, -1)], dim=1)


@torch.no_grad()
def model_grids(
    module, images: Tensor, va: Tensor, n_images: int = 8, steps: int = 7, swap: bool = True
) -> dict[str, Tensor]:
    """Reconstruction and z_v / z_a traversal grids of a model on held-out faces.

    Args:
        module: anything with ``encode(x) -> Encoding`` and ``decode(z) -> images``.
        images: held-out faces ``[N, 3, H, W]`` in [0, 1]; ``va``: their labels ``[N, 2]`` (NaN = unknown).
        n_images: faces shown, spread evenly over the N (so that they come from many subjects).
        steps: columns of the traversals (quantile bins of the label).
        swap: include the swap grid (the evaluation draws its own, one face per subject).
    Returns:
        ``{"reconstructions": grid, "swap": grid, "traverse_z_v": grid, "traverse_z_a": grid, "va_plane": grid}``,
        each ``[3, H', W']``: the swap grid among ``n_images`` faces (:func:`swap_grid`); the traversals only when at
        least ``steps`` faces carry the label; ``va_plane`` (the first face with z_v and z_a walking the label
        bins together, a ``steps x steps`` grid: valence to the right, arousal upwards) when both axes do.
    """
    enc = module.encode(images)
    chunks = [enc.v.mu, enc.a.mu, enc.z.mu]
    spread = torch.linspace(0, len(images) - 1, min(n_images, len(images)), device=images.device).long()
    base = [c[spread] for c in chunks]
    grids = {"reconstructions": reconstruction_grid(images[spread], module.decode(torch.cat(base, dim=1)))}
    if swap:
        grids["swap"] = swap_grid(module, base)
    paths = {}
    for axis, name in enumerate(("v", "a")):
        label = va[:, axis].to(images.device)
        if int((~torch.isnan(label)).sum()) >= steps:
            paths[axis] = label_conditional_means(chunks[axis], label, steps)
            grids[f"traverse_z_{name}"] = traversal_grid(
                module.decode(traversal_latents(base, axis, paths[axis])), steps
            )
    if len(paths) == 2:
        plane = va_plane_latents([c[:1] for c in base], paths[0], paths[1])
        grids["va_plane"] = traversal_grid(module.decode(plane), steps)
    return grids
