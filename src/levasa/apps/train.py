"""Train a Vanilla VAE or LeVAsa: ``python train.py model=levasa alpha=10`` (see levasa/conf/train.yaml)."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.jobs.sweep import objective_values
from levasa.jobs.training import train


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
def main(cfg: DictConfig) -> float | list[float] | None:
    """Hydra entry point; returns to a sweeper the monitored validation figure (``monitor.metric``) or, when the
    config names ``objectives`` (``hparams_search=optuna``), their values in order (None on DDP's other processes)."""
    metrics = train(cfg)
    if cfg.get("objectives"):
        return list(objective_values(metrics, cfg.objectives).values()) if metrics else None
    return metrics.get(cfg.monitor.metric)


if __name__ == "__main__":
    main()
