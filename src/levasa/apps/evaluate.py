"""Evaluate a run (``python evaluate.py ckpt=.../best.ckpt``) or a sweep (``sweep=DIR``); see
levasa/conf/evaluate.yaml. Overrides of keys that evaluate.yaml does not hold (``data=imfdb data.root=...``)
apply to the trained run's own config."""

import sys

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.jobs.evaluation import evaluate
from levasa.jobs.runconfig import split_evaluate_overrides
from levasa.jobs.sweep import evaluate_sweep

RUN_OVERRIDES: list[str] = []
"""Overrides of the trained run's config, kept out of Hydra's hands (evaluate.yaml does not hold them)."""


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="evaluate")
def _evaluate(cfg: DictConfig) -> None:
    if cfg.sweep:
        evaluate_sweep(cfg, overrides=RUN_OVERRIDES)
    else:
        evaluate(cfg, overrides=RUN_OVERRIDES)


def main() -> None:
    """Entry point: splits the command line into evaluate's own overrides and the run's, then runs Hydra."""
    own, RUN_OVERRIDES[:] = split_evaluate_overrides(sys.argv[1:])
    sys.argv[1:] = own
    _evaluate()


if __name__ == "__main__":
    main()
