"""End to end: train(cfg) on the real composed config, shrunk to a tiny synthetic set."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from levasa.config import group_options
from levasa.jobs.training import train
from levasa.models import keys
from levasa.models.checkpoint import load_module, read_checkpoint
from tests.formats import make_afew_va, make_imfdb
from tests.helpers import ROOT, TINY, compose_config

ALIGNMENTS = ["mse", "ce", "linear"]


@pytest.mark.parametrize("model", ["vanilla", *[f"levasa-{a}" for a in ALIGNMENTS]])
def test_fast_dev_run_of_each_model(make_cfg, model, capsys):
    name, _, alignment = model.partition("-")
    overrides = [f"model={name}", "debug=fdr"] + ([f"model/alignment={alignment}"] if alignment else [])
    metrics = train(make_cfg(*overrides))
    assert math.isfinite(metrics["val/loss"])  # the calibrated likelihood's negative ELBO can be below 0
    assert (keys.CCC_V in metrics) == (name == "levasa")
    out_dir = Path(make_cfg().paths.output_dir)
    assert json.loads((out_dir / "metrics.json").read_text())["val/loss"] == metrics["val/loss"]
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-2] == f"Run directory: {out_dir}"
    assert printed[-1].startswith("Best checkpoint:")


REAL_DATA_PRESETS = {"paper_imfdb": make_imfdb, "paper_afew": make_afew_va}
"""Presets on a real dataset (their ``_faithful`` twins too), smoke-tested on a generated tree of its layout."""


def check_filled_labels(cfg, experiment: str) -> None:
    """The preset's training split: every face has both label kinds, the hidden one filled by transfer; the
    AFEW-like variant keeps its integer VA steps."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    train_set = datamodule.datasets["train"]
    va, emotion = train_set.va.numpy(), train_set.emotion.numpy()
    assert len(train_set) > 0 and not np.isnan(va).any() and (emotion >= 0).all()
    if experiment == "synthetic_afew":
        assert np.allclose(va * 10, np.round(va * 10), atol=1e-5)
    if experiment == "synthetic_imfdb":  # VA drawn inside each class's anchor ellipse: classes differ in valence
        assert va[emotion == 1, 0].mean() > 0.3 > -0.3 > va[emotion == 2, 0].mean()  # Happy vs Sad


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_every_experiment_preset_trains_with_its_labels(make_cfg, tmp_path, experiment):
    maker = REAL_DATA_PRESETS.get(experiment.removesuffix("_faithful"))
    if maker is None:
        cfg = make_cfg(f"experiment={experiment}", "debug=fdr")
    else:
        root = maker(tmp_path / "tree")
        cfg = compose_config(
            [
                f"experiment={experiment}",
                f"data.root={root}",
                "data.image_size=32",
                f"paths.output_dir={tmp_path / 'run'}",
                f"paths.data_dir={tmp_path / 'data'}",
                "debug=fdr",
            ]
        )
    metrics = train(cfg)
    assert np.isfinite(metrics["val/loss"])
    if cfg.model.get("alignment") is None:  # a Vanilla twin: nothing to read VA with
        assert keys.CCC_V not in metrics
    else:  # VA known: the readout is scored
        assert -1 <= metrics[keys.CCC_V] <= 1
    if experiment.startswith("synthetic_") or maker is not None:
        check_filled_labels(cfg, experiment)


@pytest.mark.slow
def test_compile_switch_trains_the_compiled_module_and_saves_plain_weights(make_cfg):
    """``compile=true`` (torch.compile, TorchInductor): training runs, and best.ckpt holds the plain module's
    weights (no ``_orig_mod.`` prefix), so it loads without compiling."""
    cfg = make_cfg("compile=true", "debug=limit", "trainer.max_epochs=1", "trainer.limit_train_batches=2")
    metrics = train(cfg)
    assert math.isfinite(metrics["val/loss"])
    best = Path(metrics["run"]["best_checkpoint"])
    assert not any("_orig_mod" in key for key in read_checkpoint(best)["state_dict"])
    assert load_module(best).encode(torch.rand(2, 3, 32, 32)).mu.shape == (2, sum(cfg.model.encoder.chunks.values()))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """One real two-epoch LeVAsa run with checkpoints and TensorBoard (shared by the tests below)."""
    from tests.helpers import compose_config

    tmp = tmp_path_factory.mktemp("short")
    cfg = compose_config(
        [
            *TINY,
            f"paths.output_dir={tmp / 'run'}",
            f"paths.data_dir={tmp / 'data'}",
            "debug=limit",
            "trainer.max_epochs=2",
        ]
    )
    return cfg, train(cfg)


def test_run_writes_checkpoints_and_metrics(short_run):
    cfg, metrics = short_run
    out_dir = Path(cfg.paths.output_dir)
    best, last = out_dir / "checkpoints" / "best.ckpt", out_dir / "checkpoints" / "last.ckpt"
    assert best.is_file() and last.is_file()
    saved = json.loads((out_dir / "metrics.json").read_text())
    for name in (keys.VAL_LOSS, keys.CCC_V, keys.CCC_A, keys.MAE_V, keys.MAE_A, "val/recon", "val/kl", "val/align"):
        assert name in saved
    assert -1.0 <= saved[keys.CCC_V] <= 1.0 and saved[keys.MAE_A] >= 0
    assert saved[keys.CCC_V] == metrics[keys.CCC_V]
    assert saved["run"]["best_checkpoint"] == str(best)
    assert (
        saved["run"]["seed"] == cfg.seed and saved["run"]["global_step"] == 2 * 4
    )  # 2 epochs of 64 training faces in batches of 16


