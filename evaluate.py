"""Evaluate a run (``python evaluate.py ckpt=.../best.ckpt``) or a sweep (``sweep=DIR``); see conf/evaluate.yaml."""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from levasa.pipelines import evaluate, evaluate_sweep


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: the command-line overrides also apply to the run's own config."""
    if cfg.sweep:
        evaluate_sweep(cfg)
    else:
        evaluate(cfg, overrides=list(HydraConfig.get().overrides.task))


if __name__ == "__main__":
    main()
