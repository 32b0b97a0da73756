"""Shared fixtures: the real composed config, shrunk to tiny synthetic data in a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from levasa.config import compose_config as compose_config_of_package

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "src" / "levasa" / "conf"

TINY = [
    "data.image_size=32",
    "data.n_identities=12",
    "data.expressions_per_identity=8",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
    "data.batch_size=16",
    "trainer.max_epochs=1",
]


def compose_config(overrides: list[str], config_name: str = "train", keep_hydra: bool = False) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides`` and make ``${hydra:...}`` resolvable.

    The ``hydra`` node is dropped (as ``@hydra.main`` does) unless ``keep_hydra``.
    """
    GlobalHydra.instance().clear()
    cfg = compose_config_of_package(config_name, overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    if keep_hydra:
        return cfg
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg(*overrides)``: the training config on a tiny 32x32 synthetic set, writing under ``tmp_path``."""

    def make(*overrides: str) -> DictConfig:
        paths = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"]
        return compose_config([*TINY, *paths, *overrides])

    return make


def umask() -> int:
    """The process's umask (read by setting and restoring it): the mode a new file gets is ``0o666 & ~umask()``."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
