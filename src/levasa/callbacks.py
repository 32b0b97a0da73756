"""Training callbacks: image grids for TensorBoard (the module itself draws nothing)."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from levasa.viz.grids import label_conditional_means, reconstruction_grid, traversal_grid, traversal_latents


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
        enc = pl_module.encode(x)
        chunks = [enc.v.mu, enc.a.mu, enc.z.mu]
        spread = torch.linspace(0, len(x) - 1, min(self.n_images, len(x)), device=x.device).long()  # many subjects
        base = [c[spread] for c in chunks]
        recon = pl_module.decode(torch.cat(base, dim=1))
        step = trainer.global_step
        experiment.add_image("val/reconstructions", reconstruction_grid(x[spread], recon).cpu(), step)
        for axis, name in enumerate(("v", "a")):
            label = batch["va"][:, axis].to(pl_module.device)
            if int((~torch.isnan(label)).sum()) < self.steps:
                continue
            path = label_conditional_means(chunks[axis], label, self.steps)
            images = pl_module.decode(traversal_latents(base, axis, path))
            experiment.add_image(f"val/traverse_z_{name}", traversal_grid(images, self.steps).cpu(), step)
