"""Rebuild a trained module from its checkpoint alone (the run's config travels inside it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.models.module import LatentVAModule


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents; raises when the file is missing or holds no levasa run config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "config" not in ckpt.get("hyper_parameters", {}):
        raise ValueError(f"{path} is not a levasa checkpoint: it carries no run config")
    return ckpt


def load_module(path: str | Path) -> LatentVAModule:
    """The module of a checkpoint, rebuilt from the config stored in it, weights loaded, in eval mode."""
    ckpt = read_checkpoint(path)
    config = ckpt["hyper_parameters"]["config"]
    module = instantiate(OmegaConf.create(config["model"]))
    module.load_state_dict(ckpt["state_dict"])
    module.save_hyperparameters({"config": config})
    return module.eval()
