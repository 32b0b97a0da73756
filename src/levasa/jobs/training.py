"""``train(cfg)``: fit the configured model on the configured data, resume a killed run, write metrics.json."""

from __future__ import annotations

import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from omegaconf import DictConfig, OmegaConf, open_dict

import levasa
from levasa.io import remove_stale_temporaries, write_json_atomic
from levasa.loggers import RunLogger, hparam_values
from levasa.machine import resolve_precision
from levasa.models.checkpoint import check_resumable

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group that maps names to ``_target_`` nodes (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def run_info(
    cfg: DictConfig, trainer: L.Trainer, best: str, started: float, resumed_from: str | None = None
) -> dict[str, Any]:
    """What a reader needs to trace the figures: seed, checkpoint, steps, processes, time and versions.

    ``started_at`` and ``finished_at`` are wall-clock times (UTC, ISO 8601), so that jobs of a sweep can be
    placed on one time line; ``resumed_from`` is the checkpoint training resumed from (None: a fresh start).
    """
    return {
        "seed": cfg.seed,
        "best_checkpoint": best,
        "resumed_from": resumed_from,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "processes": trainer.world_size,
        "precision": str(trainer.precision),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "started_at": _utc_iso(time.time() - (time.perf_counter() - started)),
        "finished_at": _utc_iso(time.time()),
        "levasa": levasa.__version__,
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
    }


def _utc_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds")


RESUME_MODES = ("last", "auto")
"""``ckpt_path=last``: resume this run (``hydra.run.dir``) from its ``checkpoints/last.ckpt``, an error when it
has none; ``ckpt_path=auto``: the same when there is one, a fresh start otherwise (requeued cluster jobs)."""


def last_checkpoint_paths(callbacks: list[Any], out_dir: Path) -> list[Path]:
    """Where this run's ``last.ckpt`` is written: by every ModelCheckpoint with ``save_last`` (default folder
    ``<output_dir>/checkpoints``)."""
    paths = [
        Path(cb.dirpath or out_dir / "checkpoints") / f"{cb.CHECKPOINT_NAME_LAST}{cb.FILE_EXTENSION}"
        for cb in callbacks
        if isinstance(cb, ModelCheckpoint) and cb.save_last
    ]
    return list(dict.fromkeys(paths)) or [out_dir / "checkpoints" / "last.ckpt"]


def resolve_ckpt_path(ckpt_path: str | None, callbacks: list[Any], out_dir: Path) -> str | None:
    """The checkpoint ``trainer.fit`` resumes from: None (fresh start), ``last`` / ``auto`` (see ``RESUME_MODES``)
    or a path, which must exist."""
    if ckpt_path is None or str(ckpt_path) == "":
        return None
    if str(ckpt_path) not in RESUME_MODES:
        if "://" not in str(ckpt_path) and Path(ckpt_path).is_dir():
            raise IsADirectoryError(
                f"ckpt_path={ckpt_path} is a directory, not a checkpoint file: give its checkpoints/last.ckpt, or "
                "ckpt_path=last with hydra.run.dir set to that run's directory"
            )
        if "://" not in str(ckpt_path) and not Path(ckpt_path).is_file():
            raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
        return str(ckpt_path)
    candidates = [p for p in last_checkpoint_paths(callbacks, out_dir) if p.is_file()]
    if candidates:
        path = max(candidates, key=lambda p: p.stat().st_mtime)
        log.info("resuming from %s", path)
        return str(path)
    expected = " or ".join(str(p) for p in last_checkpoint_paths(callbacks, out_dir))
    if str(ckpt_path) == "auto":
        log.info("ckpt_path=auto: no %s yet, starting afresh", expected)
        return None
    raise FileNotFoundError(
        f"ckpt_path=last: no checkpoint at {expected}. It resumes the run in hydra.run.dir (here {out_dir}): "
        "give the interrupted run's directory (hydra.run.dir=outputs/runs/<date>/<time>), or ckpt_path=PATH, "
        "or ckpt_path=auto to start afresh when there is none."
    )


def check_request(cfg: DictConfig) -> None:
    """Raise a clear error before anything is built when the trainer settings would train nothing (Lightning would
    stop at once and the run would end with an untrained model's metrics.json)."""
    trainer = cfg.trainer
    if trainer.get("fast_dev_run"):
        return
    for key in ("max_epochs", "max_steps", "limit_train_batches"):
        if trainer.get(key) == 0:
            raise ValueError(
                f"trainer.{key}=0 trains nothing: the run would end with an untrained model's figures. Give a "
                f"positive trainer.{key} (trainer.fast_dev_run=true checks that everything runs)."
            )


def final_validation(
    cfg: DictConfig, trainer: L.Trainer, model: L.LightningModule, datamodule: Any, callbacks: list[Any], best: str
) -> list[dict[str, float]] | None:
    """The best checkpoint validated on the whole split by a one-device trainer without loggers (None on the
    processes other than 0): its figures go into metrics.json and, through :class:`~levasa.loggers.RunLogger`, into
    the run's one event file, not into a second one that validating with the fit's trainer would open.

    Under DDP each process would validate a share of the split, padded with repeated samples, and the module's
    epoch means are not reduced across processes: rank 0's figures would be those of its share. So the process
    group is closed first and process 0 validates alone.
    """
    if trainer.world_size > 1:
        trainer.strategy.barrier("levasa_validate_alone")
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        if not trainer.is_global_zero:
            return None
    single: L.Trainer = instantiate(
        cfg.trainer,
        strategy="auto",
        devices=1,
        num_nodes=1,
        sync_batchnorm=False,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[c for c in callbacks if not isinstance(c, ProgressBar)],  # checkpoints save nothing in validate
        plugins=None,
    )
    return single.validate(model, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=True)


def resolve_trainer_precision(cfg: DictConfig) -> None:
    """Replace ``trainer.precision=auto`` in ``cfg`` by what this hardware runs best (:func:`resolve_precision`),
    so that the run's stored config says what was used; logs the choice and its reason."""
    precision = cfg.trainer.get("precision")
    if str(precision) != "auto":
        return
    accelerator = str(cfg.trainer.get("accelerator", "cpu"))
    on_gpu = torch.cuda.is_available() and accelerator in ("gpu", "cuda", "auto")
    gpu_bf16 = bool(torch.cuda.is_bf16_supported()) if on_gpu else None
    resolved, why = resolve_precision(precision, accelerator if on_gpu else "cpu", gpu_bf16=gpu_bf16)
    with open_dict(cfg):
        cfg.trainer.precision = resolved
    log.info("trainer.precision=auto resolved to %s: %s", resolved, why)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the configured model on the configured data; returns the final validation figures.

    Writes into ``cfg.paths.output_dir``: ``checkpoints/{last,best}.ckpt``, TensorBoard events and
    ``metrics.json`` (the validation figures of the best checkpoint under their logged names, plus a
    ``run`` section). The whole resolved config is stored in the checkpoints and logged as hparams.
    ``cfg.ckpt_path`` resumes training: a checkpoint path, ``last`` or ``auto`` (see ``RESUME_MODES``).
    Checkpoints are written by the trainer's plugins (``trainer.plugins``: atomically by default); with several
    processes (DDP) only process 0 writes metrics.json and the others return ``{}``.
    """
    started = time.perf_counter()
    check_request(cfg)
    L.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    callbacks = instantiate_group(cfg.get("callbacks"))
    ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), callbacks, out_dir)
    if ckpt_path is not None and "://" not in ckpt_path:
        check_resumable(ckpt_path, OmegaConf.to_container(cfg, resolve=True))
    resolve_trainer_precision(cfg)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    model.save_hyperparameters({"config": OmegaConf.to_container(cfg, resolve=True)})
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=instantiate_group(cfg.get("logger")))
    if trainer.is_global_zero:
        for folder in {Path(cb.dirpath) for cb in callbacks if isinstance(cb, ModelCheckpoint) and cb.dirpath}:
            remove_stale_temporaries(folder)
    # compile=true: Lightning trains the torch.compile'd module and checkpoints the original's weights. A resumed
    # checkpoint is loaded weights-only (check_resumable has read it so already, naming the file if it fails).
    fitted = torch.compile(model) if cfg.get("compile") else model
    trainer.fit(fitted, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = final_validation(cfg, trainer, model, datamodule, callbacks, best)
    if results is None:
        return {}
    metrics: dict[str, Any] = {name: float(value) for name, value in results[0].items()}
    for logger in trainer.loggers:
        if isinstance(logger, RunLogger):
            logger.log_final(hparam_values(cfg), metrics, trainer.global_step)
    metrics["run"] = run_info(cfg, trainer, best, started, ckpt_path)
    write_json_atomic(out_dir / "metrics.json", metrics)
    log.info("final validation figures: %s", {k: v for k, v in metrics.items() if k != "run"})
    print(f"Run directory: {out_dir}")
    print(f"Best checkpoint: {best or 'none (checkpointing disabled)'}")
    return metrics
