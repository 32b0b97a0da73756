"""The generation and structure sections against oracles: a hand-built "perfect" model whose decoder is the synthetic
renderer of its latent (z_v = valence, z_a = arousal, z_z = the identity factors), and a model that ignores its
latent; the judge against true faces and noise; the leakage matrix of the true factors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from levasa.data.datamodule import SyntheticDataModule
from levasa.data.synthetic.render import render
from levasa.evaluation.edits import hit_readout, label_directions, swap_donors, va_grid
from levasa.evaluation.encode import Latents
from levasa.evaluation.judge import JudgeSettings, fit_judge, judge_targets
from levasa.evaluation.sections.base import Context
from levasa.evaluation.sections.generation import Generation
from levasa.evaluation.sections.structure import Structure
from levasa.metrics.alignment import ccc

SIZE = 32


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A small synthetic set at 32x32: (train split, test split)."""
    datamodule = SyntheticDataModule(
        image_size=SIZE, n_identities=160, expressions_per_identity=12, val_fraction=0.1, test_fraction=0.25,
        cache_dir=str(tmp_path_factory.mktemp("faces")), seed=0,
    )  # fmt: skip
    datamodule.prepare_data()
    datamodule.setup("test")
    return datamodule.datasets["train"], datamodule.datasets["test"]


def true_latents(dataset) -> Latents:
    """A representation that is exactly [valence, arousal, identity factors]."""
    factors = dataset.factors
    chunks = {"v": factors[:, :1].copy(), "a": factors[:, 1:2].copy(), "z": factors[:, 2:].copy()}
    readout = factors[:, :2].copy()
    return Latents(chunks, readout, dataset.va.numpy(), dataset.emotion.numpy(), list(dataset.keys),
                   dataset.subject.numpy(), factors, dataset.factor_names)  # fmt: skip


