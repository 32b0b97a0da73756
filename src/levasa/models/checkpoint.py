"""Rebuild a trained module from its checkpoint alone (the run's config travels inside it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.models.module import LatentVAModule

RESUME_KEYS = ("model._target_", "model.encoder", "model.decoder", "model.alignment", "data.image_size")
"""What a resumed run must share with its checkpoint: the networks, the alignment and the face size."""


def check_resumable(path: str | Path, config: dict[str, Any]) -> None:
    """Raise a clear error when the checkpoint ``path`` was trained with another model or face size than the
    resolved run ``config``, naming the file and the first differing keys (Lightning would stop on missing or
    mis-shaped weights without saying which file or setting)."""
    differences = checkpoint_differences(path, config, RESUME_KEYS)
    if differences:
        shown = "; ".join(differences[:4]) + ("; ..." if len(differences) > 4 else "")
        raise ValueError(
            f"ckpt_path={path} was trained with another model or configuration ({shown}). Resume with the "
            "settings it was trained with, or start afresh (ckpt_path=null)."
        )


def checkpoint_differences(path: str | Path, config: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """``"<key>: checkpoint <value>, this run <value>"`` for every setting under ``keys`` in which the config stored
    in the checkpoint ``path`` differs from the resolved run ``config``; empty when they agree."""
    stored = OmegaConf.create(stored_config(read_checkpoint(path)))
    wanted = OmegaConf.create(config)
    return [
        f"{key}{sub}: checkpoint {a!r}, this run {b!r}"
        for key in keys
        for sub, a, b in _differences(OmegaConf.select(stored, key, default=None),
                                      OmegaConf.select(wanted, key, default=None))
    ]  # fmt: skip


def _differences(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted suffix, a's value, b's value) wherever the two configs differ."""
    a = OmegaConf.to_container(a, resolve=True) if OmegaConf.is_config(a) else a
    b = OmegaConf.to_container(b, resolve=True) if OmegaConf.is_config(b) else b
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{prefix}.{k}")]
    return [] if a == b else [(prefix, a, b)]


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents; raises when the file is missing or holds no levasa run config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "config" not in ckpt.get("hyper_parameters", {}):
        raise ValueError(f"{path} is not a levasa checkpoint: it carries no run config")
    return ckpt


def stored_config(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The resolved run config a checkpoint read by :func:`read_checkpoint` carries."""
    return ckpt["hyper_parameters"]["config"]


def module_from_checkpoint(ckpt: dict[str, Any]) -> LatentVAModule:
    """The module of a checkpoint already read by :func:`read_checkpoint`, rebuilt from the config stored in it,
    weights loaded, in eval mode."""
    config = stored_config(ckpt)
    module = instantiate(OmegaConf.create(config["model"]))
    module.load_state_dict(ckpt["state_dict"])
    module.save_hyperparameters({"config": config})
    return module.eval()


def load_module(path: str | Path) -> LatentVAModule:
    """The module of the checkpoint file ``path`` (see :func:`module_from_checkpoint`)."""
    return module_from_checkpoint(read_checkpoint(path))
