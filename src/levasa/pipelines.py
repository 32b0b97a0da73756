"""The plain functions behind the entry points: ``train(cfg)`` (used by ``train.py`` and the tests)."""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import levasa

log = logging.getLogger(__name__)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(data, tmp, indent=2, sort_keys=True)
        tmp.write("\n")
    os.replace(tmp.name, path)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group that maps names to ``_target_`` nodes (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def run_info(cfg: DictConfig, trainer: L.Trainer, best: str, started: float) -> dict[str, Any]:
    """What a reader needs to trace the figures: seed, checkpoint, steps, time and versions."""
    return {
        "seed": cfg.seed,
        "best_checkpoint": best,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "levasa": levasa.__version__,
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
    }


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the configured model on the configured data; returns the final validation figures.

    Writes into ``cfg.paths.output_dir``: ``checkpoints/{last,best}.ckpt``, TensorBoard events and
    ``metrics.json`` (the validation figures of the best checkpoint under their logged names, plus a
    ``run`` section). The whole resolved config is stored in the checkpoints and logged as hparams.
    """
    started = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True)
    out_dir = Path(cfg.paths.output_dir)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    model.save_hyperparameters({"config": OmegaConf.to_container(cfg, resolve=True)})
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_group(cfg.get("callbacks")), logger=instantiate_group(cfg.get("logger"))
    )
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    results = trainer.validate(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics: dict[str, Any] = {name: float(value) for name, value in results[0].items()}
    metrics["run"] = run_info(cfg, trainer, best, started)
    write_json_atomic(out_dir / "metrics.json", metrics)
    log.info("final validation figures: %s", {k: v for k, v in metrics.items() if k != "run"})
    print(f"Run directory: {out_dir}")
    print(f"Best checkpoint: {best or 'none (checkpointing disabled)'}")
    return metrics
