"""Evaluate a run (``python evaluate.py ckpt=.../best.ckpt``) or a sweep (``sweep=DIR``); see conf/evaluate.yaml."""

import sys

import hydra
from omegaconf import DictConfig

from levasa.pipelines import evaluate, evaluate_sweep, split_evaluate_overrides

RUN_OVERRIDES: list[str] = []
"""Overrides of the trained run's config (``data=imfdb data.root=...``), kept out of Hydra's hands."""


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: overrides of keys outside evaluate.yaml apply to the run's own config."""
    if cfg.sweep:
        evaluate_sweep(cfg, overrides=RUN_OVERRIDES)
    else:
        evaluate(cfg, overrides=RUN_OVERRIDES)


if __name__ == "__main__":
    own, RUN_OVERRIDES[:] = split_evaluate_overrides(sys.argv[1:])
    sys.argv[1:] = own
    main()
