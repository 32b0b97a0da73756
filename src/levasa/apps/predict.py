"""VA and emotion for every image of a folder: ``python predict.py ckpt=.../best.ckpt input=FOLDER``."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.jobs.prediction import predict


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="predict")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    predict(cfg)


if __name__ == "__main__":
    main()
