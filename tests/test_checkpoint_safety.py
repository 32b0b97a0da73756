"""Checkpoints from outside (``evaluate.py ckpt=``, ``predict.py ckpt=``, ``train.py ckpt_path=``): nothing in them
runs code, an unreadable one is an error naming the file and what is wrong, and runs that would silently be wrong
(nothing trained, NaN weights) are clear errors.

Every crafted checkpoint is built here. A payload that ran would write a marker file; every refusal test checks
that the error names the checkpoint and what was refused, and that no marker file appeared.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from levasa.jobs.evaluation import evaluate
from levasa.jobs.prediction import predict
from levasa.jobs.training import train
from levasa.models import checkpoint
from levasa.models.checkpoint import load_module
from levasa.models.module import LatentVAModule
from tests.helpers import ROOT, TINY, compose_config

QUIET = ["debug=limit", "callbacks.progress_bar.refresh_rate=0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The best checkpoint of one short LeVAsa run on the tiny synthetic set."""
    tmp = tmp_path_factory.mktemp("safety")
    cfg = compose_config([*TINY, *QUIET, f"paths.output_dir={tmp / 'run'}", f"paths.data_dir={tmp / 'data'}"])
    return Path(train(cfg)["run"]["best_checkpoint"])


@pytest.fixture(scope="module")
def data_dir(trained) -> Path:
    """The synthetic cache of ``trained`` (shared, so that resumes do not render it again)."""
    return trained.parents[2] / "data"


