"""Transfer annotations between emotion labels and valence-arousal: ``python transfer.py input=... output=...``
(see levasa/conf/transfer.yaml), or score the strategies: ``python transfer.py mode=evaluate``."""

import hydra
from omegaconf import DictConfig

from levasa.annotation.cli import transfer
from levasa.config import CONFIG_PATH


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="transfer")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    transfer(cfg)


if __name__ == "__main__":
    main()
