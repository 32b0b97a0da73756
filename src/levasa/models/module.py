"""One LightningModule for the Vanilla VAE and LeVAsa.

The objective is the ELBO (``recon + beta * kl``, reduction stated in :mod:`levasa.losses.elbo`) plus,
for LeVAsa, ``alpha * align`` where ``align`` is an :class:`~levasa.losses.alignment.AlignmentLoss`
chosen in config (``model/alignment=``). The Vanilla VAE is the same module with ``alignment=None``.
Logged names are ``stage/part`` (``train/loss``, ``val/kl``, ...) and, when the model has a VA readout,
``val/align/ccc_v``, ``val/align/ccc_a``, ``val/align/mae_v``, ``val/align/mae_a`` on the held-out split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import ConcordanceCorrCoef, MeanAbsoluteError

from levasa.losses.alignment import AlignmentLoss
from levasa.losses.elbo import RECONSTRUCTIONS, REDUCTIONS, check_choice, kl_divergence, reconstruction_loss
from levasa.losses.structure import StructureTerm
from levasa.models import keys
from levasa.models.outputs import Encoding, LossOutput, VAEOutput


class LatentVAModule(L.LightningModule):
    """VAE with latent chunks z_v, z_a, z_z; LeVAsa when ``alignment`` is given.

    Args:
        encoder: images ``[B, 3, S, S]`` -> :class:`Encoding`.
        decoder: latents ``[B, D]`` -> logits ``[B, 3, S, S]``.
        alignment: the alignment loss (LeVAsa), or None (Vanilla VAE).
        alpha: alignment weight (>= 0).
        beta: KL weight (>= 0).
        reconstruction: ``"mse"`` or ``"bce"``.
        reduction: ``"sum"`` (negative ELBO per image) or ``"mean"`` (per pixel value).
        optimizer: a partial optimizer constructor taking the parameters.
        scheduler: optional partial LR scheduler constructor, called as ``scheduler(optimizer, total_steps=N)``
            and stepped every optimizer step (see :mod:`levasa.models.schedules`).
        terms: extra weighted terms of the objective by name (:mod:`levasa.losses.structure`), or None.
        channels_last: keep the convolution weights and activations in NHWC layout (oneDNN's and cuDNN's fast
            path; the numbers are the same up to float rounding; its speed is measured in docs/PERFORMANCE.md).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        alignment: AlignmentLoss | None = None,
        alpha: float = 0.0,
        beta: float = 1.0,
        reconstruction: str = "mse",
        reduction: str = "sum",
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        channels_last: bool = True,
        terms: Mapping[str, StructureTerm] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not value >= 0:
                raise ValueError(f"{name} must be a non-negative number, found {value}")
        check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
        check_choice("reduction", reduction, REDUCTIONS)
        self.encoder = encoder
        self.decoder = decoder
        self.alignment = alignment
        self.terms = nn.ModuleDict({name: term for name, term in (terms or {}).items() if term is not None})
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.reconstruction = reconstruction
        self.reduction = reduction
        self.optimizer_factory = optimizer or torch.optim.Adam
        self.scheduler_factory = scheduler
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)  # the 4-D (convolution) weights; Module.to(device) keeps it
        self.val_metrics = nn.ModuleDict(
            {
                keys.CCC_V: ConcordanceCorrCoef(),
                keys.CCC_A: ConcordanceCorrCoef(),
                keys.MAE_V: MeanAbsoluteError(),
                keys.MAE_A: MeanAbsoluteError(),
            }
        )

    @property
    def has_readout(self) -> bool:
        """Whether the model reads valence and arousal from its aligned chunks (LeVAsa)."""
        return self.alignment is not None

    def encode(self, x: Tensor) -> Encoding:
        """Per-chunk posteriors of images ``x [B, 3, S, S]`` in [0, 1]."""
        return self.encoder(x.contiguous(memory_format=self.memory_format))

    def decode(self, z: Tensor) -> Tensor:
        """Images ``[B, 3, S, S]`` in [0, 1] from latents ``z [B, D]`` (chunks concatenated v, a, z)."""
        return torch.sigmoid(self.decoder(z))

    def readout(self, encoding: Encoding) -> Tensor:
        """Valence-arousal estimate ``[B, 2]`` from the aligned chunks' posterior means."""
        if self.alignment is None:
            raise RuntimeError("the Vanilla VAE has no VA readout: its chunks are not aligned")
        return self.alignment.readout(encoding.v.mu, encoding.a.mu)

    def sample(self, n: int) -> Tensor:
        """``n`` images ``[n, 3, S, S]`` decoded from the N(0, I) prior."""
        dim = sum(self.encoder.chunks.values())
        return self.decode(torch.randn(n, dim, device=self.device))

    def forward(self, x: Tensor) -> VAEOutput:
        """Encode, sample each chunk, decode."""
        enc = self.encode(x)
        z_v, z_a, z_z = enc.v.sample(), enc.a.sample(), enc.z.sample()
        logits = self.decoder(torch.cat([z_v, z_a, z_z], dim=1))
        return VAEOutput(enc, z_v, z_a, z_z, logits)

    def objective(self, out: VAEOutput, x: Tensor, va: Tensor) -> LossOutput:
        """The training objective and its parts for a forward pass on ``x`` with labels ``va [B, 2]``."""
        recon = reconstruction_loss(out.logits, x, self.reconstruction, self.reduction)
        kl = kl_divergence(out.encoding.mu, out.encoding.logvar, x[0].numel(), self.reduction)
        align = out.logits.new_zeros(())
        if self.alignment is not None:
            enc = out.encoding
            z_v, z_a = (enc.v.mu, enc.a.mu) if self.alignment.use_mean else (out.z_v, out.z_a)
            align = self.alignment(z_v, z_a, va)
        terms = {name: term(self, x, va, out) for name, term in self.terms.items()}
        loss = recon + self.beta * kl + self.alpha * align + sum(self.terms[n].weight * t for n, t in terms.items())
        return LossOutput(loss, recon, kl, align, terms)

    def _step(self, batch: dict[str, Any], stage: str) -> tuple[VAEOutput, LossOutput]:
        x = batch["image"]
        out = self(x)
        losses = self.objective(out, x, batch["va"])
        self.log_dict(
            {f"{stage}/{name}": value for name, value in losses.as_dict().items()},
            on_step=stage == "train",
            on_epoch=stage != "train",
            prog_bar=stage == "train",
            batch_size=x.shape[0],
            sync_dist=stage != "train",  # validation means over every DDP process
        )
        return out, losses

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        _, losses = self._step(batch, "train")
        finite = here = bool(torch.isfinite(losses.loss))
        if self._trainer is not None and self.trainer.world_size > 1:  # every process stops, or none does
            finite = self.trainer.strategy.reduce_boolean_decision(here, all=True)
        if not finite:
            parts = ", ".join(f"{name}={value.item():.4g}" for name, value in losses.as_dict().items())
            raise FloatingPointError(
                f"training loss is not finite{'' if not here else ' on another process'} at global step "
                f"{self.global_step} (epoch {self.current_epoch}, batch {batch_idx}; this process: {parts}). Training "
                f"stopped before this step's update; {self._best_so_far()} Lower the learning rate "
                "(model.optimizer.lr) or the loss weights, or resume from an earlier checkpoint (ckpt_path=...)."
            )
        return losses.loss

    def _best_so_far(self) -> str:
        """What the non-finite-loss error says of the best checkpoint: the file that holds it, or that none exists."""
        callbacks = self.trainer.checkpoint_callbacks if self._trainer is not None else []
        best = [cb.best_model_path for cb in callbacks if cb.best_model_path and Path(cb.best_model_path).is_file()]
        if best:
            return f"{best[0]} holds the best model validated so far."
        return "no best checkpoint has been written (no finite validation yet)."

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor] | None:
        out, _ = self._step(batch, "val")
        if self.alignment is None:
            return None
        with torch.autocast(self.device.type, enabled=False):  # the metrics in fp32, whatever the training precision
            pred = self.alignment.readout(out.encoding.v.mu.float(), out.encoding.a.mu.float())
        for axis, (ccc, mae) in enumerate(((keys.CCC_V, keys.MAE_V), (keys.CCC_A, keys.MAE_A))):
            known = ~torch.isnan(batch["va"][:, axis])
            if known.any():
                self.val_metrics[ccc].update(pred[known, axis], batch["va"][known, axis])
                self.val_metrics[mae].update(pred[known, axis], batch["va"][known, axis])
        return {"va_pred": pred.detach()}

    def on_validation_epoch_end(self) -> None:
        for name, metric in self.val_metrics.items():
            if metric.update_called:
                self.log(name, metric.compute(), prog_bar=name in (keys.CCC_V, keys.CCC_A))
            metric.reset()

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
