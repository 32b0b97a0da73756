"""Every config option composes and instantiates; bad names and values give clear errors."""

from pathlib import Path

import pytest
from hydra.errors import MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.callbacks import AtomicCheckpointIO
from levasa.config import group_options
from levasa.data.datamodule import SyntheticDataModule
from levasa.data.fill import LabelFill
from levasa.data.readers import read_afew_va, read_affectnet, read_fer2013, read_folder, read_imfdb, read_rafdb
from levasa.data.realdata import FaceDataModule, PooledDataModule
from levasa.models import keys
from levasa.models.module import LatentVAModule
from tests.helpers import compose_config


def options(group: str) -> list[str]:
    """The option names of a config group (its YAML files)."""
    return group_options(group)


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


DISK_DATA = {
    "affectnet": (read_affectnet, {"classes": 7, "require_va": True}, False),
    "afew_va": (read_afew_va, {"margin": 0.25}, True),
    "folder": (
        read_folder,
        {
            "labels": None,
            "input_scale": 1.0,
            "subject_depth": 0,
            "subject_pattern": None,
            "label_pattern": None,
            "label_map": None,
            "split_folders": True,
            "detect_faces": False,
            "detector": {
                "cascade": "haarcascade_frontalface_alt2.xml",
                "scale_factor": 1.1,
                "min_neighbors": 5,
                "min_face": 0.05,
            },
            "max_pixels": 50_000_000,
        },
        True,
    ),
    "imfdb": (read_imfdb, {}, True),
    "fer2013": (read_fer2013, {"labels": "fer", "classes": 7}, True),
    "rafdb": (read_rafdb, {"images": "aligned"}, True),
}
"""Each dataset read from disk: its reader, the reader's options, and whether the label kind it lacks is filled
by transfer from the AffectNet anchor by default."""


def check_disk_data(module, name: str, data_dir: Path, seed: int) -> None:
    read, reader_options, fills = DISK_DATA[name]
    assert isinstance(module, FaceDataModule)
    assert module.reader.func is read and module.reader.keywords == reader_options
    assert module.fill == (LabelFill("affectnet", "ellipse", "nearest", None, seed) if fills else None)
    hp = module.hparams
    assert Path(hp.root) == data_dir / name and Path(hp.cache_dir) == data_dir / "cache"
    assert (hp.image_size, hp.box_scale, hp.skip_invalid, hp.seed) == (32, 1.0, False, seed)


@pytest.mark.parametrize("data", options("data"))
def test_each_data_option_builds_its_reader_fill_and_sizes(tmp_path, data):
    overrides = [f"data={data}", "data.image_size=32", "seed=5", f"paths.data_dir={tmp_path}"]
    module = instantiate(compose_config([*overrides, f"paths.output_dir={tmp_path}"]).data)
    if data == "synthetic":
        assert isinstance(module, SyntheticDataModule) and module.fill is None
        hp = module.hparams
        assert (hp.image_size, hp.variant, hp.n_identities, hp.seed) == (32, "both", 240, 5)
        assert Path(hp.cache_dir) == tmp_path / "synthetic"
    elif data == "pooled":
        assert isinstance(module, PooledDataModule) and module.hparams.image_size == 32
        assert module.source_names == ("affectnet", "afew_va", "imfdb")
        for name, source in module.sources.items():
            check_disk_data(source, name, tmp_path, seed=5)
    else:
        check_disk_data(module, data, tmp_path, seed=5)


TRAINER_CHANGES = {
    "default": {},
    "gpu": {"trainer.accelerator": "gpu"},
    "ddp": {"trainer.strategy": "ddp", "trainer.devices": 2, "trainer.num_nodes": 1, "trainer.sync_batchnorm": False},
}