def test_tensorboard_has_scalars_images_and_hparams(short_run):
    cfg, _ = short_run
    events = EventAccumulator(str(Path(cfg.paths.output_dir) / "tensorboard")).Reload()
    scalars = set(events.Tags()["scalars"])
    for name in ("train/loss", "train/recon", "train/kl", "train/align", keys.VAL_LOSS, keys.CCC_V, keys.CCC_A):
        assert name in scalars
    images = set(events.Tags()["images"])
    assert {"val/reconstructions", "val/swap", "val/traverse_z_v", "val/traverse_z_a", "val/va_plane"} <= images
    hparams = Path(cfg.paths.output_dir) / "tensorboard" / "hparams.yaml"
    assert f"alpha: {cfg.alpha}" in hparams.read_text()


def test_one_event_file_ends_with_the_hparams_and_the_final_figures(short_run):
    """HParams dashboard: the run's settings against its final (best checkpoint's) validation figures, in the run's
    one event file (the final validation used to open a second one); no placeholder metric."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    cfg, metrics = short_run
    (event_file,) = (Path(cfg.paths.output_dir) / "tensorboard").glob("events.out.tfevents.*")
    events = EventAccumulator(str(event_file), size_guidance={"tensors": 0}).Reload()
    assert "hp_metric" not in events.Tags()["scalars"]
    for name in (keys.VAL_LOSS, keys.CCC_V, keys.CCC_A):
        (final,) = events.Scalars(f"final/{name}")
        assert final.value == pytest.approx(metrics[name], rel=1e-6) and final.step == metrics["run"]["global_step"]
    decoded = [plugin_data_pb2.HParamsPluginData.FromString(c) for c in events.PluginTagToContent("hparams").values()]
    (start,) = [d.session_start_info for d in decoded if d.HasField("session_start_info")]
    (experiment,) = [d.experiment for d in decoded if d.HasField("experiment")]
    shown = {k: v.string_value or v.number_value for k, v in start.hparams.items()}
    assert shown["alpha"] == cfg.alpha and shown["seed"] == cfg.seed and shown["trainer.precision"] == "32-true"
    assert shown["model.alignment"] == "LinearAlignment" and shown["model.encoder"] == "PyramidEncoder"
    assert {m.name.tag for m in experiment.metric_infos} >= {f"final/{keys.VAL_LOSS}", f"final/{keys.CCC_V}"}


def test_checkpoint_reloads_to_identical_outputs(short_run):
    cfg, _ = short_run
    path = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    assert read_checkpoint(path)["hyper_parameters"]["config"]["alpha"] == cfg.alpha
    first, second = load_module(path), load_module(path)
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        enc1, enc2 = first.encode(x), second.encode(x)
        assert torch.equal(enc1.mu, enc2.mu)
        assert torch.equal(first.readout(enc1), second.readout(enc2))
        assert torch.equal(first.decode(enc1.mu), second.decode(enc2.mu))
    state = read_checkpoint(path)["state_dict"]
    assert all(torch.equal(state[k], v) for k, v in first.state_dict().items())


def test_reading_a_non_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_module(tmp_path / "missing.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="not a levasa checkpoint"):
        load_module(tmp_path / "other.ckpt")


def run_train_script(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    """``python train.py`` in a subprocess, writing under ``tmp_path``."""
    flags = [o for o in overrides if o.startswith("-")]  # Hydra's flags must precede the overrides
    args = [*flags, *TINY, f"paths.data_dir={tmp_path / 'data'}", "debug=limit", "trainer.max_epochs=1"]
    args += [o for o in overrides if not o.startswith("-")]
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_command_line_sweep_gives_one_directory_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_train_script(tmp_path, "-m", "alpha=0,10", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-2000:]
    for job in ("0", "1"):
        assert (sweep / job / "checkpoints" / "best.ckpt").is_file()
        assert (sweep / job / "metrics.json").is_file()
        assert (sweep / job / ".hydra" / "config.yaml").is_file()
    alphas = [
        float(read_checkpoint(sweep / j / "checkpoints" / "best.ckpt")["hyper_parameters"]["config"]["alpha"])
        for j in ("0", "1")
    ]
    assert alphas == [0.0, 10.0]


@pytest.mark.slow
def test_alpha_grid_config_sweeps_every_alpha(tmp_path):
    sweep = tmp_path / "grid"
    result = run_train_script(
        tmp_path, "hparams_search=alpha_grid", f"hydra.sweep.dir={sweep}", "trainer.limit_train_batches=1"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()) == ["0", "1", "2", "3"]
    assert all((sweep / j / "metrics.json").is_file() for j in "0123")


def test_script_names_run_directory_last(tmp_path):
    run_dir = tmp_path / "single"
    result = run_train_script(tmp_path, f"hydra.run.dir={run_dir}", "model=levasa", "alpha=10")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == f"Run directory: {run_dir}"
    assert lines[-1] == f"Best checkpoint: {run_dir / 'checkpoints' / 'best.ckpt'}"
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_unknown_model_on_the_command_line_is_a_clear_error(tmp_path):
    result = run_train_script(tmp_path, "model=transformer")
    assert result.returncode != 0
    assert "Could not find 'model/transformer'" in result.stderr
    assert "levasa" in result.stderr and "vanilla" in result.stderr
