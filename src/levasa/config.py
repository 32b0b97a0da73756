"""Composing levasa's config outside ``@hydra.main`` (evaluation, the study, tests, benchmarks).

The tree ships with the package (:mod:`levasa.conf`) and is found through Hydra's package search path, so
composition works the same from a source checkout and after a non-editable ``pip install``.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

CONF_MODULE = "levasa.conf"
CONFIG_PATH = f"pkg://{CONF_MODULE}"
"""Where every application finds its config (``@hydra.main(config_path=CONFIG_PATH)``)."""


def compose_config(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """``levasa/conf/<config_name>.yaml`` composed with ``overrides``; inside a running Hydra app its search path
    is used, else the package's tree."""
    if GlobalHydra.instance().is_initialized():
        return compose(config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)
    with initialize_config_module(config_module=CONF_MODULE, version_base="1.3"):
        return compose(config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)


def group_options(group: str) -> list[str]:
    """The options of a config group (``data`` -> ``["afew_va", "affectnet", ...]``), from Hydra's own repository."""
    if GlobalHydra.instance().is_initialized():
        return sorted(GlobalHydra.instance().config_loader().get_group_options(group))
    with initialize_config_module(config_module=CONF_MODULE, version_base="1.3"):
        return sorted(GlobalHydra.instance().config_loader().get_group_options(group))
