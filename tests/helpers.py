"""Helpers the tests import: the checkout's root, the tiny synthetic settings and config composition."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from levasa.config import compose_config as compose_package_config

ROOT = Path(__file__).resolve().parents[1]

TINY = [
    "data.image_size=32",
    "data.n_identities=12",
    "data.expressions_per_identity=8",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
    "data.batch_size=16",
    "trainer.max_epochs=1",
    "trainer.precision=32-true",
]
"""Overrides that shrink the default run to a 32x32 synthetic set of 12 identities and one epoch, in fp32 whatever
the CPU (the tolerances of the resume and DDP tests were measured in fp32; ``precision=auto`` has its own tests)."""


def compose_config(overrides: list[str], config_name: str = "train", keep_hydra: bool = False) -> DictConfig:
    """``levasa/conf/<config_name>.yaml`` composed with ``overrides``, with ``${hydra:...}`` made resolvable.

    The ``hydra`` node is dropped (as ``@hydra.main`` does) unless ``keep_hydra``.
    """
    GlobalHydra.instance().clear()
    cfg = compose_package_config(config_name, overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    if keep_hydra:
        return cfg
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def umask() -> int:
    """The process's umask (read by setting and restoring it): the mode a new file gets is ``0o666 & ~umask()``."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
