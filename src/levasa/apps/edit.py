"""Expression editing: ``python edit.py ckpt=.../best.ckpt input=FILE_OR_FOLDER target=[0.6,0.3]`` (or
``walk=circle``, ``walk=grid``, ``emotion=Happy``)."""

import hydra
from omegaconf import DictConfig

from levasa.config import CONFIG_PATH
from levasa.jobs.editing import edit


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="edit")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    edit(cfg)


if __name__ == "__main__":
    main()
