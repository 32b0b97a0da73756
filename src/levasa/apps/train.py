"""Train a Vanilla VAE or LeVAsa: ``python train.py model=levasa alpha=10`` (see levasa/conf/train.yaml)."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.jobs.training import train


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the monitored validation figure (``monitor.metric``) to a sweeper."""
    return train(cfg).get(cfg.monitor.metric)


if __name__ == "__main__":
    main()
