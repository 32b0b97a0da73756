"""Train a Vanilla VAE or LeVAsa: ``python train.py model=levasa alpha=10`` (see levasa/conf/train.yaml)."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.pipelines import train


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the held-out valence CCC (None for models without a readout)."""
    metrics = train(cfg)
    return metrics.get("val/align/ccc_v")


if __name__ == "__main__":
    main()
