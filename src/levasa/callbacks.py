"""Training callbacks: image grids for TensorBoard (the module itself draws nothing)."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from levasa.viz.grids import model_grids


class ImageGridCallback(L.Callback):
    """After validation, logs a reconstruction grid and z_v / z_a traversals to TensorBoard.

    The traversals decode, for a few held-out faces, their own z_a and z_z with z_v replaced by the
    mean z_v of held-out faces in ``steps`` bins of rising valence (and the same for z_a and arousal):
    faces walking the circumplex, for any model.

    Args:
        every_n_epochs: log every this many validation epochs.
        n_images: faces per grid row (reconstructions) / rows (traversals).
        steps: columns of the traversals.
        max_samples: held-out samples used for the label-conditional means.
    """

    def __init__(self, every_n_epochs: int = 1, n_images: int = 8, steps: int = 7, max_samples: int = 512) -> None:
        super().__init__()
        self.every_n_epochs = every_n_epochs
        self.n_images = n_images
        self.steps = steps
        self.max_samples = max_samples

    def _held_out_batch(self, trainer: L.Trainer) -> dict[str, Tensor]:
        dataset = trainer.datamodule.datasets["val"]
        idx = torch.linspace(0, len(dataset) - 1, min(self.max_samples, len(dataset))).long()
        samples = [dataset[int(i)] for i in idx]
        return {"image": torch.stack([s["image"] for s in samples]), "va": torch.stack([s["va"] for s in samples])}

    @torch.no_grad()
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.logger is None or trainer.current_epoch % self.every_n_epochs:
            return
        experiment = getattr(trainer.logger, "experiment", None)
        if not hasattr(experiment, "add_image"):
            return
        batch = self._held_out_batch(trainer)
        x = batch["image"].to(pl_module.device)
        for name, grid in model_grids(pl_module, x, batch["va"], self.n_images, self.steps).items():
            experiment.add_image(f"val/{name}", grid.cpu(), trainer.global_step)