def changes(overrides: list[str], base: list[str] | None = None) -> dict[str, object]:
    """The leaf settings (dotted keys) that ``overrides`` change in the composed training config, unresolved;
    a key the overrides remove maps to ``"<removed>"``."""

    def flat(node: object, prefix: str = "") -> dict[str, object]:
        if not isinstance(node, dict):
            return {prefix[:-1]: node}
        return {k: v for key, child in node.items() for k, v in flat(child, f"{prefix}{key}.").items()}

    def leaves(extra: list[str]) -> dict[str, object]:
        cfg = compose_config([*(base or []), *extra, "paths.output_dir=/out"])
        return flat(OmegaConf.to_container(cfg, resolve=False))

    before, after = leaves([]), leaves(overrides)
    keys = (set(before) | set(after)) - {k for k in set(before) & set(after) if before[k] == after[k]}
    return {k: after.get(k, "<removed>") for k in keys if not (k in after and isinstance(after[k], dict))}


@pytest.mark.parametrize("trainer", options("trainer"))
def test_each_trainer_option_changes_what_it_says_and_keeps_atomic_checkpoints(trainer):
    assert changes([f"trainer={trainer}"]) == TRAINER_CHANGES[trainer]
    cfg = compose_config([f"trainer={trainer}", "paths.output_dir=/out"])
    assert [p._target_ for p in cfg.trainer.plugins] == ["levasa.callbacks.AtomicCheckpointIO"]


def test_the_default_trainer_writes_checkpoints_atomically(make_cfg):
    trainer = instantiate(make_cfg().trainer, logger=False)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO) and trainer.max_epochs == 1


def test_callbacks_and_logger_instantiate_and_monitor_the_logged_objective(make_cfg):
    cfg = make_cfg()
    callbacks = {name: instantiate(node) for name, node in cfg.callbacks.items()}
    assert callbacks["model_checkpoint"].monitor == cfg.monitor.metric == keys.VAL_LOSS
    assert callbacks["model_checkpoint"].mode == cfg.monitor.mode == "min"
    changed = make_cfg("monitor.metric=val/align/ccc_v", "monitor.mode=max").callbacks.model_checkpoint
    assert (changed.monitor, changed.mode) == ("val/align/ccc_v", "max")
    logger = instantiate(cfg.logger.tensorboard)
    assert Path(logger.log_dir) == Path(cfg.paths.output_dir) / "tensorboard"


AFFECTNET_FILL = {
    "data.fill": "<removed>",  # null -> a LabelFill call
    "data.fill._target_": "levasa.data.fill.LabelFill",
    "data.fill.anchor": "affectnet",
    "data.fill.va_strategy": "ellipse",
    "data.fill.label_strategy": "nearest",
    "data.fill.seed": "${seed}",
}
PAPER_ALIGNMENT = {
    "model.alignment._target_": "levasa.losses.alignment.MSEAlignment",
    "model.alignment.use_mean": False,
    "model.alignment.dim_v": "<removed>",
    "model.alignment.dim_a": "<removed>",
}
PAPER_NETWORK = {
    "model.encoder._target_": "levasa.models.networks.ConvEncoder",
    "model.encoder.widths": [64, 128, 256, 512],
    "model.encoder.hidden": [512, 128],
    "model.encoder.chunks.v": 32,
    "model.encoder.chunks.a": 32,
    "model.encoder.blocks": "<removed>",
    "model.decoder._target_": "levasa.models.networks.ConvDecoder",
    "model.decoder.blocks": "<removed>",
}
"""What objective=paper changes in the networks: the paper's (32-code chunks; z_z keeps its 32)."""
NO_TERMS = {"model.terms": None} | {
    f"model.terms.{key}": "<removed>"
    for key in ("cycle._target_", "cycle.weight", "cycle.identity", "decorrelate._target_", "decorrelate.weight")
}
PAPER_OBJECTIVE = {"alpha": 100.0, "beta": 0.1, "model.reconstruction": "mse", **NO_TERMS, **PAPER_NETWORK}
OVERLAY_CHANGES = {
    "debug=fdr": {"trainer.fast_dev_run": True},
    "debug=limit": {
        "trainer.max_epochs": 2,
        "trainer.limit_train_batches": 5,
        "trainer.limit_val_batches": 2,
        "trainer.log_every_n_steps": 1,
    },
    "debug=overfit": {"trainer.overfit_batches": 2, "trainer.max_epochs": 40, "trainer.log_every_n_steps": 1},
    "experiment=small32": {"data.image_size": 32},
    "experiment=paper_weighting": {
        **PAPER_OBJECTIVE,
        "alpha": 0.3,
        "beta": 0.5,
        "model.reduction": "mean",
        **PAPER_ALIGNMENT,
    },
    "experiment=synthetic_imfdb": {"data.variant": "category", **AFFECTNET_FILL},
    "experiment=synthetic_afew": {"data.variant": "va", **AFFECTNET_FILL},
    "objective=paper": PAPER_OBJECTIVE,
}
"""Exactly what each overlay changes in the default training config."""

