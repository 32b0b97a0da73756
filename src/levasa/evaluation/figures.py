"""The evaluation's figures of held-out faces: circumplex scatter, reconstructions, traversals and t-SNE."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from levasa.evaluation.encode import Latents
from levasa.models.module import LatentVAModule
from levasa.viz.figures import circumplex_figure, image_figure, tsne_figure
from levasa.viz.grids import model_grids


def evaluation_figures(module: LatentVAModule, test: Latents, images: torch.Tensor, seed: int) -> dict[str, Figure]:
    """Circumplex scatter (models with a readout), reconstructions, traversals and t-SNE; ``images`` are the first
    held-out faces of ``test`` ``[N, 3, H, W]``."""
    figures: dict[str, Figure] = {}
    if test.readout is not None:
        figures["circumplex"] = circumplex_figure(test.readout, test.va, test.emotion)
    for name, grid in model_grids(module, images, torch.from_numpy(test.va[: len(images)])).items():
        figures[name] = image_figure(grid.numpy(), name.replace("_", " "))
    figures["tsne"] = tsne_figure(test.chunks, test.emotion, seed)
    return figures