class PerfectModel:
    """Decodes its latent with the synthetic renderer; its readout is the first code of z_v and of z_a."""

    has_readout = True
    alignment = SimpleNamespace(readout=lambda z_v, z_a: torch.cat([z_v[:, :1], z_a[:, :1]], dim=1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        z = z.detach().numpy()
        images = render(np.clip(z[:, :2], -1, 1), z[:, 2:], SIZE, seed=1)
        return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


class IgnoringModel(PerfectModel):
    """Draws the same face whatever its latent says."""

    def __init__(self, face: torch.Tensor) -> None:
        self.face = face

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.face.expand(len(z), -1, -1, -1)


def context(model, faces) -> Context:
    train, test = faces
    return Context(model, true_latents(train), true_latents(test), test.image_batch(), 0, 1, train_set=train)


SECTION = {"judge": {"epochs": 20, "seed": 0}, "edit_faces": 24}


@pytest.fixture(scope="module")
def perfect(faces):
    return Generation(**SECTION).compute(context(PerfectModel(), faces))


def test_the_judge_reads_true_faces_and_not_noise(faces, perfect):
    train, test = faces
    judge = fit_judge(train.image_batch(), judge_targets(train.factors, train.factor_names, train.va.numpy()),
                      JudgeSettings(epochs=15))  # fmt: skip
    real = judge(test.image_batch())
    for axis in (0, 1):
        assert ccc(real[:, axis], test.factors[:, axis]) > 0.8
    noise = judge(torch.rand(len(test), 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)))
    for axis in (0, 1):
        assert abs(ccc(noise[:, axis], test.factors[:, axis])) < 0.1
    scores = perfect["judge"]
    assert min(scores["ccc_real"].values()) > 0.8 and scores["identity_r2_real"] > 0.6
    assert "skin_tone" in scores["identity_factors"] and "noise_std" not in scores["identity_factors"]


def test_a_perfect_model_scores_about_one(perfect):
    for axis in ("valence", "arousal"):
        assert perfect["reconstruction"]["ccc"][axis] > 0.8
        assert perfect["swap"]["ccc_donor"][axis] > 0.8
        assert abs(perfect["swap"]["ccc_recipient"][axis]) < 0.2
        assert perfect["edit"]["ccc"][axis] > 0.8
        assert 0.8 < perfect["edit"]["slope"][axis] < 1.2
    assert perfect["swap"]["identity_r2_recipient"] > 0.6
    factors = perfect["swap"]["factor_r2_recipient"]  # per factor, the same factors the mean is taken over
    assert list(factors) == perfect["judge"]["identity_factors"]
    assert np.mean(list(factors.values())) == pytest.approx(perfect["swap"]["identity_r2_recipient"])
    assert list(perfect["reconstruction"]["factor_r2"]) == list(factors)


def test_a_model_that_ignores_its_latent_scores_about_zero(faces):
    mean_face = faces[1].image_batch().mean(0, keepdim=True)
    section = Generation(**SECTION).compute(context(IgnoringModel(mean_face), faces))
    for axis in ("valence", "arousal"):
        assert abs(section["reconstruction"]["ccc"][axis]) < 0.05
        assert abs(section["swap"]["ccc_donor"][axis]) < 0.05
        assert abs(section["edit"]["ccc"][axis]) < 0.05 and abs(section["edit"]["slope"][axis]) < 0.05
    assert section["swap"]["identity_r2_recipient"] < 0.05


def test_the_leakage_matrix_of_the_true_factors_is_diagonal(faces):
    section = Structure(mlp=True).compute(context(PerfectModel(), faces))
    linear = section["linear"]
    assert linear["z_v"]["valence"] > 0.99 and linear["z_a"]["arousal"] > 0.99
    for chunk, factor in (("z_v", "arousal"), ("z_a", "valence"), ("z_z", "valence"), ("z_z", "arousal")):
        assert linear[chunk][factor] < 0.05, (chunk, factor)
        # the classes tie arousal and valence together nonlinearly: an MLP reads one from the other up to the floor
        floor = {"z_v": "valence_to_arousal", "z_a": "arousal_to_valence"}.get(chunk)
        assert section["mlp"][chunk][factor] < (section["floor"][floor]["mlp"] if floor else 0.0) + 0.05
    assert section["identity_mean_linear"]["z_v"] < 0.05 and section["identity_mean_linear"]["z_a"] < 0.05
    assert linear["z_z"]["skin_tone"] > 0.99
    assert all(abs(values["linear"]) < 0.05 for values in section["floor"].values())


def test_swap_donors_are_other_subjects_and_edits_hit_their_targets():
    subject = np.repeat(np.arange(5), 4)
    donors = swap_donors(subject, seed=3)
    assert (subject[donors] != subject).all() and np.array_equal(donors, swap_donors(subject, seed=3))
    weights = torch.tensor([[0.5, -2.0, 1.0]])
    readout = lambda z_v, z_a: torch.stack([torch.tanh(z_v @ weights.T)[:, 0], z_a.sum(1)], dim=1)  # noqa: E731
    target = torch.from_numpy(va_grid(3, np.array([-0.6, -0.3]), np.array([0.6, 0.8])))
    assert target[:3, 0].tolist() == pytest.approx([-0.6, 0.0, 0.6]) and target[::3, 1].tolist() == pytest.approx(
        [-0.3, 0.25, 0.8]
    )
    z_v, z_a = hit_readout(readout, torch.zeros(len(target), 3), torch.ones(len(target), 2), target)
    assert torch.allclose(readout(z_v, z_a), target, atol=1e-3)


def test_edits_move_the_chunks_the_way_the_data_moves_them():
    rng = np.random.default_rng(0)
    va = rng.uniform(-1, 1, size=(20000, 2))
    person = rng.normal(size=(20000, 1))
    chunks = {"v": np.hstack([2 * va[:, :1], person]), "a": np.hstack([person, -va[:, 1:]])}
    d_v, d_a = label_directions({k: c.astype(np.float32) for k, c in chunks.items()}, va)
    assert torch.allclose(d_v, torch.tensor([2.0, 0.0]), atol=0.1) and torch.allclose(
        d_a, torch.tensor([0.0, -1.0]), atol=0.1
    )
    readout = lambda z_v, z_a: torch.stack([z_v.sum(1), z_a.sum(1)], dim=1)  # noqa: E731  (reads the person too)
    target = torch.tensor([[0.5, -0.2], [-0.3, 0.4]])
    z_v, z_a = hit_readout(readout, torch.ones(2, 2), torch.ones(2, 2), target, (d_v, d_a))
    assert torch.allclose(readout(z_v, z_a), target, atol=1e-3)
    assert torch.allclose(z_v[:, 1], torch.ones(2), atol=0.2) and torch.allclose(z_a[:, 0], torch.ones(2), atol=0.2)


def test_the_judge_trains_on_a_bounded_seeded_subsample_of_the_labelled_faces():
    """Its memory must not grow with the dataset (it holds its faces as float); below the bound every labelled face
    is used, so the default set's judge is what it was."""
    from levasa.evaluation.judge import JudgeSettings, judge_rows

    values = np.random.default_rng(0).normal(size=(1000, 3)).astype(np.float32)
    values[::10, 1] = np.nan  # 100 rows with an unknown target
    every = judge_rows(values, None, seed=0)
    assert len(every) == 900 and not np.isnan(values[every]).any()
    assert np.array_equal(judge_rows(values, 5000, seed=0), every)
    capped = judge_rows(values, 300, seed=0)
    assert len(capped) == 300 and np.all(np.diff(capped) > 0) and set(capped) <= set(every)
    assert np.array_equal(capped, judge_rows(values, 300, seed=0))
    assert not np.array_equal(capped, judge_rows(values, 300, seed=1))
    with pytest.raises(ValueError, match=r"judge\.max_train must be at least 2"):
        JudgeSettings(max_train=1)
