"""hparams_search=optuna: Hydra's Optuna sweeper over alpha, beta and the decorrelation weight, two objectives read
from the runs' validation figures, and the Pareto front that evaluate.py sweep=DIR draws from such a sweep."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from levasa.jobs.sweep import OPTUNA_RESULTS, evaluate_sweep, objective_values, read_optuna_results
from levasa.metrics.pareto import pareto_front
from levasa.models import keys
from tests.helpers import ROOT, TINY, compose_config

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install -e .[optuna] (in the dev extra)")

LOGGED = {value for name, value in vars(keys).items() if name.isupper() and isinstance(value, str)}


def test_optuna_config_composes_and_names_only_existing_keys():
    cfg = compose_config(["hparams_search=optuna"], keep_hydra=True)
    sweeper = cfg.hydra.sweeper
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.sampler._target_.endswith("NSGAIISampler")
    assert list(sweeper.direction) == [spec.direction for spec in cfg.objectives.values()] == ["maximize", "minimize"]
    assert {m for spec in cfg.objectives.values() for m in spec.metrics} <= LOGGED  # the names of levasa.models.keys
    plain = compose_config([])
    assert plain.objectives is None  # a single run returns monitor.metric, as before
    for key in sweeper.params:
        assert OmegaConf.select(plain, key) is not None, f"hydra.sweeper.params names {key}, not in the config"
    assert set(sweeper.params) == {"alpha", "beta", "model.terms.decorrelate.weight"}
    sweeper_object = instantiate(sweeper)  # the plugin takes the config as it is
    assert sweeper_object.sweeper.n_trials == cfg.hydra.sweeper.n_trials


def test_pareto_front_of_hand_made_points():
    # (alignment: maximise, reconstruction loss: minimise)
    points = [(0.9, 5.0), (0.5, 1.0), (0.7, 3.0), (0.6, 4.0), (0.9, 5.0), (0.4, 1.0), (np.nan, 0.0), (0.1, 9.0)]
    front = pareto_front(points, ["maximize", "minimize"])
    # (0.6, 4) is dominated by (0.7, 3); (0.4, 1) by (0.5, 1); the NaN run and (0.1, 9) are off; equal points stay
    assert front.tolist() == [True, True, True, False, True, False, False, False]
    # both minimised: (0.1, 9) now joins (0.4, 1), the least of the first objective; (nan, 0) stays off
    assert pareto_front(points, ["minimize", "minimize"]).tolist() == [False] * 5 + [True, False, True]
    assert pareto_front([(1.0,), (3.0,), (2.0,)], ["maximize"]).tolist() == [False, True, False]
    with pytest.raises(ValueError, match="directions must be among"):
        pareto_front(points, ["max", "minimize"])
    with pytest.raises(ValueError, match=r"one column per direction"):
        pareto_front(points, ["maximize"])


def test_objective_values_are_the_means_of_their_metrics_and_missing_ones_are_named():
    objectives = compose_config(["hparams_search=optuna"]).objectives
    metrics = {keys.CCC_V: 0.5, keys.CCC_A: 0.25, keys.RECON: -100.0, "run": {}}
    assert objective_values(metrics, objectives) == {"val_ccc": 0.375, "val_recon": -100.0}
    with pytest.raises(KeyError, match="model=vanilla"):
        objective_values({keys.RECON: 1.0}, objectives)


def fake_evaluation(cfg, overrides, checkpoint):
    """What sweep_row reads of an evaluation (the full one is tested in test_evaluate.py and takes ~20 s a job)."""
    return {
        "alignment": {"valence": {"ccc": 0.1}, "arousal": {"ccc": 0.2}},
        "emotion_probe": {"z_va": {"accuracy": 0.5}},
        "reconstruction": {"psnr": 20.0, "mse": 0.01},
    }


def test_a_tiny_optuna_sweep_runs_and_evaluate_draws_its_pareto_front(tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    command = [
        *(sys.executable, str(ROOT / "train.py"), "-m", "hparams_search=optuna", "hydra.sweeper.n_trials=3"),
        *TINY,
        *(f"hydra.sweep.dir={sweep}", f"paths.data_dir={tmp_path / 'data'}", "debug=limit", "trainer.max_epochs=1"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Sampler: NSGAIISampler" in result.stdout + result.stderr
    assert "Directions: ['maximize', 'minimize']" in result.stdout + result.stderr
    solutions = read_optuna_results(sweep)["solutions"]
    assert solutions and all(set(s["params"]) == {"alpha", "beta", "model.terms.decorrelate.weight"} for s in solutions)
    assert (sweep / OPTUNA_RESULTS).is_file() and all((sweep / job / "metrics.json").is_file() for job in "012")

    monkeypatch.setattr("levasa.jobs.sweep.evaluate", fake_evaluation)
    out = tmp_path / "eval"
    rows = evaluate_sweep(compose_config([f"sweep={sweep}", f"paths.output_dir={out}"], "evaluate"))
    with (out / "sweep.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [r["job"] for r in table] == ["0", "1", "2"] and {"val_ccc", "val_recon", "pareto"} <= set(table[0])
    assert float(table[0]["model.terms.decorrelate.weight"]) > 0  # the third searched weight, beside alpha and beta
    front = [(round(row["val_ccc"], 6), round(row["val_recon"], 6)) for row in rows if row["pareto"]]
    assert sorted(front) == sorted(tuple(round(v, 6) for v in s["values"]) for s in solutions)  # Optuna's own front
    assert {r["pareto"] for r in table} <= {"True", "False"}
    assert (out / "pareto.png").stat().st_size > 1000 and (out / "tradeoff.png").is_file()


def test_a_sweep_without_objectives_gets_no_pareto_front_and_unfinished_jobs_are_left_out(tmp_path, monkeypatch):
    """The plain multirun (hparams_search=alpha_grid) keeps its sweep.csv columns and writes no pareto.png; a job
    without metrics.json (a failed trial: its training raised) is left out."""
    monkeypatch.setattr("levasa.jobs.sweep.evaluate", fake_evaluation)
    monkeypatch.setattr("levasa.jobs.sweep.read_checkpoint", lambda path: {})
    monkeypatch.setattr("levasa.jobs.sweep.stored_config", lambda ckpt: {"alpha": 1, "beta": 1, "model": {}})
    for job in ("0", "1"):
        (tmp_path / "sweep" / job).mkdir(parents=True)
    (tmp_path / "sweep" / "0" / "metrics.json").write_text("{}")
    out = tmp_path / "eval"
    cfg = compose_config([f"sweep={tmp_path / 'sweep'}", f"paths.output_dir={out}"], "evaluate")
    rows = evaluate_sweep(cfg)
    assert [row["job"] for row in rows] == ["0"]
    assert "pareto" not in rows[0] and not (out / "pareto.png").exists()
    (tmp_path / "sweep" / "0" / "metrics.json").unlink()
    with pytest.raises(ValueError, match=r"no job of .* finished its training"):
        evaluate_sweep(cfg)
