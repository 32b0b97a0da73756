"""The reproduction study: ``python reproduce.py [fast=true]`` trains and evaluates every run of
levasa/conf/reproduce.yaml and writes docs/RESULTS.md."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.study.running import run_study


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="reproduce")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    run_study(cfg)


if __name__ == "__main__":
    main()