PAPER_DATA = {"paper_imfdb": "imfdb", "paper_afew": "afew_va"}
"""Each paper preset's dataset (its data group, reader module and default root folder)."""


def test_every_overlay_is_listed():
    listed = {o.split("=")[1] for o in OVERLAY_CHANGES} | {f"{p}{s}" for p in PAPER_DATA for s in ("", "_faithful")}
    assert listed == set(options("debug")) | set(options("experiment")) | set(options("objective")) - {"structured"}


@pytest.mark.parametrize("overlay", sorted(OVERLAY_CHANGES))
def test_each_overlay_changes_exactly_what_it_says(overlay):
    assert changes([overlay]) == OVERLAY_CHANGES[overlay]


@pytest.mark.parametrize("preset", [f"{p}{s}" for p in PAPER_DATA for s in ("", "_faithful")])
def test_paper_presets_set_the_dataset_the_paper_alignment_and_for_faithful_its_weighting(preset):
    changed = changes([f"experiment={preset}"])
    name = PAPER_DATA[preset.removesuffix("_faithful")]
    assert changed["data.reader._target_"] == f"levasa.data.readers.{name}.read_{name}"
    assert changed["data.root"] == f"${{paths.data_dir}}/{name}"
    assert {k: changed[k] for k in {**AFFECTNET_FILL, **PAPER_ALIGNMENT}} == {**AFFECTNET_FILL, **PAPER_ALIGNMENT}
    weighting = {"alpha": 0.3, "beta": 0.5, "model.reduction": "mean"}
    paper = {**PAPER_OBJECTIVE, "model.reduction": None, **(weighting if "faithful" in preset else {})}
    assert {k: changed.get(k) for k in paper} == paper  # the paper's objective and networks, its weighting if faithful
    assert not any(k.startswith(("trainer.", "callbacks.", "logger.")) for k in changed)
    assert isinstance(
        instantiate(compose_config([f"experiment={preset}", "paths.output_dir=/out"]).model), LatentVAModule
    )


def test_paper_weighting_preset_sets_the_original_weights(make_cfg):
    cfg = make_cfg("experiment=paper_weighting")
    assert (cfg.alpha, cfg.beta, cfg.model.reduction) == (0.3, 0.5, "mean")
    assert cfg.model.alignment._target_.endswith("MSEAlignment")


def test_alpha_grid_is_a_multirun_over_alpha():
    cfg = compose_config(["hparams_search=alpha_grid"], keep_hydra=True)
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.hydra.sweeper.params == {"alpha": "0,500,5000,50000"}
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


def test_the_vanilla_vae_gets_the_default_objective_without_alignment():
    """Same likelihood, weights, networks and budget as LeVAsa; its structure terms are zero without aligned chunks."""
    changed = changes(["model=vanilla"])
    assert changed == {
        "model.alignment": None,
        "model.alignment._target_": "<removed>",
        "model.alignment.dim_v": "<removed>",
        "model.alignment.dim_a": "<removed>",
        "model.alignment.use_mean": "<removed>",
    }
