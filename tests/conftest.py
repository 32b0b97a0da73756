"""Fixtures: the real composed configs, shrunk to tiny synthetic data in a temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from tests.helpers import TINY, compose_config


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg(*overrides)``: the training config on a tiny 32x32 synthetic set, writing under ``tmp_path``."""

    def make(*overrides: str) -> DictConfig:
        paths = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"]
        return compose_config([*TINY, *paths, *overrides])

    return make
