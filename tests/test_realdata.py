"""Real-dataset datamodules end to end: each official layout (built by code) read, cached, split, filled and
trained on with ``fast_dev_run``; pooled sources tagged and validated per source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate

from levasa.data.fill import LabelFill
from levasa.data.readers.records import ReaderError
from levasa.data.realdata import assign_splits
from levasa.jobs.training import train
from levasa.models import keys
from tests.formats import (
    make_afew_va,
    make_affectnet2017,
    make_affectnet2021,
    make_fer2013,
    make_folder,
    make_imfdb,
    make_rafdb,
)
from tests.helpers import ROOT, compose_config

SMALL = ["data.image_size=32", "data.batch_size=8", "trainer.max_epochs=1"]

TREES = {
    "affectnet2017": ("affectnet", make_affectnet2017),
    "affectnet2021": ("affectnet", make_affectnet2021),
    "afew_va": ("afew_va", make_afew_va),
    "imfdb": ("imfdb", make_imfdb),
    "folder": ("folder", make_folder),
    "fer2013": ("fer2013", make_fer2013),
    "rafdb": ("rafdb", make_rafdb),
}
FACES = {"affectnet2017": 32, "affectnet2021": 32, "afew_va": 30, "imfdb": 40, "folder": 20, "fer2013": 27, "rafdb": 38}
"""Faces each generated tree gives its reader (AffectNet leaves codes 7-10 and rows without VA out)."""


def config(tmp_path: Path, name: str, root: Path, *overrides: str):
    paths = [f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"]
    return compose_config([f"data={name}", f"data.root={root}", *SMALL, *paths, *overrides])


def datamodule(tmp_path: Path, tree: str, *overrides: str):
    name, make = TREES[tree]
    module = instantiate(config(tmp_path, name, make(tmp_path / tree), *overrides).data)
    module.prepare_data()
    module.setup("fit")
    return module


@pytest.mark.parametrize("tree", sorted(TREES))
def test_fast_dev_run_on_each_layout(tmp_path: Path, tree: str) -> None:
    name, make = TREES[tree]
    metrics = train(config(tmp_path, name, make(tmp_path / tree), "trainer.fast_dev_run=true"))
    assert np.isfinite(metrics["val/loss"]) and np.isfinite(metrics[keys.CCC_V])
    assert metrics["run"]["global_step"] == 1  # fast_dev_run: one training batch
    (cache,) = (tmp_path / "data" / "cache").iterdir()  # the run's preprocessing cache, of every face read
    index = json.loads((cache / "index.json").read_text())
    assert (index["source"], index["n"], index["n_invalid"]) == (name, FACES[tree], 0)
    assert cache.name.startswith(f"{name}-32px-")


@pytest.mark.parametrize("tree", sorted(TREES))
def test_splits_are_subject_disjoint_and_labels_complete(tmp_path: Path, tree: str) -> None:
    module = datamodule(tmp_path, tree)
    splits = module.datasets
    subjects = {name: set(ds.subject.tolist()) for name, ds in splits.items()}
    assert not subjects["train"] & subjects["val"] and not subjects["train"] & subjects["test"]
    assert not subjects["val"] & subjects["test"]
    for dataset in splits.values():
        assert len(dataset) > 0
        assert not np.isnan(dataset.va.numpy()).any(), "the missing VA kind is filled by transfer"
        assert (dataset.emotion.numpy() >= 0).all(), "the missing class kind is filled by transfer"
        sample = dataset[0]
        assert sample["image"].shape == (3, 32, 32) and 0 <= sample["image"].min() <= sample["image"].max() <= 1
        assert sample["image"].std() > 0.02, "a face, not a blank crop"


def test_affectnet_official_split_is_kept_and_val_carved_from_train(tmp_path: Path) -> None:
    module = datamodule(tmp_path, "affectnet2017")
    sizes = {name: len(ds) for name, ds in module.datasets.items()}
    assert sizes["test"] == 8 and sizes["train"] + sizes["val"] == 24 and sizes["val"] >= 1
    skipped = dict(module.skipped)
    assert skipped == {
        "Contempt (classes=7)": 2,
        "valence/arousal missing": 2,
        "expression 8 (None)": 1,
        "expression 9 (Uncertain)": 1,
        "expression 10 (Non-Face)": 2,
    }


def test_assign_splits_uses_official_splits_or_a_seeded_one() -> None:
    subject = np.repeat(np.arange(20), 3)
    seeded = assign_splits(np.full(60, ""), subject, 0.1, 0.2, seed=1)
    assert {name: int(mask.sum()) for name, mask in seeded.items()} == {"train": 42, "val": 6, "test": 12}
    official = np.array(["train"] * 45 + ["test"] * 15)
    masks = assign_splits(official, subject, 0.2, 0.0, seed=1)
    assert masks["test"].sum() == 15 and masks["val"].sum() == 9 and masks["train"].sum() == 36
    with pytest.raises(ReaderError, match="no official split"):
        assign_splits(np.array(["train"] * 30 + [""] * 30), subject, 0.1, 0.1, seed=1)


def test_the_cache_is_built_once_and_reused(tmp_path: Path) -> None:
    root = make_afew_va(tmp_path / "afew_va")

    def cache_of(*overrides: str):
        module = instantiate(config(tmp_path, "afew_va", root, *overrides).data)
        module.setup("fit")
        return module.cache()

    first = cache_of()
    again = cache_of("data/fill=none")  # labels only: the same pixels, so the same cache
    assert again.folder == first.folder and again.build_seconds == first.build_seconds
    assert cache_of("data.reader.margin=0.5").folder != first.folder  # other crop boxes: another cache
    assert cache_of("data.image_size=40").folder != first.folder
    assert len(list(first.folder.parent.iterdir())) == 3


def test_a_wrong_root_and_an_empty_split_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReaderError, match="empty"):
        instantiate(config(tmp_path, "imfdb", tmp_path / "empty").data).setup()
    with pytest.raises(ReaderError, match="not found"):
        instantiate(config(tmp_path, "afew_va", tmp_path / "nowhere").data).setup()
    make_imfdb(tmp_path / "imfdb", n_actors=2)
    with pytest.raises(ValueError, match="too few"):
        instantiate(config(tmp_path, "imfdb", tmp_path / "imfdb").data).setup()


def test_an_unreadable_image_is_named_or_skipped_and_counted(tmp_path: Path) -> None:
    root = make_imfdb(tmp_path / "imfdb")
    victim = sorted(root.rglob("*.jpg"))[5]
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(ValueError, match=victim.name.replace(".", r"\.")):
        instantiate(config(tmp_path, "imfdb", root).data).setup()
    module = instantiate(config(tmp_path, "imfdb", root, "data.skip_invalid=true").data)
    module.setup()
    assert module.skipped["unreadable image"] == 1
    assert sum(len(ds) for ds in module.datasets.values()) == 39


def pooled_root(tmp_path: Path) -> Path:
    root = tmp_path / "datasets"
    make_affectnet2021(root / "affectnet")
    make_afew_va(root / "afew_va")
    make_imfdb(root / "imfdb")
    return root


def test_pooled_sources_are_tagged_and_validated_per_source(tmp_path: Path) -> None:
    root = pooled_root(tmp_path)
    cfg = config(tmp_path, "pooled", root, "debug=limit")
    module = instantiate(cfg.data)
    module.prepare_data()
    module.setup("fit")
    assert module.source_names == ("affectnet", "afew_va", "imfdb")
    val = module.datasets["val"]
    assert sorted(set(val.source.tolist())) == [0, 1, 2]
    assert {val[i]["source"] for i in range(len(val))} == {0, 1, 2}
    assert val.image_batch([0, len(val) - 1]).shape == (2, 3, 32, 32)
    metrics = train(cfg)
    for source in module.source_names:  # IMFDB's VA is transferred, so it is validated too
        assert np.isfinite(metrics[f"val/{source}/ccc_v"]) and np.isfinite(metrics[f"val/{source}/mae_a"])


def test_pooled_train_script_drops_a_source(tmp_path: Path) -> None:
    root = pooled_root(tmp_path)
    command = [
        sys.executable, "train.py", "data=pooled", f"data.root={root}", "~data.sources.affectnet",
        *SMALL, "trainer.fast_dev_run=true", f"paths.data_dir={tmp_path / 'data'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "data.batch_size=32",  # fast_dev_run validates one batch: it must reach both sources' val splits
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pooled afew_va, imfdb:" in done.stdout + done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"val/afew_va/ccc_v", "val/imfdb/ccc_v"} <= set(metrics)
    assert not any(name.startswith("val/affectnet/") for name in metrics)


@pytest.mark.parametrize(
    "overrides",
    [["data=afew_va", "data.root=ROOT"], ["data=pooled", "data.root=POOL"], ["experiment=synthetic_imfdb"]],
)
def test_datamodule_hyperparameters_load_with_weights_only(tmp_path, overrides):
    """Hydra builds the nested ``reader`` (a partial function) and ``fill`` (a LabelFill) and hands other
    nested nodes over as DictConfig; Lightning stores the datamodule's hyperparameters in every checkpoint and
    restores it with ``torch.load(weights_only=True)``, which refuses such objects: a full run on such data used
    to fail when it validated its best checkpoint. The stored hyperparameters are plain containers."""
    import torch

    afew = make_afew_va(tmp_path / "pool" / "afew_va")
    roots = {"ROOT": str(afew), "POOL": str(tmp_path / "pool")}
    if "data=pooled" in overrides:
        make_imfdb(tmp_path / "pool" / "imfdb")
        make_affectnet2021(tmp_path / "pool" / "affectnet")
    cfg = compose_config([*(o.split("=")[0] + "=" + roots.get(o.split("=")[1], o.split("=")[1]) for o in overrides),
                          f"paths.output_dir={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"])  # fmt: skip
    module = instantiate(cfg.data)
    torch.save({"datamodule_hyper_parameters": dict(module.hparams)}, tmp_path / "h.ckpt")
    loaded = torch.load(tmp_path / "h.ckpt", weights_only=True)["datamodule_hyper_parameters"]
    assert loaded == dict(module.hparams)
    if "data=afew_va" in overrides:  # the reader and the fill are stored as the config that builds them
        assert loaded["reader"] == {
            "_target_": "levasa.data.readers.afew_va.read_afew_va",
            "_partial_": True,
            "margin": 0.25,
        }
        assert loaded["fill"]["_target_"] == "levasa.data.fill.LabelFill" and instantiate(loaded["fill"]) == module.fill
    if "experiment" in overrides[0]:
        assert instantiate(loaded["fill"]) == module.fill == LabelFill(seed=0)
