"""Every config option composes and instantiates; bad names and values give clear errors."""

from pathlib import Path

import pytest
from hydra.errors import MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.models import keys
from levasa.models.module import LatentVAModule
from tests.conftest import CONF_DIR, compose_config


def options(group: str) -> list[str]:
    """The option names of a config group (its YAML files)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_every_group_has_its_options():
    assert options("model") == ["levasa", "vanilla"]
    assert set(options("model/alignment")) >= {"mse", "ce", "linear"}
    assert set(options("trainer")) >= {"default", "gpu"}
    assert set(options("debug")) >= {"fdr", "overfit", "limit"}
    assert "alpha_grid" in options("hparams_search")


@pytest.mark.parametrize("alignment", options("model/alignment"))
def test_levasa_with_each_alignment_instantiates(make_cfg, alignment):
    cfg = make_cfg(f"model/alignment={alignment}", "alpha=2.5", "beta=0.5")
    module = instantiate(cfg.model)
    assert isinstance(module, LatentVAModule)
    assert module.has_readout and module.alpha == 2.5 and module.beta == 0.5


def test_vanilla_instantiates_without_alignment(make_cfg):
    module = instantiate(make_cfg("model=vanilla").model)
    assert not module.has_readout


@pytest.mark.parametrize("data", options("data"))
def test_each_data_option_instantiates(make_cfg, data):
    cfg = make_cfg() if data == "synthetic" else compose_config([f"data={data}", "data.image_size=32"])
    datamodule = instantiate(cfg.data)
    assert datamodule.hparams.image_size == 32


@pytest.mark.parametrize("trainer", options("trainer"))
def test_each_trainer_composes(make_cfg, trainer):
    cfg = make_cfg(f"trainer={trainer}")
    assert cfg.trainer._target_ == "lightning.pytorch.Trainer"
    if trainer == "default":
        assert instantiate(cfg.trainer, logger=False).max_epochs == 1


def test_callbacks_and_logger_instantiate_and_monitor_the_logged_objective(make_cfg):
    cfg = make_cfg()
    callbacks = {name: instantiate(node) for name, node in cfg.callbacks.items()}
    assert callbacks["model_checkpoint"].monitor == keys.VAL_LOSS
    assert callbacks["model_checkpoint"].mode == keys.MONITOR_MODE
    logger = instantiate(cfg.logger.tensorboard)
    assert Path(logger.log_dir) == Path(cfg.paths.output_dir) / "tensorboard"


@pytest.mark.parametrize("group", ["debug", "experiment"])
def test_every_overlay_composes_and_instantiates(make_cfg, tmp_path, group):
    for option in options(group):
        if option.startswith(("paper_imfdb", "paper_afew")):  # real datasets: TINY's synthetic keys do not apply
            cfg = compose_config([f"{group}={option}", f"paths.output_dir={tmp_path}"])
        else:
            cfg = make_cfg(f"{group}={option}")
        assert isinstance(instantiate(cfg.model), LatentVAModule)


def test_paper_weighting_preset_sets_the_original_weights(make_cfg):
    cfg = make_cfg("experiment=paper_weighting")
    assert (cfg.alpha, cfg.beta, cfg.model.reduction) == (0.3, 0.5, "mean")
    assert cfg.model.alignment._target_.endswith("MSEAlignment")


def test_alpha_grid_is_a_multirun_over_alpha():
    cfg = compose_config(["hparams_search=alpha_grid"], keep_hydra=True)
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.hydra.sweeper.params == {"alpha": "0,1,10,100"}
    assert OmegaConf.to_container(cfg.hydra.sweep)["subdir"] == "${hydra.job.num}"  # one directory per job


@pytest.mark.parametrize(("override", "group"), [("model=gan", "model"), ("model/alignment=l1", "model/alignment")])
def test_unknown_option_names_list_the_available_ones(override, group):
    with pytest.raises(MissingConfigException, match=f"Could not find '{group}/") as err:
        compose_config([override])
    for option in options(group):
        assert option in str(err.value)


@pytest.mark.parametrize("override", ["alpha=-1", "beta=-0.5"])
def test_negative_weights_fail_at_instantiation(make_cfg, override):
    cfg = make_cfg(override)
    with pytest.raises(Exception, match="must be a non-negative number") as err:
        instantiate(cfg.model)
    assert override.split("=")[0] in str(err.value)
