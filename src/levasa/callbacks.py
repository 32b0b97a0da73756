"""Training callbacks: image grids for TensorBoard (the module itself draws nothing), per-source metrics, and the
reliability pieces: atomic checkpoint writes, a best checkpoint that never takes a non-finite score, and the
random generators' states carried in every checkpoint so that a resumed run draws what the uninterrupted one would.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torchmetrics.regression import ConcordanceCorrCoef, MeanAbsoluteError

from levasa.io import write_atomic
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


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoint writer whose files are always complete: a kill (even SIGKILL) or a full disk mid-save leaves
    the previous checkpoint, never a truncated one.

    Each checkpoint goes through :func:`levasa.io.write_atomic`: a temporary file in its own folder
    (``.<name>.<random>.tmp``), flushed to disk and renamed over the target (``os.replace``). Lightning's own
    writer goes through an fsspec transaction that writes to the system temporary folder and then *moves* the
    file: a rename when that folder is on the same filesystem as the checkpoint, but a copy straight into the
    target otherwise (``/tmp`` on a local disk or tmpfs and the outputs on NFS or Lustre, as on most clusters).
    Measured here with TMPDIR on tmpfs: a SIGKILL during that copy left an empty ``last.ckpt`` (and a 300 MB file
    in TMPDIR). A kill can still leave the temporary file behind; :func:`levasa.io.remove_stale_temporaries`
    clears them when a run starts.
    Paths that are not local (``s3://...``) keep Lightning's writer.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        write_atomic(Path(str(path).removeprefix("file://")), lambda f: torch.save(checkpoint, f), binary=True)


class FiniteModelCheckpoint(ModelCheckpoint):
    """:class:`~lightning.pytorch.callbacks.ModelCheckpoint` whose top-k (the best checkpoint) never takes a model
    whose monitored value is NaN or infinite.

    Lightning's own rule keeps a NaN score out of the top k only once the top k is full: with ``save_top_k=1`` a
    NaN validation loss in the first epoch would be saved as ``best.ckpt`` (with the score +inf).

    With several processes (DDP) the monitored value is averaged over them first. The module logs its epoch means
    per process, so each process would otherwise judge "best" on its own share of the validation split; worse, a
    resumed run restores process 0's best score on every process, and the others then compared their own means
    with it: measured on 2 CPU processes, a run resumed at epoch 2 kept epoch 1's checkpoint as best to the end.
    """

    def _monitor_candidates(self, trainer: L.Trainer) -> dict[str, Tensor]:
        candidates = super()._monitor_candidates(trainer)
        if trainer.world_size > 1 and self.monitor in candidates:
            value = torch.as_tensor(candidates[self.monitor], dtype=torch.float32, device=trainer.strategy.root_device)
            candidates[self.monitor] = trainer.strategy.reduce(value.clone(), reduce_op="mean")
        return candidates

    def check_monitor_top_k(self, trainer: L.Trainer, current: Tensor | None = None) -> bool:
        better = super().check_monitor_top_k(trainer, current)
        if current is None:
            return better
        finite = bool(torch.isfinite(torch.as_tensor(current)).all())
        if not finite:
            rank_zero_warn(
                f"{self.monitor} is {float(current)} at epoch {trainer.current_epoch}, global step "
                f"{trainer.global_step}: this model is not a candidate for the best checkpoint"
            )
        return trainer.strategy.reduce_boolean_decision(finite, all=True) and better


class RNGStateCheckpoint(L.Callback):
    """Carries the global random generators' states (torch, the current CUDA device's, numpy, Python) in every
    checkpoint and restores them when training resumes from it (not for validation).

    The shuffle of each epoch and the reparameterisation noise come from torch's global generators, which
    Lightning does not checkpoint: without this a resumed run reseeds and draws other batches and noise than the
    uninterrupted run. With it, a run resumed from an end-of-epoch checkpoint continues exactly as the
    uninterrupted one (on CPU, under DDP on CPU, and on a GPU with ``trainer.deterministic=true``), provided
    ``data.num_workers=0``: persistent loader workers are started once per fit, and that draws from the global
    generator once more in a resumed run. A checkpoint written mid-epoch differs anyway: Lightning restarts the
    epoch's data order (the loaders are not resumable). See docs/scaling.md. Under DDP every process gets process
    0's states, which equal its own: all are seeded alike and draw alike.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, position, has_gauss, gauss = np.random.get_state()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
            "numpy": [kind, keys.tolist(), int(position), int(has_gauss), float(gauss)],
            "python": random.getstate(),
        }

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key)
        if not state or trainer.state.fn != TrainerFn.FITTING:
            return
        torch.set_rng_state(state["torch"])
        if state.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda"])  # the current device: this process's
        kind, keys, position, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))
        version, internal, gauss_next = state["python"]
        random.setstate((version, tuple(internal), gauss_next))
