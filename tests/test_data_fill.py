"""Filling the missing label kind by annotation transfer: the data/fill group, in the datamodule, from files."""

import json

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf.errors import MissingMandatoryValue

from levasa.annotation.anchors import affectnet_anchor
from levasa.annotation.labels import AnnotationError
from levasa.annotation.strategies import va_to_categorical
from levasa.data.datamodule import SyntheticDataModule
from levasa.data.fill import LabelFill, fill_missing_labels
from tests.helpers import compose_config


def module(tmp_path, variant: str, fill) -> SyntheticDataModule:
    dm = SyntheticDataModule(
        image_size=16, n_identities=10, expressions_per_identity=20, variant=variant, cache_dir=tmp_path, fill=fill
    )
    dm.setup()
    return dm


def test_category_only_data_gets_va_inside_its_class_ellipse(tmp_path):
    dm = module(tmp_path, "category", LabelFill(anchor="affectnet", va_strategy="ellipse"))
    anchor = affectnet_anchor()
    for ds in dm.datasets.values():
        va, emotion = ds.va.numpy(), ds.emotion.numpy()
        assert not np.isnan(va).any() and (emotion >= 0).all()
        offset = (va - anchor.mean[emotion]) / anchor.std[emotion]
        assert np.all((offset**2).sum(axis=1) <= 1 + 1e-5)


def test_va_only_data_gets_the_nearest_centre_class(tmp_path):
    dm = module(tmp_path, "va", LabelFill(label_strategy="nearest"))
    ds = dm.datasets["train"]
    expected = va_to_categorical(ds.va.numpy(), affectnet_anchor(), "nearest")
    assert np.array_equal(ds.emotion.numpy(), expected)


def test_without_fill_the_hidden_kind_stays_unknown(tmp_path):
    ds = module(tmp_path, "category", None).datasets["train"]
    assert np.isnan(ds.va.numpy()).all()


def test_a_transferred_file_wins_over_on_the_fly_transfer(tmp_path):
    keys = np.array(["a", "b", "c"])
    emotion = np.array([1, 2, 3])
    va = np.full((3, 2), np.nan, dtype=np.float32)
    path = tmp_path / "va.json"
    path.write_text(json.dumps({"b": [0.25, -0.5], "zzz": [0.0, 0.0]}))
    filled_va, filled_emotion = fill_missing_labels(
        LabelFill(file=str(path), va_strategy="centroid"), keys, va, emotion
    )
    assert filled_va[1].tolist() == [0.25, -0.5]
    assert filled_va[0] == pytest.approx(affectnet_anchor().mean[1])  # not in the file: the Happy centroid
    assert np.array_equal(filled_emotion, emotion)


def test_label_file_fills_classes_and_bad_files_are_clear_errors(tmp_path):
    keys, va = np.array(["a", "b"]), np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a": "HAPPINESS", "b": "sad"}))
    _, emotion = fill_missing_labels(LabelFill(file=str(labels)), keys, va, np.array([-1, -1]))
    assert emotion.tolist() == [1, 2]
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"a": "bored"}))
    with pytest.raises(AnnotationError, match=r"unknown.json: key 'a' has unknown label 'bored'"):
        fill_missing_labels(LabelFill(file=str(unknown)), keys, va, np.array([-1, -1]))
    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps({"x": "Happy"}))
    with pytest.raises(AnnotationError, match="none of its 1 keys"):
        fill_missing_labels(LabelFill(file=str(stranger)), keys, va, np.array([-1, -1]))


def test_unknown_strategies_are_clear_errors():
    with pytest.raises(ValueError, match="va_strategy must be one of"):
        LabelFill(va_strategy="median")
    with pytest.raises(ValueError, match="label_strategy must be one of"):
        LabelFill(label_strategy="closest")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data/fill=none"], None),
        (["data/fill=affectnet", "seed=7"], LabelFill("affectnet", "ellipse", "nearest", None, 7)),
        (["data/fill=file", "data.fill.file=annotations/x_va.json"], LabelFill(file="annotations/x_va.json")),
    ],
)
def test_each_fill_option_builds_its_label_fill(tmp_path, overrides, expected):
    cfg = compose_config(["data=imfdb", *overrides, f"paths.output_dir={tmp_path}"])
    assert instantiate(cfg.data.fill) == expected


def test_the_file_fill_needs_its_file(tmp_path):
    cfg = compose_config(["data=afew_va", "data/fill=file", f"paths.output_dir={tmp_path}"])
    with pytest.raises(MissingMandatoryValue, match=r"Missing mandatory value: data\.fill\.file"):
        instantiate(cfg.data)
