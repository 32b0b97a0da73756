"""Training callbacks: image grids for TensorBoard (the module itself draws nothing), per-source metrics."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor
from torchmetrics.regression import ConcordanceCorrCoef, MeanAbsoluteError

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


class SourceMetrics(L.Callback):
    """Validation readout CCC and MAE per source of a pooled dataset, logged as ``val/<source>/ccc_v`` etc.

    Does nothing unless the batches carry ``source`` (pooled data) and the model has a VA readout.
    """

    AXES = (("v", 0), ("a", 1))

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[tuple[int, str], torch.nn.Module] = {}

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: dict, *args: object
    ) -> None:
        if not isinstance(outputs, dict) or "va_pred" not in outputs or "source" not in batch:
            return
        pred, va, source = outputs["va_pred"], batch["va"], batch["source"]
        for index in torch.unique(source).tolist():
            mine = source == index
            for axis, column in self.AXES:
                known = mine & ~torch.isnan(va[:, column])
                if known.any():
                    for kind, factory in (("ccc", ConcordanceCorrCoef), ("mae", MeanAbsoluteError)):
                        key = (index, f"{kind}_{axis}")
                        if key not in self.metrics:
                            self.metrics[key] = factory().to(pl_module.device)
                        self.metrics[key].update(pred[known, column], va[known, column])

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        names = getattr(trainer.datamodule, "source_names", ())
        for (index, name), metric in sorted(self.metrics.items()):
            source = names[index] if index < len(names) else str(index)
            pl_module.log(f"val/{source}/{name}", metric.compute())
            metric.reset()
        self.metrics.clear()