class Payload:
    """Pickles to a call of ``exec`` that writes ``marker``: what a crafted checkpoint would run on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def crafted_pickle(path: Path, marker: Path, zipped: bool = True) -> Path:
    """A checkpoint-shaped file whose pickle runs :class:`Payload` when fully unpickled: torch's zip format, or a
    bare pickle (torch's legacy format)."""
    contents = {"hyper_parameters": {"config": {"seed": 0}}, "state_dict": {}, "payload": Payload(marker)}
    if zipped:
        torch.save(contents, path)
    else:
        path.write_bytes(pickle.dumps(contents))
    return path


def edited_checkpoint(source: Path, path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """``source`` saved again as ``path`` after ``edit(checkpoint)``."""
    ckpt = torch.load(source, map_location="cpu", weights_only=True)
    edit(ckpt)
    torch.save(ckpt, path)
    return path


def image_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / "a.png")
    return root


def run_evaluate(tmp_path: Path, ckpt: Path, *overrides: str) -> Any:
    cfg = compose_config(
        [f"ckpt={ckpt}", f"paths.output_dir={tmp_path / 'eval'}", "probes.max_train=200", "probes.max_figure=16",
         *overrides],
        "evaluate",
    )  # fmt: skip
    return evaluate(cfg)


def run_predict(tmp_path: Path, ckpt: Path, *overrides: str) -> Any:
    root = image_folder(tmp_path / "faces")
    cfg = compose_config([f"ckpt={ckpt}", f"input={root}", f"output={tmp_path / 'pred.csv'}", *overrides], "predict")
    return predict(cfg)


def run_resume(tmp_path: Path, ckpt: Path, data_dir: Path) -> Any:
    paths = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={data_dir}"]
    return train(compose_config([*TINY, *QUIET, *paths, f"ckpt_path={ckpt}"]))


def entry_point(name: str, tmp_path: Path, data_dir: Path) -> Callable[[Path], Any]:
    """``evaluate.py ckpt=``, ``predict.py ckpt=``, ``train.py ckpt_path=`` or ``load_module`` on one checkpoint."""
    return {
        "evaluate": lambda ckpt: run_evaluate(tmp_path, ckpt),
        "predict": lambda ckpt: run_predict(tmp_path, ckpt),
        "resume": lambda ckpt: run_resume(tmp_path, ckpt, data_dir),
        "load_module": load_module,
    }[name]


# ------------------------------------------------------------------------------ 1. a checkpoint can run code


def raised(call: Callable[[Path], Any], ckpt: Path) -> Exception | None:
    """What ``call(ckpt)`` raised (None: nothing), so that the marker file is checked before the error."""
    try:
        call(ckpt)
    except Exception as error:  # any error: the caller inspects it
        return error
    return None


def assert_refused(error: Exception | None, pattern: str) -> None:
    assert isinstance(error, ValueError) and re.search(pattern, str(error)), f"expected /{pattern}/, got {error!r}"


@pytest.mark.parametrize("zipped", [True, False], ids=["torch-zip", "bare-pickle"])
@pytest.mark.parametrize("entry", ["evaluate", "predict", "resume", "load_module"])
def test_a_checkpoint_whose_pickle_would_run_code_is_refused_and_nothing_runs(tmp_path, data_dir, entry, zipped):
    marker = tmp_path / "marker"
    ckpt = crafted_pickle(tmp_path / "crafted.ckpt", marker, zipped)
    error = raised(entry_point(entry, tmp_path, data_dir), ckpt)
    assert not marker.exists(), f"the crafted pickle ran (then: {error!r})"
    assert_refused(error, rf"{re.escape(str(ckpt))}: refused to load.*exec")
    assert not (tmp_path / "run" / "checkpoints").exists()


def write_marker(marker: Path) -> dict[str, Any]:
    """A config node that writes ``marker`` when Hydra instantiates it (``Path(marker).write_text('ran')``)."""
    path = {"_target_": "pathlib.Path", "_args_": [str(marker)]}
    return {"_target_": "pathlib.Path.write_text", "_args_": [path, "ran"]}


def foreign_configs(marker: Path, crafted: Path) -> dict[str, tuple[str, Callable[[dict[str, Any]], None]]]:
    """name -> (the refused target, an edit of a stored config that would write ``marker`` if built)."""
    write = write_marker(marker)
    load_crafted = {"_args_": [str(crafted)], "weights_only": False}  # runs the crafted pickle
    save_to_marker = {
        "_target_": "levasa.callbacks.AtomicCheckpointIO.save_checkpoint",
        "_args_": [{"_target_": "levasa.callbacks.AtomicCheckpointIO"}, {"x": 1}, str(marker)],
    }
    reexported = {"_target_": "levasa.callbacks.write_atomic", "_args_": [str(marker)],
                  "write": {"_target_": "builtins.print", "_partial_": True}}  # fmt: skip
    hidden = "${oc.create:'{_target_: pathlib.Path.write_text, _args_: [{_target_: pathlib.Path, _args_: [%s]}, ran]}'}"

    def model(node: Any) -> Callable[[dict[str, Any]], None]:
        return lambda c: c["model"].update(node)

    return {
        "the model": ("pathlib.Path.write_text", lambda c: c.update(model=write)),
        "nested": ("pathlib.Path.write_text", lambda c: c["model"].update(encoder=write)),
        "in a list": ("pathlib.Path.write_text", model({"hooks": [1, {"inner": [write]}]})),
        "partial": ("pathlib.Path.write_text", model({"optimizer": {**write, "_partial_": True}})),
        "the data": ("pathlib.Path.write_text", lambda c: c.update(data=write)),
        "callbacks": ("pathlib.Path.write_text", lambda c: c["callbacks"].update(mine=write)),
        "torch.load": ("torch.load", model({"encoder": {"_target_": "torch.load", **load_crafted}})),
        "disguised": ("levasa.models.module.torch.load",
                      model({"encoder": {"_target_": "levasa.models.module.torch.load", **load_crafted}})),
        "a method": ("levasa.callbacks.AtomicCheckpointIO.save_checkpoint", model({"encoder": save_to_marker})),
        "re-exported": ("levasa.callbacks.write_atomic", model({"encoder": reexported})),
        "interpolation": ("oc.create", model({"encoder": hidden % marker})),
        "not a string": ("123", model({"encoder": {"_target_": 123}})),
    }  # fmt: skip


CASES = list(foreign_configs(Path("m"), Path("c")))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("entry", ["evaluate", "predict", "load_module"])
def test_a_stored_config_naming_a_foreign_target_is_refused_before_anything_is_built(
    tmp_path, trained, data_dir, entry, case
):
    marker = tmp_path / "marker"
    crafted = crafted_pickle(tmp_path / "second.ckpt", marker)
    refused, edit = foreign_configs(marker, crafted)[case]
    ckpt = edited_checkpoint(trained, tmp_path / "foreign.ckpt", lambda c: edit(c["hyper_parameters"]["config"]))
    error = raised(entry_point(entry, tmp_path, data_dir), ckpt)
    assert not marker.exists(), f"the stored config ran foreign code (then: {error!r})"
    assert_refused(error, rf"{re.escape(str(ckpt))}: refused to build.*{re.escape(refused)}")
    assert not (tmp_path / "eval").exists() and not (tmp_path / "pred.csv").exists()


def test_trusted_targets_admit_a_run_trained_with_its_own_classes(tmp_path, trained):
    own = {"_target_": "tests.test_reliability.SlowSteps", "seconds": 0.1}
    ckpt = edited_checkpoint(trained, tmp_path / "own.ckpt", lambda c: c["hyper_parameters"]["config"]["callbacks"]
                             .update(slow=own))  # fmt: skip
    with pytest.raises(ValueError, match=r"refused to build.*tests\.test_reliability\.SlowSteps.*trusted_targets"):
        load_module(ckpt)
    assert load_module(ckpt, trusted_targets=["tests.test_reliability"]).has_readout
    edit = foreign_configs(tmp_path / "marker", tmp_path / "none")["nested"][1]
    both = edited_checkpoint(ckpt, tmp_path / "both.ckpt", lambda c: edit(c["hyper_parameters"]["config"]))
    with pytest.raises(ValueError, match=r"refused to build.*pathlib\.Path\.write_text"):  # trusting one module only
        load_module(both, trusted_targets=["tests.test_reliability"])
    assert not (tmp_path / "marker").exists()


def package_targets() -> dict[str, Path]:
    """Every ``_target_`` of the package's config files -> the file naming it (the ``hydra`` group is Hydra's own
    config, never stored in a checkpoint)."""
    found: dict[str, Path] = {}

    def walk(node: Any, source: Path) -> None:
        if isinstance(node, dict):
            if "_target_" in node:
                found[node["_target_"]] = source
            for value in node.values():
                walk(value, source)
        elif isinstance(node, list):
            for value in node:
                walk(value, source)

    conf = ROOT / "src" / "levasa" / "conf"
    for path in sorted(conf.rglob("*.yaml")):
        if path.relative_to(conf).parts[0] != "hydra":
            walk(yaml.safe_load(path.read_text()), path.relative_to(conf))
    return found


def test_every_target_the_package_configs_name_is_allowed():
    targets = package_targets()
    assert len(targets) > 20
    assert {t: str(f) for t, f in targets.items() if checkpoint.refused_target(t) is not None} == {}


def test_the_checkpoints_levasa_writes_load_with_weights_only(trained):
    for name in ("best.ckpt", "last.ckpt"):
        ckpt = torch.load(trained.parent / name, map_location="cpu", weights_only=True)
        assert ckpt["hyper_parameters"]["config"]["seed"] == 0 and ckpt["state_dict"]


def test_resume_hands_lightning_a_weights_only_load(tmp_path, trained, data_dir, monkeypatch):
    import lightning as L

    calls: list[Any] = []
    fit = L.Trainer.fit

    def recording(self, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("weights_only"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "fit", recording)
    paths = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={data_dir}"]
    train(compose_config([*TINY, *QUIET, *paths, f"ckpt_path={trained.parent / 'last.ckpt'}", "trainer.max_epochs=3"]))
    assert calls == [True]


# ------------------------------------------------------------------------ 2. unreadable checkpoints are named


def damaged(kind: str, tmp_path: Path, trained: Path) -> tuple[Path, str]:
    """A checkpoint path damaged in one way, and what the error must say about it."""
    path = tmp_path / f"{kind}.ckpt"
    data = trained.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated or corrupt"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "is empty"
    if kind == "garbage":
        path.write_bytes(b"these are not the bytes of a checkpoint\n" * 20)
        return path, "not a PyTorch checkpoint"
    if kind == "missing":
        return path, "not found|no such checkpoint file"
    path.mkdir()
    return path, "is a directory"


@pytest.mark.parametrize("kind", ["truncated", "empty", "garbage", "missing", "directory"])
@pytest.mark.parametrize("entry", ["evaluate", "predict", "resume"])
def test_an_unreadable_checkpoint_is_an_error_naming_the_file_and_what_is_wrong(
    tmp_path, trained, data_dir, entry, kind
):
    path, says = damaged(kind, tmp_path, trained)
    with pytest.raises((ValueError, OSError), match=rf"(?=.*{re.escape(str(path))})(?=.*({says}))"):
        entry_point(entry, tmp_path, data_dir)(path)
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "eval").exists()


# -------------------------------------------------------------------------------------- 9. silent wrong runs


@pytest.mark.parametrize("setting", ["trainer.max_epochs=0", "+trainer.max_steps=0", "trainer.limit_train_batches=0"])
def test_a_run_that_would_train_nothing_is_a_clear_error(make_cfg, tmp_path, setting):
    with pytest.raises(ValueError, match=rf"{re.escape(setting.lstrip('+'))} trains nothing"):
        train(make_cfg(*QUIET, setting))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_val_fraction_0_is_a_clear_error_naming_the_option(make_cfg, tmp_path):
    with pytest.raises(ValueError, match=r"val_fraction"):
        train(make_cfg(*QUIET, "data.val_fraction=0"))


@pytest.mark.parametrize("entry", ["evaluate", "predict", "load_module"])
def test_a_checkpoint_with_non_finite_weights_is_refused_naming_it(tmp_path, trained, data_dir, entry):
    poisoned: list[str] = []

    def poison(ckpt: dict[str, Any]) -> None:
        """NaN in the last encoder weight (the one the VA readout reads from)."""
        name = [k for k, v in ckpt["state_dict"].items() if k.startswith("encoder.") and v.is_floating_point()][-1]
        ckpt["state_dict"][name] = torch.full_like(ckpt["state_dict"][name], float("nan"))
        poisoned.append(name)

    ckpt = edited_checkpoint(trained, tmp_path / "nan.ckpt", poison)
    with pytest.raises(ValueError, match=rf"{re.escape(str(ckpt))}: .*not finite.*{re.escape(poisoned[0])}"):
        entry_point(entry, tmp_path, data_dir)(ckpt)
    assert not (tmp_path / "pred.csv").exists() and not (tmp_path / "eval").exists()


def test_a_nan_training_loss_before_any_validation_says_no_best_checkpoint_exists(make_cfg, tmp_path, monkeypatch):
    objective = LatentVAModule.objective

    def nan_loss(self, out, x, va):
        losses = objective(self, out, x, va)
        losses.loss = losses.loss * float("nan")
        return losses

    monkeypatch.setattr(LatentVAModule, "objective", nan_loss)
    with pytest.raises(FloatingPointError, match=r"global step 0") as error:
        train(make_cfg(*QUIET))
    assert "no best checkpoint has been written" in str(error.value)
    assert "still holds" not in str(error.value)
    assert not (tmp_path / "run" / "checkpoints" / "best.ckpt").exists()


def test_a_nan_training_loss_after_a_validation_names_the_best_checkpoint(make_cfg, tmp_path, monkeypatch):
    objective = LatentVAModule.objective

    def nan_later(self, out, x, va):
        losses = objective(self, out, x, va)
        if self.training and self.current_epoch >= 1:
            losses.loss = losses.loss * float("nan")
        return losses

    monkeypatch.setattr(LatentVAModule, "objective", nan_later)
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    with pytest.raises(FloatingPointError, match=rf"{re.escape(str(best))} holds the best model validated so far"):
        train(make_cfg(*QUIET, "trainer.max_epochs=2"))
    assert best.is_file()
