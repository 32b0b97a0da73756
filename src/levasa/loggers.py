"""The run's TensorBoard logger: one event file for the whole run, ending with its hyperparameters and final
validation figures in TensorBoard's HParams dashboard, so that the runs of a sweep compare at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard.summary import hparams

HPARAM_KEYS = (
    "model.alignment._target_",
    "model.reconstruction",
    "model.encoder._target_",
    "model.encoder.chunks",
    "alpha",
    "beta",
    "model.optimizer.lr",
    "data._target_",
    "data.image_size",
    "data.batch_size",
    "trainer.max_epochs",
    "trainer.precision",
    "seed",
)
"""The settings shown as columns in the HParams dashboard (dotted keys of the run's config; absent ones are left
out). The whole config is in each run's ``.hydra/config.yaml`` and checkpoint."""

FINAL_PREFIX = "final/"
"""The final validation figures (the best checkpoint's) are logged as ``final/<name>`` and are the HParams metrics."""


def hparam_values(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """:data:`HPARAM_KEYS` of ``cfg`` as the scalars and strings the HParams dashboard takes (lists and dicts as
    text; a ``_target_`` by its class name)."""
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    values: dict[str, Any] = {}
    for key in HPARAM_KEYS:
        value = OmegaConf.select(node, key, default=None)
        if value is None and key == "model.alignment._target_":
            value = "none"  # the Vanilla VAE
        if value is None:
            continue
        if OmegaConf.is_config(value):
            value = str(OmegaConf.to_container(value, resolve=True))
        if key.endswith("._target_"):
            key, value = key.removesuffix("._target_"), str(value).rsplit(".", 1)[-1]
        values[key] = value if isinstance(value, bool | int | float | str) else str(value)
    return values


class RunLogger(TensorBoardLogger):
    """:class:`~lightning.pytorch.loggers.TensorBoardLogger` that keeps its event file open after ``fit`` (Lightning
    closes it, and the next write would open a second file), so that :meth:`log_final` adds the final figures and
    the HParams summary to the same file and then closes it."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._experiment is not None:
            self.experiment.flush()
        self.save()

    @rank_zero_only
    def log_final(self, params: Mapping[str, Any], metrics: Mapping[str, float], step: int) -> None:
        """The final validation ``metrics`` as ``final/<name>`` scalars at ``step`` and the HParams summary of
        ``params`` against them; closes the event file."""
        final = {f"{FINAL_PREFIX}{name}": float(value) for name, value in metrics.items()}
        writer = self.experiment
        for name, value in final.items():
            writer.add_scalar(name, value, step)
        experiment, start, end = hparams(dict(params), final)
        file_writer = writer._get_file_writer()
        for summary in (experiment, start, end):
            file_writer.add_summary(summary)
        writer.flush()
        writer.close()
