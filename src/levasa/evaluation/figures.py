"""The evaluation's figures of held-out faces: circumplex scatter, reconstructions, traversals and t-SNE."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from levasa.evaluation.edits import hit_readout, label_directions, va_grid, va_range
from levasa.evaluation.encode import Latents
from levasa.evaluation.sections.base import best_va
from levasa.models.module import LatentVAModule
from levasa.viz.figures import circumplex_figure, image_figure, tsne_figure
from levasa.viz.grids import model_grids
from levasa.viz.grids import swap_grid as swap_grid_of


def evaluation_figures(
    module: LatentVAModule, train: Latents, test: Latents, images: torch.Tensor, seed: int
) -> dict[str, Figure]:
    """Circumplex scatter (models with a readout), reconstructions, traversals, t-SNE, the swap grid and an edit
    grid; ``images`` are the first held-out faces of ``test`` ``[N, 3, H, W]``; edits move the chunks the way they
    move with their labels in ``train``."""
    figures: dict[str, Figure] = {}
    if test.readout is not None:
        figures["circumplex"] = circumplex_figure(test.readout, test.va, test.emotion)
    for name, grid in model_grids(module, images, torch.from_numpy(test.va[: len(images)]), swap=False).items():
        figures[name] = image_figure(grid.numpy(), name.replace("_", " "))
    figures["tsne"] = tsne_figure(test.chunks, test.emotion, seed)
    figures["swap_grid"] = image_figure(swap_grid(module, test, seed).numpy(), "swap: expression of the column's face")
    if getattr(module, "has_readout", False):
        directions = label_directions(train.chunks, best_va(train))
        figures["edit_grid"] = image_figure(edit_grid(module, test, directions).numpy(), "edit: valence ->, arousal ^")
    return figures


def _grid(images: torch.Tensor, columns: int) -> torch.Tensor:
    return make_grid(images.clamp(0, 1), nrow=columns, padding=2, pad_value=1.0)


@torch.no_grad()
def edit_grid(
    module: LatentVAModule, test: Latents, directions: tuple[torch.Tensor, torch.Tensor], steps: int = 5, row: int = 0
) -> torch.Tensor:
    """One held-out face walked over a ``steps x steps`` valence-arousal grid spanning the central 90% of the
    held-out VA (its aligned chunks moved until the readout hits each point): valence grows to the right, arousal
    upwards. ``[3, H', W']``."""
    grid = (
        va_grid(steps, *va_range(best_va(test))).reshape(steps, steps, 2)[::-1].reshape(-1, 2).copy()
    )  # high arousal on top
    chunks = {c: torch.from_numpy(np.repeat(test.chunks[c][row : row + 1], len(grid), axis=0)) for c in "vaz"}
    z_v, z_a = hit_readout(module.alignment.readout, chunks["v"], chunks["a"], torch.from_numpy(grid), directions)
    return _grid(module.decode(torch.cat([z_v, z_a, chunks["z"]], dim=1)), steps)


@torch.no_grad()
def swap_grid(module: LatentVAModule, test: Latents, seed: int, n: int = 6) -> torch.Tensor:
    """Swaps among ``n`` held-out faces of different subjects: the top row decodes the donors, the left column the
    recipients; cell (i, j) is recipient i's z_z with donor j's z_v and z_a. ``[3, H', W']``."""
    first = np.unique(test.subject, return_index=True)[1][:n]  # one face per subject
    return swap_grid_of(module, [torch.from_numpy(test.chunks[c][first]) for c in "vaz"])
